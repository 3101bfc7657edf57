"""The zombie path per the national indicator: early warning to the unit, zombie notice with a
rectification (整改) record, rectified when a post appears, escalated to the supervising office when not;
notices go out through the units' notification channels (WeCom robot, mocked with respx)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import respx

from app.db import session_scope
from app.registry.zombie import check_accounts
from app.supervision.notices import send_pending
from tests.registry.test_zombie import set_last_post

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)
UNIT_ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=unit-a-robot"
OFFICE_ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=office-robot"


def run(now: datetime):
    with session_scope() as session:
        return check_accounts(session=session, now=now, tz=TZ)


def deliver(now: datetime) -> list[dict]:
    """Sends the pending notices; returns the WeCom robot bodies, by robot key."""
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(host="qyapi.weixin.qq.com", path="/cgi-bin/webhook/send").mock(
            return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        )
        with session_scope() as session:
            send_pending(session=session, now=now)
        return [
            {"key": call.request.url.params["key"], **json.loads(call.request.content)}
            for call in route.calls
        ]


def test_warning_notice_rectified_and_escalated(
    client, admin_headers, make_unit, make_account, make_user, frozen_clock
):
    frozen_clock.set(NOW - timedelta(days=30))
    make_unit("office", "县政府办公室")
    make_unit("a", "甲局", parent_code="office", supervisor_code="office")
    quiet = make_account("a", platform="weibo")
    lazy = make_account("a", platform="douyin")
    for unit, url in (("a", UNIT_ROBOT), ("office", OFFICE_ROBOT)):
        resp = client.post(
            "/api/v1/notification-channels",
            json={"unit_code": unit, "kind": "wecom", "name": "工作群", "url": url},
            headers=admin_headers,
        )
        assert resp.status_code == 201, resp.text
    frozen_clock.set(NOW)
    set_last_post(quiet["id"], NOW - timedelta(days=11))
    set_last_post(lazy["id"], NOW - timedelta(days=11))

    # Day 11 without a post: a warning to the unit, nobody is a zombie yet.
    summary = run(NOW)
    assert (summary.zombies, summary.warnings) == (0, 2)
    sent = deliver(NOW)
    assert [m["key"] for m in sent] == ["unit-a-robot", "unit-a-robot"]
    assert "已11天未更新" in sent[0]["markdown"]["content"]
    # The warning goes once per silence, not every day.
    run(NOW + timedelta(days=1))
    assert deliver(NOW + timedelta(days=1)) == []

    # Day 15: both are zombies; each gets a notice and a rectification record.
    day15 = NOW + timedelta(days=4)
    assert run(day15).newly_flagged == 2
    sent = deliver(day15)
    assert len(sent) == 2 and all("僵尸账号整改通知" in m["markdown"]["content"] for m in sent)
    records = client.get("/api/v1/supervision/rectifications", headers=admin_headers).json()
    assert {(r["account_id"], r["state"]) for r in records} == {
        (quiet["id"], "notified"),
        (lazy["id"], "notified"),
    }
    assert all(r["due_on"] == "2025-03-29" for r in records)

    # "quiet" posts again: rectified by the next check. "lazy" stays silent past its deadline: escalated.
    set_last_post(quiet["id"], day15 + timedelta(days=1))
    day22 = NOW + timedelta(days=10)
    summary = run(day22)
    assert (summary.rectified, summary.escalated) == (1, 1)
    by_account = {
        r["account_id"]: r
        for r in client.get("/api/v1/supervision/rectifications", headers=admin_headers).json()
    }
    assert by_account[quiet["id"]]["state"] == "rectified"
    assert "账号已恢复更新" in by_account[quiet["id"]]["rectified_note"]
    assert by_account[lazy["id"]]["state"] == "escalated"
    sent = deliver(day22)
    assert [m["key"] for m in sent] == ["office-robot"]
    assert "整改期限 2025-03-29 已过仍未整改" in sent[0]["markdown"]["content"]
    # Nothing is escalated twice.
    assert run(day22 + timedelta(days=1)).escalated == 0

    # The unit sees its notices; another unit sees none; the office closes the rectified record.
    make_unit("b", "乙局")
    assert client.get("/api/v1/supervision/notices", headers=make_user("leader", "b")).json() == []
    kinds = [
        n["kind"] for n in client.get("/api/v1/supervision/notices", headers=make_user("leader", "a")).json()
    ]
    assert sorted(kinds) == ["zombie_notice", "zombie_notice", "zombie_warning", "zombie_warning"]
    leader_a = make_user("leader", "a")
    closing = client.post(
        f"/api/v1/supervision/rectifications/{by_account[quiet['id']]['id']}/close", json={}, headers=leader_a
    )
    assert closing.status_code == 403
    office = make_user("supervisor")
    closed = client.post(
        f"/api/v1/supervision/rectifications/{by_account[quiet['id']]['id']}/close",
        json={"note": "已复核"},
        headers=office,
    )
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    again = client.post(
        f"/api/v1/supervision/rectifications/{by_account[quiet['id']]['id']}/close", json={}, headers=office
    )
    assert again.status_code == 409
