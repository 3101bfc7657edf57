"""Notification channels per unit (secrets write-only, unit scope) and the escalation settings."""

from __future__ import annotations

import json

import httpx
import respx

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def test_channels_keep_url_and_secret_write_only(client, admin_headers, make_unit, make_user):
    make_unit("a")
    resp = client.post(
        "/api/v1/notification-channels",
        json={
            "unit_code": "a",
            "kind": "dingtalk",
            "name": "领导群",
            "url": "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123",
            "secret": "SECabcdef0123456789",
            "audience": "leaders",
        },
        headers=admin_headers,
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["has_secret"] is True and body["audience"] == "leaders"
    assert body["url_hint"] == "https://oapi.dingtalk.com/robot/send?access_token=0123…"
    raw = json.dumps(client.get("/api/v1/notification-channels", headers=admin_headers).json())
    events = json.dumps(client.get("/api/v1/audit/events", headers=admin_headers).json(), ensure_ascii=False)
    for secret in ("0123456789abcdef0123", "SECabcdef0123456789"):
        assert secret not in raw and secret not in events
    changed = client.patch(
        f"/api/v1/notification-channels/{body['id']}",
        json={"secret": "", "name": "领导群2"},
        headers=admin_headers,
    )
    assert changed.status_code == 200 and changed.json()["has_secret"] is False


def test_channels_are_managed_by_admin_or_the_units_leader(client, admin_headers, make_unit, make_user):
    make_unit("a")
    make_unit("b")
    leader_a = make_user("leader", "a")
    leader_b = make_user("leader", "b")
    operator_a = make_user("operator", "a")
    body = {"unit_code": "a", "kind": "wecom", "name": "办公群", "url": WECOM_URL}
    assert client.post("/api/v1/notification-channels", json=body, headers=operator_a).status_code == 403
    assert client.post("/api/v1/notification-channels", json=body, headers=leader_b).status_code == 404
    created = client.post("/api/v1/notification-channels", json=body, headers=leader_a)
    assert created.status_code == 201
    cid = created.json()["id"]
    assert [c["id"] for c in client.get("/api/v1/notification-channels", headers=leader_a).json()] == [cid]
    assert client.get("/api/v1/notification-channels", headers=leader_b).json() == []
    assert client.get("/api/v1/notification-channels", headers=operator_a).status_code == 403
    assert (
        client.patch(
            f"/api/v1/notification-channels/{cid}", json={"active": False}, headers=leader_b
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/notification-channels/{cid}", headers=leader_b).status_code == 404
    assert client.delete(f"/api/v1/notification-channels/{cid}", headers=leader_a).status_code == 204
    assert client.get("/api/v1/notification-channels", headers=admin_headers).json() == []


def test_channel_input_is_checked(client, admin_headers, make_unit):
    make_unit("a")
    bad = [
        {"unit_code": "a", "kind": "webhook", "name": "无密钥", "url": "https://x.example.cn/hook"},
        {"unit_code": "a", "kind": "wecom", "name": "非网址", "url": "ftp://x.example.cn/hook"},
        {"unit_code": "a", "kind": "sms", "name": "短信", "url": "https://x.example.cn/hook"},
    ]
    for body in bad:
        resp = client.post("/api/v1/notification-channels", json=body, headers=admin_headers)
        assert resp.status_code == 422, body
        assert resp.json()["error"]["code"] == "invalid"
    missing_unit = {"unit_code": "nope", "kind": "wecom", "name": "群", "url": WECOM_URL}
    assert (
        client.post("/api/v1/notification-channels", json=missing_unit, headers=admin_headers).status_code
        == 404
    )


def test_test_message_reports_the_platforms_answer(client, admin_headers, make_unit):
    make_unit("a")
    cid = client.post(
        "/api/v1/notification-channels",
        json={"unit_code": "a", "kind": "wecom", "name": "办公群", "url": WECOM_URL},
        headers=admin_headers,
    ).json()["id"]
    with respx.mock() as mock:
        route = mock.post(host="qyapi.weixin.qq.com", path="/cgi-bin/webhook/send").mock(
            side_effect=[
                httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}),
                httpx.Response(200, json={"errcode": 93000, "errmsg": "invalid webhook url"}),
            ]
        )
        ok = client.post(f"/api/v1/notification-channels/{cid}/test", headers=admin_headers).json()
        bad = client.post(f"/api/v1/notification-channels/{cid}/test", headers=admin_headers).json()
    assert ok["ok"] is True
    assert (bad["ok"], bad["retryable"]) == (False, False) and "93000" in bad["detail"]
    assert route.calls[0].request.url.params["key"] == "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def test_escalation_settings_are_admin_only_and_validated(client, admin_headers, make_unit, make_user):
    make_unit("a")
    defaults = client.get("/api/v1/sla/settings", headers=admin_headers).json()
    assert [(s["name"], s["at"], s["notify"], s["after_working_days"]) for s in defaults["ladder"]] == [
        ("due_soon", "due_soon", "unit", 0),
        ("breach", "overdue", "leaders", 0),
        ("supervisor", "overdue", "supervisor", 1),
    ]
    assert (defaults["work_start"], defaults["work_end"]) == ("08:30:00", "17:30:00")
    assert client.get("/api/v1/sla/settings", headers=make_user("operator", "a")).status_code == 403
    supervisor = make_user("supervisor")
    assert client.get("/api/v1/sla/settings", headers=supervisor).status_code == 200

    changed = {**defaults, "work_start": "09:00:00", "work_end": "18:00:00"}
    changed["ladder"] = [
        *defaults["ladder"],
        {
            "name": "second_reminder",
            "at": "overdue",
            "after_working_days": 3,
            "notify": "supervisor",
            "escalation_level": 2,
        },
    ]
    assert client.put("/api/v1/sla/settings", json=changed, headers=supervisor).status_code == 403
    saved = client.put("/api/v1/sla/settings", json=changed, headers=admin_headers)
    assert saved.status_code == 200, saved.text
    assert (
        client.get("/api/v1/sla/settings", headers=admin_headers).json()["ladder"][-1]["escalation_level"]
        == 2
    )

    for bad_ladder in (
        [defaults["ladder"][0], defaults["ladder"][0]],
        [{"name": "sensitive", "at": "overdue", "notify": "unit"}],
        [{"name": "Bad Name", "at": "overdue", "notify": "unit"}],
        [{"name": "x", "at": "later", "notify": "unit"}],
    ):
        resp = client.put(
            "/api/v1/sla/settings", json={**defaults, "ladder": bad_ladder}, headers=admin_headers
        )
        assert resp.status_code == 422, bad_ladder
    resp = client.put(
        "/api/v1/sla/settings", json={**defaults, "work_start": "18:00:00"}, headers=admin_headers
    )
    assert resp.status_code == 422
    resp = client.put(
        "/api/v1/sla/settings", json={**defaults, "sensitive_unit_code": "nope"}, headers=admin_headers
    )
    assert resp.status_code == 422
