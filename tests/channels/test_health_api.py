"""Poll targets and the health endpoints through the API: validation per platform, who may change what,
and unit scoping (other units' accounts are not found)."""

from __future__ import annotations

from typing import Any

from .conftest import Desk


def targets_url(desk: Desk, key: str) -> str:
    return f"/api/v1/accounts/{desk.accounts[key]}/poll-targets"


def test_poll_targets_are_validated_per_platform(desk: Desk) -> None:
    def add(key: str, target: str) -> Any:
        return desk.client.post(
            targets_url(desk, key), json={"target": target, "label": "测试"}, headers=desk.admin
        )

    assert add("wechat", "2247483714:0").status_code == 201
    assert add("wechat", "2247483714:0").status_code == 409
    assert add("wechat", "not-an-article").status_code == 422
    assert add("douyin", "@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQ==").status_code == 201
    assert add("weibo", "").status_code == 201
    assert add("weibo", "4900000000000000001").status_code == 422
    refused = add("generic", "x")
    assert refused.status_code == 422 and "推送" in refused.json()["error"]["message"]
    listed = desk.client.get(targets_url(desk, "wechat"), headers=desk.admin).json()
    assert [(t["target"], t["label"], t["cursor"]) for t in listed] == [("2247483714:0", "测试", None)]


def test_targets_can_be_paused_restarted_and_removed(desk: Desk) -> None:
    target = desk.client.post(targets_url(desk, "weibo"), json={}, headers=desk.admin).json()
    url = f"{targets_url(desk, 'weibo')}/{target['id']}"
    paused = desk.client.patch(url, json={"active": False}, headers=desk.admin).json()
    assert paused["active"] is False
    assert desk.client.patch(url, json={"restart": True}, headers=desk.admin).json()["cursor"] is None
    assert desk.client.delete(url, headers=desk.admin).status_code == 204
    assert desk.client.delete(url, headers=desk.admin).status_code == 404
    other = f"/api/v1/accounts/{desk.accounts['wechat']}/poll-targets/{target['id']}"
    assert desk.client.patch(other, json={"active": True}, headers=desk.admin).status_code == 404


def test_polling_interval_and_switch(desk: Desk) -> None:
    url = f"/api/v1/accounts/{desk.accounts['weibo']}/polling"
    desk.client.post(targets_url(desk, "weibo"), json={}, headers=desk.admin)
    health = desk.client.patch(url, json={"interval_seconds": 600}, headers=desk.admin).json()
    assert health["poll_interval_seconds"] == 600 and health["state"] == "ok"
    assert desk.client.patch(url, json={"interval_seconds": 5}, headers=desk.admin).status_code == 422
    off = desk.client.patch(url, json={"enabled": False}, headers=desk.admin).json()
    assert off["polling_enabled"] is False and off["state"] == "idle"


def test_health_and_targets_are_scoped_to_the_callers_units(desk: Desk, make_user) -> None:  # type: ignore[no-untyped-def]
    operator_b = make_user("operator", "b")
    leader_a = make_user("leader", "a")
    auditor = make_user("auditor")
    own = f"/api/v1/accounts/{desk.accounts['generic_b']}/health"
    foreign = f"/api/v1/accounts/{desk.accounts['weibo']}/health"
    assert desk.client.get(own, headers=operator_b).status_code == 200
    assert desk.client.get(foreign, headers=operator_b).status_code == 404
    assert desk.client.get(targets_url(desk, "weibo"), headers=operator_b).status_code == 404
    assert desk.client.get(foreign, headers=auditor).status_code == 200
    assert desk.client.get("/api/v1/accounts/999999/health", headers=desk.admin).status_code == 404
    listed = desk.client.get("/api/v1/channels/health", headers=operator_b).json()
    assert [h["account_id"] for h in listed] == [desk.accounts["generic_b"]]
    everyone = desk.client.get(
        "/api/v1/channels/health", params={"platform": "wechat"}, headers=auditor
    ).json()
    assert sorted(h["account_id"] for h in everyone) == sorted(
        [desk.accounts["wechat"], desk.accounts["wechat_plain"]]
    )
    # Changing targets: the owner unit's leader (or an admin); an operator may not; another unit cannot see it.
    assert desk.client.post(targets_url(desk, "weibo"), json={}, headers=operator_b).status_code == 403
    assert (
        desk.client.post(targets_url(desk, "weibo"), json={}, headers=make_user("leader", "b")).status_code
        == 404
    )
    assert desk.client.post(targets_url(desk, "weibo"), json={}, headers=leader_a).status_code == 201
    assert desk.client.get(foreign, headers=desk.client.headers).status_code == 401
