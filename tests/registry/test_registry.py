"""Account registry: the form, approvals by the supervising office, and the three registry flags
counted in working days of the official calendar; phone numbers masked for roles that need not see them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import session_scope
from app.registry.service import apply_due_events

NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)  # Thursday 20 March 2025, 10:00 local


def form(**extra):
    return {
        "unit_code": "a",
        "platform": "wechat",
        "opened_on": "2025-03-03",
        "person_in_charge": "李明",
        "person_title": "办公室主任",
        "phones": ["13812345678", "0731-88886666"],
        "account_name": "甲局发布",
        "account_ref": "gh_3f2a1b0c9d8e",
        "wechat_id": "jiaju_fabu",
        "wechat_original_id": "gh_3f2a1b0c9d8e",
        "followers": 12000,
        "avg_reads": 800,
        "posting_frequency": "每周3次",
        **extra,
    }


@pytest.fixture
def units(make_unit, frozen_clock):
    frozen_clock.set(NOW)
    make_unit("zfb", "县政府办公室")
    make_unit("a", "甲局", parent_code="zfb", supervisor_code="zfb")
    make_unit("b", "乙局", parent_code="zfb", supervisor_code="zfb")


def register(client, headers, **extra):
    resp = client.post("/api/v1/registry/accounts", json=form(**extra), headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def approve_pending(client, headers, registration_id):
    events = client.get(f"/api/v1/registry/accounts/{registration_id}/events", headers=headers).json()
    pending = [e for e in events if e["status"] == "pending"]
    resp = client.post(f"/api/v1/registry/events/{pending[0]['id']}/approve", json={}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def flag_codes(body):
    return [f["code"] for f in body["flags"]]


def test_registration_later_than_three_working_days_is_flagged(client, admin_headers, units, frozen_clock):
    # Opened Monday 3 March; Thursday 6 March is the 3rd working day after it, Friday the 4th.
    on_time = register(client, admin_headers, registered_on="2025-03-06")
    late = register(client, admin_headers, registered_on="2025-03-07", account_name="甲局服务")
    assert "late_registration" not in flag_codes(on_time)
    assert "late_registration" in flag_codes(late)
    assert "第4个工作日" in next(f["message"] for f in late["flags"] if f["code"] == "late_registration")
    # Over the 2025 National Day holiday (1–8 October rest), 9 October is the first working day after 30 September.
    frozen_clock.set(datetime(2025, 10, 20, 2, 0, tzinfo=UTC))
    holiday = register(
        client,
        admin_headers,
        platform="weibo",
        opened_on="2025-09-30",
        registered_on="2025-10-09",
        account_name="甲局微博",
    )
    assert "late_registration" not in flag_codes(holiday)


def test_units_file_today_and_cannot_backdate(client, make_user, units):
    leader_a = make_user("leader", "a")
    body = register(client, leader_a)
    assert body["registered_on"] == "2025-03-20"
    assert body["status"] == "pending"
    assert "late_registration" in flag_codes(body)
    backdated = client.post(
        "/api/v1/registry/accounts", json=form(registered_on="2025-03-04"), headers=leader_a
    )
    assert backdated.status_code == 403
    operator_a = make_user("operator", "a")
    assert client.post("/api/v1/registry/accounts", json=form(), headers=operator_a).status_code == 403
    leader_b = make_user("leader", "b")
    assert client.post("/api/v1/registry/accounts", json=form(), headers=leader_b).status_code == 404
    assert client.get(f"/api/v1/registry/accounts/{body['id']}", headers=leader_b).status_code == 404


def test_opening_takes_effect_when_the_supervising_office_approves(client, make_user, units):
    leader_a, supervisor = make_user("leader", "a"), make_user("supervisor")
    body = register(client, leader_a)
    event = client.get(f"/api/v1/registry/accounts/{body['id']}/events", headers=leader_a).json()[0]
    assert (event["kind"], event["status"], event["effective_on"]) == ("opened", "pending", "2025-03-03")
    assert (
        client.post(f"/api/v1/registry/events/{event['id']}/approve", json={}, headers=leader_a).status_code
        == 403
    )
    rejected = client.post(f"/api/v1/registry/events/{event['id']}/reject", json={}, headers=supervisor)
    assert rejected.status_code == 422
    pending = client.get("/api/v1/registry/events/pending", headers=supervisor).json()
    assert [e["id"] for e in pending] == [event["id"]]
    approved = client.post(
        f"/api/v1/registry/events/{event['id']}/approve", json={"note": "同意"}, headers=supervisor
    ).json()
    assert approved["status"] == "approved" and approved["decided_by"]
    assert (
        client.get(f"/api/v1/registry/accounts/{body['id']}", headers=leader_a).json()["status"] == "active"
    )
    again = client.post(f"/api/v1/registry/events/{event['id']}/approve", json={}, headers=supervisor)
    assert again.status_code == 409


def test_closing_needs_seven_working_days_notice(client, admin_headers, units):
    short = register(client, admin_headers, account_name="甲局一号", registered_on="2025-03-04")
    long = register(
        client, admin_headers, account_name="甲局二号", platform="weibo", registered_on="2025-03-04"
    )
    for item in (short, long):
        approve_pending(client, admin_headers, item["id"])
    # Paper filings entered afterwards by the supervising office: filed 10 and 3 March, approved the day after.
    filed = {short["id"]: ("2025-03-10", "2025-03-11"), long["id"]: ("2025-03-03", "2025-03-04")}
    for registration_id, (filed_on, decided_on) in filed.items():
        resp = client.post(
            f"/api/v1/registry/accounts/{registration_id}/events",
            json={"kind": "closed", "effective_on": "2025-03-14", "filed_on": filed_on, "note": "停止运营"},
            headers=admin_headers,
        )
        assert resp.status_code == 201, resp.text
        # Nothing changes before the approval.
        assert (
            client.get(f"/api/v1/registry/accounts/{registration_id}", headers=admin_headers).json()["status"]
            == "active"
        )
        resp = client.post(
            f"/api/v1/registry/events/{resp.json()['id']}/approve",
            json={"decided_on": decided_on},
            headers=admin_headers,
        )
        assert resp.status_code == 200, resp.text
    got = {r["id"]: r for r in client.get("/api/v1/registry/accounts", headers=admin_headers).json()}
    # 10 → 14 March: 11, 12, 13, 14 = 4 working days ahead; 3 → 14 March: 9.
    assert got[short["id"]]["status"] == "closed" and got[short["id"]]["closed_on"] == "2025-03-14"
    assert [f["message"] for f in got[short["id"]]["flags"]] == [
        "关停仅提前4个工作日报备（应至少提前7个工作日，批准后方可实施）"
    ]
    assert got[long["id"]]["flags"] == []
    # A closed account takes no more events.
    more = client.post(
        f"/api/v1/registry/accounts/{short['id']}/events",
        json={"kind": "cancelled", "effective_on": "2025-03-18"},
        headers=admin_headers,
    )
    assert more.status_code == 409
    listed = client.get("/api/v1/registry/accounts", params={"flag": "short_notice"}, headers=admin_headers)
    assert {r["id"] for r in listed.json()} == {short["id"]}


def test_more_than_one_account_on_a_platform(client, admin_headers, units):
    first = register(client, admin_headers, registered_on="2025-03-04")
    second = register(client, admin_headers, registered_on="2025-03-04", account_name="甲局服务号")
    other = register(
        client, admin_headers, registered_on="2025-03-04", platform="weibo", account_name="甲局微博"
    )
    elsewhere = register(
        client, admin_headers, registered_on="2025-03-04", unit_code="b", account_name="乙局发布"
    )
    got = {
        r["id"]: flag_codes(r) for r in client.get("/api/v1/registry/accounts", headers=admin_headers).json()
    }
    assert got[first["id"]] == got[second["id"]] == ["duplicate_platform"]
    assert got[other["id"]] == [] and got[elsewhere["id"]] == []
    approve_pending(client, admin_headers, second["id"])
    cancel = client.post(
        f"/api/v1/registry/accounts/{second['id']}/events",
        json={"kind": "cancelled", "effective_on": "2025-03-19"},
        headers=admin_headers,
    )
    assert cancel.status_code == 201
    # One pending event at a time.
    twice = client.post(
        f"/api/v1/registry/accounts/{second['id']}/events",
        json={"kind": "closed", "effective_on": "2025-04-30"},
        headers=admin_headers,
    )
    assert twice.status_code == 409
    approve_pending(client, admin_headers, second["id"])
    got = {r["id"]: r for r in client.get("/api/v1/registry/accounts", headers=admin_headers).json()}
    assert got[second["id"]]["status"] == "cancelled"
    assert flag_codes(got[first["id"]]) == []


def test_change_applies_on_its_effective_date_and_audit_keeps_masked_phones(
    client, admin_headers, make_user, units, frozen_clock
):
    body = register(client, admin_headers, registered_on="2025-03-04")
    approve_pending(client, admin_headers, body["id"])
    leader_a = make_user("leader", "a")
    change = client.post(
        f"/api/v1/registry/accounts/{body['id']}/events",
        json={
            "kind": "changed",
            "effective_on": "2025-04-07",
            "changes": {"person_in_charge": "王芳", "phones": ["13900001111"], "followers": 15000},
        },
        headers=leader_a,
    )
    assert change.status_code == 201, change.text
    before = client.get(f"/api/v1/registry/accounts/{body['id']}", headers=leader_a).json()
    assert before["person_in_charge"] == "李明"
    approve_pending(client, make_user("supervisor"), body["id"])
    # Approved, but it takes effect on 7 April: the daily job applies it then, not before.
    with session_scope() as session:
        assert apply_due_events(session=session, today=date(2025, 4, 6)) == 0
    waiting = client.get(f"/api/v1/registry/accounts/{body['id']}", headers=leader_a).json()
    assert waiting["person_in_charge"] == "李明" and waiting["flags"] == []
    with session_scope() as session:
        assert apply_due_events(session=session, today=date(2025, 4, 7)) == 1
    after = client.get(f"/api/v1/registry/accounts/{body['id']}", headers=leader_a).json()
    assert (after["person_in_charge"], after["phones"], after["followers"]) == (
        "王芳",
        ["13900001111"],
        15000,
    )
    empty = client.post(
        f"/api/v1/registry/accounts/{body['id']}/events",
        json={"kind": "changed", "effective_on": "2025-05-19"},
        headers=leader_a,
    )
    assert empty.status_code == 422
    with session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "registration")).all()
    text = str([(e.before, e.after) for e in events])
    assert {e.action for e in events} >= {
        "registry.register",
        "registry.event_submit",
        "registry.event_approve",
        "registry.event_effective",
    }
    assert "13812345678" not in text and "13900001111" not in text
    assert "139****1111" in text


def test_phones_are_masked_for_roles_that_do_not_need_them(client, admin_headers, make_user, units):
    body = register(client, admin_headers, registered_on="2025-03-04")
    full = ["13812345678", "0731-88886666"]
    masked = ["138****5678", "073*-****6666"]
    for role, unit in (("leader", "a"), ("supervisor", None)):
        seen = client.get(f"/api/v1/registry/accounts/{body['id']}", headers=make_user(role, unit)).json()
        assert (seen["phones"], seen["phones_masked"]) == (full, False)
    for role, unit in (("operator", "a"), ("reviewer", "a"), ("auditor", None)):
        seen = client.get(f"/api/v1/registry/accounts/{body['id']}", headers=make_user(role, unit)).json()
        assert (seen["phones"], seen["phones_masked"]) == (masked, True)


def test_linked_account_must_belong_to_the_unit(client, admin_headers, make_account, units):
    account_b = make_account("b", platform="wechat")
    wrong = client.post(
        "/api/v1/registry/accounts", json=form(account_id=account_b["id"]), headers=admin_headers
    )
    assert wrong.status_code == 422
    account_a = make_account("a", platform="wechat")
    register(client, admin_headers, account_id=account_a["id"])
    again = client.post(
        "/api/v1/registry/accounts", json=form(account_id=account_a["id"]), headers=admin_headers
    )
    assert again.status_code == 409
