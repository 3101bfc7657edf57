"""The sweep and the notification job with an injected clock: one message walks through due_soon,
overdue and both escalation steps; each notice goes out once, in working hours, retried after a failure."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from app.config import get_settings
from app.db import session_scope
from app.messages.models import Message
from app.notifications.delivery import send_pending
from app.scheduler import jobs
from app.sla.escalation import delivery_rules
from app.sla.service import mark_replied, sensitive_alert
from app.sla.sweep import sweep
from tests.sla.conftest import local, message

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=b9a1c3d4e5f60718293a4b5c6d7e8f90"
DINGTALK_SECRET = "SECa1b2c3d4e5f6"
HOOK_URL = "https://dban.example.gov.cn/hooks/huiying"
HOOK_SECRET = "supervisor-hook-secret"
OK_ROBOT = {"errcode": 0, "errmsg": "ok"}


@pytest.fixture
def units(client, admin_headers, make_unit):  # type: ignore[no-untyped-def]
    """Unit "a" (supervised by "zfb") with a WeCom group and a leaders-only DingTalk group; "zfb" has a webhook."""
    make_unit("zfb", "县政府办公室")
    make_unit("a", "县住建局", supervisor_code="zfb")
    for body in (
        {"unit_code": "a", "kind": "wecom", "name": "住建局办公群", "url": WECOM_URL},
        {
            "unit_code": "a",
            "kind": "dingtalk",
            "name": "住建局领导群",
            "url": DINGTALK_URL,
            "secret": DINGTALK_SECRET,
            "audience": "leaders",
        },
        {"unit_code": "zfb", "kind": "webhook", "name": "督办平台", "url": HOOK_URL, "secret": HOOK_SECRET},
    ):
        resp = client.post("/api/v1/notification-channels", json=body, headers=admin_headers)
        assert resp.status_code == 201, resp.text


@pytest.fixture
def robots():  # type: ignore[no-untyped-def]
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield {
            "wecom": mock.post(host="qyapi.weixin.qq.com", path="/cgi-bin/webhook/send").mock(
                return_value=httpx.Response(200, json=OK_ROBOT)
            ),
            "dingtalk": mock.post(host="oapi.dingtalk.com", path="/robot/send").mock(
                side_effect=[
                    httpx.Response(200, json={"errcode": -1, "errmsg": "系统繁忙"}),
                    httpx.Response(200, json=OK_ROBOT),
                ]
            ),
            "hook": mock.post(HOOK_URL).mock(return_value=httpx.Response(200, json={"received": True})),
        }


def _tick(frozen_clock, at):  # type: ignore[no-untyped-def]
    """Moves the clock and runs both jobs, as the scheduler would."""
    frozen_clock.set(at)
    swept = sweep(now=at)
    sent = send_pending(rules=delivery_rules, now=at)
    return swept, sent


def _calls(robots):  # type: ignore[no-untyped-def]
    return {name: route.call_count for name, route in robots.items()}


def test_one_message_through_due_soon_overdue_and_both_escalations(
    client, admin_headers, make_account, units, robots, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 2, 9, 30))
    acc = make_account("a")
    mid = ingest(acc["id"], local(2026, 3, 2, 9), content="小区路灯坏了，联系电话13812345678")
    fresh = message(mid)
    # Received Monday 3/2: due Monday 3/9 23:59:59; due soon from 3/9 00:00 (Beijing).
    assert fresh.due_at == local(2026, 3, 9, 23, 59, 59)
    assert fresh.next_check_at == local(2026, 3, 9, 0, 0)

    swept, _ = _tick(frozen_clock, local(2026, 3, 5, 10))
    assert swept.checked == 0  # nothing due: the sweep does not even look at the message

    # 00:00:30 on the due day: due_soon, but the routine notice waits for 08:30.
    swept, sent = _tick(frozen_clock, local(2026, 3, 9, 0, 0, 30))
    assert (swept.checked, swept.due_soon, sent.claimed) == (1, 1, 0)
    assert message(mid).sla_state == "due_soon"
    assert _calls(robots) == {"wecom": 0, "dingtalk": 0, "hook": 0}

    _tick(frozen_clock, local(2026, 3, 9, 8, 31))
    assert _calls(robots) == {"wecom": 1, "dingtalk": 0, "hook": 0}
    wecom = json.loads(robots["wecom"].calls.last.request.content)
    assert wecom["msgtype"] == "markdown"
    content = wecom["markdown"]["content"]
    assert "留言临近答复时限" in content and f"#{mid}" in content and "县住建局" in content
    assert "13812345678" not in content  # personal data never goes to a group chat
    for hour in (9, 12, 17):  # the sweep and the sender run again: nothing is sent twice
        _tick(frozen_clock, local(2026, 3, 9, hour))
    assert _calls(robots) == {"wecom": 1, "dingtalk": 0, "hook": 0}

    # Just after the deadline: overdue; the leaders' notice waits for Tuesday 08:30.
    swept, _ = _tick(frozen_clock, local(2026, 3, 10, 0, 0, 5))
    assert (swept.overdue, message(mid).sla_state) == (1, "overdue")
    assert _calls(robots)["dingtalk"] == 0
    # 08:30: DingTalk is busy once (errcode -1), so the notice is retried after the backoff.
    _, sent = _tick(frozen_clock, local(2026, 3, 10, 8, 30))
    assert (sent.retried, sent.sent) == (1, 0)
    _, sent = _tick(frozen_clock, local(2026, 3, 10, 8, 30, 20))
    assert sent.claimed == 0  # backoff (30 s) not over yet
    _, sent = _tick(frozen_clock, local(2026, 3, 10, 8, 31))
    assert sent.sent == 1
    assert _calls(robots) == {"wecom": 1, "dingtalk": 2, "hook": 0}
    ding = robots["dingtalk"].calls.last.request
    query = parse_qs(urlsplit(str(ding.url)).query)
    assert (
        query["access_token"] == ["b9a1c3d4e5f60718293a4b5c6d7e8f90"] and query["timestamp"] and query["sign"]
    )
    ding_body = json.loads(ding.content)
    assert ding_body["msgtype"] == "markdown" and "请单位负责人阅处" in ding_body["markdown"]["title"]
    assert message(mid).escalation_level == 0

    # Tuesday passes without a reply: one working day after the breach the supervisor unit is told.
    _tick(frozen_clock, local(2026, 3, 10, 18))
    assert _calls(robots)["hook"] == 0
    swept, _ = _tick(frozen_clock, local(2026, 3, 11, 0, 0, 5))
    assert swept.escalated == 1 and message(mid).escalation_level == 1
    _tick(frozen_clock, local(2026, 3, 11, 8, 30))
    assert _calls(robots) == {"wecom": 1, "dingtalk": 2, "hook": 1}
    hook = robots["hook"].calls.last.request
    expected = hmac.new(
        HOOK_SECRET.encode(),
        hook.headers["X-Huiying-Timestamp"].encode() + b"." + hook.content,
        hashlib.sha256,
    ).hexdigest()
    assert hook.headers["X-Huiying-Signature"] == f"sha256={expected}"
    hook_body = json.loads(hook.content)
    assert hook_body["dedupe_key"] == f"huiying:{mid}:supervisor" and hook_body["urgent"] is True

    for later in (local(2026, 3, 11, 9), local(2026, 3, 12, 9), local(2026, 3, 20, 9)):
        _tick(frozen_clock, later)
    assert _calls(robots) == {"wecom": 1, "dingtalk": 2, "hook": 1}
    final = message(mid)
    assert (final.sla_state, final.escalation_level, final.next_check_at) == ("overdue", 1, None)

    view = client.get(f"/api/v1/messages/{mid}/deadline", headers=admin_headers).json()
    assert [(n["step"], n["state"], n["attempts"]) for n in view["notifications"]] == [
        ("due_soon", "sent", 1),
        ("breach", "sent", 2),
        ("supervisor", "sent", 1),
    ]
    assert [n["unit_code"] for n in view["notifications"]] == ["a", "a", "zfb"]
    listed = client.get("/api/v1/sla/notifications", params={"state": "sent"}, headers=admin_headers).json()
    assert len(listed) == 3
    events = client.get(
        "/api/v1/audit/events",
        params={"entity_type": "message", "entity_id": str(mid), "action": "message.sla"},
        headers=admin_headers,
    ).json()
    assert [e["after"]["steps"] for e in reversed(events)] == [["due_soon"], ["breach"], ["supervisor"]]

    with session_scope() as session:
        answered = session.get(Message, mid)
        assert answered is not None
        mark_replied(session=session, message=answered, replied_at=local(2026, 3, 20, 10))
    assert message(mid).sla_state == "missed"


def test_routine_notices_wait_over_a_holiday_but_sensitive_ones_go_at_once(
    client, make_account, units, robots, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 27, 9, 30))
    acc = make_account("a")
    routine = ingest(acc["id"], local(2026, 3, 27, 9))
    sensitive = ingest(acc["id"], local(2026, 3, 27, 9, 5))
    with session_scope() as session:
        flagged = session.get(Message, sensitive)
        assert flagged is not None
        flagged.flags = ["sensitive"]
        session.add(flagged)
    # Received Friday 3/27: due Friday 4/3; overdue from Saturday 4/4 00:00, the first day of Qingming.
    assert message(routine).due_at == local(2026, 4, 3, 23, 59, 59)
    _tick(frozen_clock, local(2026, 4, 3, 9))  # due_soon notices, working hours: both go
    assert _calls(robots)["wecom"] == 2
    _tick(frozen_clock, local(2026, 4, 4, 0, 0, 5))
    # The sensitive message's breach notice went out at midnight on a holiday, the routine one did not.
    assert robots["dingtalk"].call_count == 1  # (the first DingTalk answer is "busy")
    _tick(frozen_clock, local(2026, 4, 4, 0, 1))
    assert robots["dingtalk"].call_count == 2
    _tick(frozen_clock, local(2026, 4, 6, 12))  # Monday, still Qingming
    assert robots["dingtalk"].call_count == 2
    robots["dingtalk"].side_effect = None
    robots["dingtalk"].return_value = httpx.Response(200, json=OK_ROBOT)
    _tick(frozen_clock, local(2026, 4, 7, 8, 29))
    assert robots["dingtalk"].call_count == 2
    _tick(frozen_clock, local(2026, 4, 7, 8, 30))
    assert robots["dingtalk"].call_count == 3


def test_wechat_private_message_window_and_its_alert(
    client, admin_headers, make_account, units, robots, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 2, 10, 1))
    acc = make_account("a", platform="wechat")
    first = ingest(acc["id"], local(2026, 3, 2, 10), kind="private", author="oUser1")
    assert message(first).platform_window_closes_at == local(2026, 3, 4, 10)
    assert message(first).next_check_at == local(2026, 3, 4, 4)  # 6 hours before it closes
    # The same citizen writes again: the 48 hours run from the newest message, for both.
    frozen_clock.set(local(2026, 3, 3, 15, 1))
    second = ingest(acc["id"], local(2026, 3, 3, 15), kind="private", author="oUser1")
    assert message(first).platform_window_closes_at == local(2026, 3, 5, 15)
    assert message(second).platform_window_closes_at == local(2026, 3, 5, 15)
    other = ingest(acc["id"], local(2026, 3, 3, 15), kind="comment", author="oUser1")
    assert message(other).platform_window_closes_at is None

    _tick(frozen_clock, local(2026, 3, 5, 8))
    assert robots["wecom"].call_count == 0
    # 09:00, six hours before the window closes: the alert goes (it would go at night too).
    _tick(frozen_clock, local(2026, 3, 5, 9))
    assert robots["wecom"].call_count == 2
    text = json.loads(robots["wecom"].calls.last.request.content)["markdown"]["content"]
    assert "回复窗口即将关闭" in text and "2026-03-05 15:00" in text
    _tick(frozen_clock, local(2026, 3, 5, 16))
    assert robots["wecom"].call_count == 2


@pytest.mark.parametrize(
    ("platform", "hours", "name"), [("douyin", 24, "抖音私信"), ("weibo", 48, "微博粉丝服务私信")]
)
def test_douyin_and_weibo_private_windows_warn_early_too(
    client, admin_headers, make_account, units, robots, ingest, frozen_clock, platform, hours, name
):
    # Finding 5: only WeChat had a window; Douyin (24 h) and Weibo (48 h) refusals came unannounced.
    frozen_clock.set(local(2026, 3, 2, 10, 1))
    acc = make_account("a", platform=platform)
    mid = ingest(acc["id"], local(2026, 3, 2, 10), kind="private", author="citizen-1")
    closes = local(2026, 3, 2, 10) + timedelta(hours=hours)
    assert message(mid).platform_window_closes_at == closes
    _tick(frozen_clock, closes - timedelta(hours=5))
    text = json.loads(robots["wecom"].calls.last.request.content)["markdown"]["content"]
    assert f"{name}只能在用户最后一条消息后{hours}小时内回复" in text
    comment = ingest(acc["id"], local(2026, 3, 2, 10), kind="comment", author="citizen-1")
    assert message(comment).platform_window_closes_at is None


def test_a_reply_cancels_waiting_notices_and_settles_met(
    client, make_account, units, robots, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 2, 9, 30))
    acc = make_account("a")
    mid = ingest(acc["id"], local(2026, 3, 2, 9))
    _tick(frozen_clock, local(2026, 3, 9, 0, 30))  # due_soon recorded, waiting for 08:30
    with session_scope() as session:
        answered = session.get(Message, mid)
        assert answered is not None
        mark_replied(session=session, message=answered, replied_at=local(2026, 3, 9, 1))
    result = message(mid)
    assert (result.sla_state, result.next_check_at, result.first_replied_at) == (
        "met",
        None,
        local(2026, 3, 9, 1),
    )
    _tick(frozen_clock, local(2026, 3, 9, 9))
    _tick(frozen_clock, local(2026, 3, 12, 9))
    assert _calls(robots) == {"wecom": 0, "dingtalk": 0, "hook": 0}
    with session_scope() as session:
        again = session.get(Message, mid)
        assert again is not None
        mark_replied(session=session, message=again, replied_at=local(2026, 3, 12, 9))  # a second reply
    assert message(mid).first_replied_at == local(2026, 3, 9, 1)


def test_sensitive_alert_goes_to_the_supervising_office_once_and_at_once(
    client, make_account, units, robots, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 7, 23))  # Saturday night
    acc = make_account("a")
    mid = ingest(acc["id"], local(2026, 3, 7, 22, 50))
    with session_scope() as session:
        flagged = session.get(Message, mid)
        assert flagged is not None
        assert sensitive_alert(session=session, message=flagged) is True
        assert sensitive_alert(session=session, message=flagged) is False
    send_pending(rules=delivery_rules, now=local(2026, 3, 7, 23))
    send_pending(rules=delivery_rules, now=local(2026, 3, 7, 23, 5))
    assert robots["hook"].call_count == 1
    body = json.loads(robots["hook"].calls.last.request.content)
    assert body["title"] == "敏感留言提醒" and body["dedupe_key"] == f"huiying:{mid}:sensitive"


def test_a_configuration_error_fails_for_good_and_can_be_retried(
    client, admin_headers, make_account, units, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 2, 9, 30))
    acc = make_account("a")
    mid = ingest(acc["id"], local(2026, 3, 2, 9))
    with respx.mock() as mock:
        route = mock.post(host="qyapi.weixin.qq.com").mock(
            return_value=httpx.Response(200, json={"errcode": 93000, "errmsg": "invalid webhook url"})
        )
        _tick(frozen_clock, local(2026, 3, 9, 9))
        _tick(frozen_clock, local(2026, 3, 9, 10))
        assert route.call_count == 1
        failed = client.get(
            "/api/v1/sla/notifications", params={"state": "failed"}, headers=admin_headers
        ).json()
        assert [(n["message_id"], n["step"]) for n in failed] == [(mid, "due_soon")]
        assert "93000" in failed[0]["last_error"]
        route.return_value = httpx.Response(200, json=OK_ROBOT)
        resp = client.post(f"/api/v1/sla/notifications/{failed[0]['id']}/retry", headers=admin_headers)
        assert resp.status_code == 200 and resp.json()["state"] == "pending"
        _tick(frozen_clock, local(2026, 3, 9, 10, 1))
        assert route.call_count == 2
        sent = client.get("/api/v1/sla/notifications", params={"state": "sent"}, headers=admin_headers).json()
        assert [n["id"] for n in sent] == [failed[0]["id"]]
        again = client.post(f"/api/v1/sla/notifications/{failed[0]['id']}/retry", headers=admin_headers)
        assert again.status_code == 409


def test_no_channel_means_skipped_not_retried_forever(client, make_unit, make_account, ingest, frozen_clock):
    make_unit("lonely")
    frozen_clock.set(local(2026, 3, 2, 9, 30))
    acc = make_account("lonely")
    mid = ingest(acc["id"], local(2026, 3, 2, 9))
    with respx.mock(assert_all_called=False):
        _tick(frozen_clock, local(2026, 3, 10, 9))
        _tick(frozen_clock, local(2026, 3, 12, 9))
    view = client.get(f"/api/v1/messages/{mid}/deadline", headers=_admin(client)).json()
    states = {n["step"]: (n["state"], n["last_error"]) for n in view["notifications"]}
    # Found only after the deadline: the due-soon notice is pointless; the others have nowhere to go.
    assert states["due_soon"][0] == "skipped" and "已超期" in states["due_soon"][1]
    assert states["breach"][0] == "skipped" and "未配置" in states["breach"][1]
    assert states["supervisor"][0] == "skipped" and "主管单位" in states["supervisor"][1]


def _admin(client):  # type: ignore[no-untyped-def]
    from app.users.service import ensure_admin_token

    with session_scope() as session:
        ensure_admin_token(session, "hy_sla_admin")
    return {"Authorization": "Bearer hy_sla_admin"}


def test_the_sweep_reads_only_due_messages(make_unit, make_account, ingest, frozen_clock):
    make_unit("a")
    frozen_clock.set(local(2026, 3, 4, 9, 30))  # receipt times are never in the future
    acc = make_account("a")
    for day in (2, 3, 4):
        ingest(acc["id"], local(2026, 3, day, 9))
    # Due soon: only the first (due 3/9); the others are due 3/10 and 3/11.
    assert sweep(now=local(2026, 3, 9, 1)).checked == 1
    assert sweep(now=local(2026, 3, 9, 1)).checked == 0
    assert sweep(now=local(2026, 3, 10, 1)).checked == 2  # first overdue, second due soon


def test_sweep_and_sender_run_as_exclusive_scheduler_jobs():
    by_name = {job.name: job for job in jobs(get_settings())}
    assert by_name["sla_sweep"].exclusive and by_name["sla_notify"].exclusive
    assert by_name["sla_sweep"].seconds <= 60


def test_backoff_of_routine_retries_respects_working_hours(client, make_account, units, ingest, frozen_clock):
    frozen_clock.set(local(2026, 3, 2, 9, 30))
    acc = make_account("a")
    ingest(acc["id"], local(2026, 3, 2, 9))
    with respx.mock() as mock:
        route = mock.post(host="qyapi.weixin.qq.com").mock(return_value=httpx.Response(503))
        _tick(frozen_clock, local(2026, 3, 9, 17, 29, 50))  # ten seconds before the end of the day
        assert route.call_count == 1
        with session_scope() as session:
            from app.notifications.models import SlaNotification

            pending = session.query(SlaNotification).one()
            # Backoff (30 s) lands after 17:30: the retry waits for the next working morning.
            assert pending.next_attempt_at == local(2026, 3, 10, 8, 30)
            assert pending.next_attempt_at - local(2026, 3, 9, 17, 29, 50) > timedelta(hours=14)
