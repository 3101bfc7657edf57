"""Routing through the API: preview (no side effects), rules (CRUD, validation, priority), settings."""

from __future__ import annotations

from sqlmodel import func, select

from app.audit.models import AuditEvent
from app.db import session_scope
from tests.routing.conftest import County

PREVIEW = "/api/v1/routing/preview"
RULES = "/api/v1/routing/rules"


def _audit_count() -> int:
    with session_scope() as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def test_preview_names_the_unit_with_confidence_and_reason_and_changes_nothing(county: County) -> None:
    operator = county.people("operator", "edu")
    before = _audit_count()
    resp = county.client.post(PREVIEW, json={"text": "孩子明年入学，学区怎么划分？"}, headers=operator)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["unit_code"] == "edu"
    assert 0.4 <= body["confidence"] <= 1
    assert "入学" in body["reason"] and "教育局" in body["reason"]
    assert body["out_of_scope"] is False and body["pointer"] is None
    assert body["candidates"][0]["unit_code"] == "edu"
    assert _audit_count() == before


def test_preview_flags_another_province_unless_it_is_a_local_place(county: County) -> None:
    text = "我在杭州旅游时被景区商家宰客了，你们管一管"
    body = county.client.post(PREVIEW, json={"text": text}, headers=county.admin).json()
    assert body["out_of_scope"] is True and body["unit_code"] is None
    assert "外地" in body["pointer"]

    settings = county.client.get("/api/v1/routing/settings", headers=county.admin).json()
    settings["local_places"] = ["杭州"]
    resp = county.client.put("/api/v1/routing/settings", json=settings, headers=county.admin)
    assert resp.status_code == 200, resp.text
    body = county.client.post(PREVIEW, json={"text": text}, headers=county.admin).json()
    assert body["out_of_scope"] is False


def test_preview_needs_a_token_and_hides_other_units_accounts(county: County, make_account) -> None:  # type: ignore[no-untyped-def]
    assert county.client.post(PREVIEW, json={"text": "户口迁移"}).status_code == 401
    police_account = make_account("police")
    operator = county.people("operator", "edu")
    resp = county.client.post(
        PREVIEW, json={"text": "户口迁移", "account_id": police_account["id"]}, headers=operator
    )
    assert resp.status_code == 404
    assert county.client.post(PREVIEW, json={"text": ""}, headers=operator).status_code == 422


def test_rules_override_keywords_and_the_higher_priority_wins(county: County) -> None:
    text = "学校门口的工伤认定窗口排长队"
    assert (
        county.client.post(PREVIEW, json={"text": text}, headers=county.admin).json()["unit_code"] != "police"
    )

    low = county.client.post(
        RULES,
        json={"kind": "keyword", "pattern": "排长队", "unit_code": "police", "priority": 1},
        headers=county.admin,
    )
    assert low.status_code == 201, low.text
    body = county.client.post(PREVIEW, json={"text": text}, headers=county.admin).json()
    assert body["unit_code"] == "police" and body["rule_id"] == low.json()["id"]
    assert f"规则#{low.json()['id']}" in body["reason"]

    high = county.client.post(
        RULES,
        json={"kind": "regex", "pattern": r"工伤.{0,4}窗口", "unit_code": "hrss", "priority": 5},
        headers=county.admin,
    )
    assert high.status_code == 201, high.text
    assert (
        county.client.post(PREVIEW, json={"text": text}, headers=county.admin).json()["unit_code"] == "hrss"
    )

    # Lower the regex below the keyword rule: the keyword rule wins again.
    resp = county.client.patch(f"{RULES}/{high.json()['id']}", json={"priority": 0}, headers=county.admin)
    assert resp.status_code == 200 and resp.json()["priority"] == 0
    assert (
        county.client.post(PREVIEW, json={"text": text}, headers=county.admin).json()["unit_code"] == "police"
    )

    # Paused, then deleted: the keyword rule no longer applies.
    resp = county.client.patch(f"{RULES}/{low.json()['id']}", json={"active": False}, headers=county.admin)
    assert resp.json()["active"] is False
    assert (
        county.client.post(PREVIEW, json={"text": text}, headers=county.admin).json()["unit_code"] == "hrss"
    )
    assert county.client.delete(f"{RULES}/{high.json()['id']}", headers=county.admin).status_code == 204
    assert county.client.delete(f"{RULES}/{high.json()['id']}", headers=county.admin).status_code == 404
    listed = county.client.get(RULES, headers=county.admin).json()
    assert [r["id"] for r in listed] == [low.json()["id"]]
    with session_scope() as session:
        actions = set(session.exec(select(AuditEvent.action).where(AuditEvent.entity_type == "routing_rule")))
    assert actions == {"routing.rule.create", "routing.rule.update", "routing.rule.delete"}


def test_account_rule_routes_everything_from_that_account(county: County, make_account) -> None:  # type: ignore[no-untyped-def]
    school_account = make_account("office")
    rule = county.client.post(
        RULES,
        json={"kind": "account", "pattern": str(school_account["id"]), "unit_code": "edu"},
        headers=county.admin,
    )
    assert rule.status_code == 201, rule.text
    body = county.client.post(
        PREVIEW, json={"text": "身份证丢了怎么办", "account_id": school_account["id"]}, headers=county.admin
    ).json()
    assert body["unit_code"] == "edu"
    other = county.client.post(
        PREVIEW, json={"text": "身份证丢了怎么办", "account_id": county.account_id}, headers=county.admin
    ).json()
    assert other["unit_code"] == "police"


def test_bad_rules_are_422_and_only_admins_edit_rules(county: County) -> None:
    for payload in (
        {"kind": "regex", "pattern": "工伤(窗口", "unit_code": "hrss"},
        {"kind": "keyword", "pattern": "排队", "unit_code": "nowhere"},
        {"kind": "keyword", "pattern": "！！", "unit_code": "hrss"},
        {"kind": "account", "pattern": "99999", "unit_code": "hrss"},
        {"kind": "city", "pattern": "排队", "unit_code": "hrss"},
    ):
        resp = county.client.post(RULES, json=payload, headers=county.admin)
        assert resp.status_code == 422, (payload, resp.text)
        assert resp.json()["error"]["code"] == "invalid"
    rule = county.client.post(
        RULES, json={"kind": "keyword", "pattern": "排队", "unit_code": "hrss"}, headers=county.admin
    ).json()
    resp = county.client.patch(
        f"{RULES}/{rule['id']}", json={"kind": "regex", "pattern": "("}, headers=county.admin
    )
    assert resp.status_code == 422
    leader = county.people("leader", "hrss")
    assert (
        county.client.post(
            RULES, json={"kind": "keyword", "pattern": "排队", "unit_code": "hrss"}, headers=leader
        ).status_code
        == 403
    )
    assert county.client.get(RULES, headers=leader).status_code == 403
    assert county.client.delete(f"{RULES}/{rule['id']}", headers=leader).status_code == 403
    assert county.client.get(RULES, headers=county.people("supervisor")).status_code == 200


def test_settings_validate_the_dispatcher(county: County) -> None:
    url = "/api/v1/routing/settings"
    resp = county.client.put(url, json={"fallback": "dispatcher"}, headers=county.admin)
    assert resp.status_code == 422
    resp = county.client.put(
        url, json={"fallback": "dispatcher", "dispatcher_unit_code": "nowhere"}, headers=county.admin
    )
    assert resp.status_code == 422
    resp = county.client.put(
        url,
        json={
            "fallback": "dispatcher",
            "dispatcher_unit_code": "office",
            "local_places": [" 柳塘乡 ", "柳塘乡"],
        },
        headers=county.admin,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["local_places"] == ["柳塘乡"]
    assert county.client.get(url, headers=county.admin).json()["dispatcher_unit_code"] == "office"
    assert county.client.put(url, json={}, headers=county.people("supervisor")).status_code == 403
