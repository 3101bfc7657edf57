"""Publishing through the outbox on every platform, with the platforms mocked as their docs describe:
exactly one post per reply through timeouts, refusals and a crash between sending and recording."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from app.replies import outbox, publishers
from tests.replies.conftest import EXTERNAL_IDS, GENERIC_SECRETS, WEIBO_SECRETS, Desk

WX = "https://api.weixin.qq.com/cgi-bin"
WEIBO = "https://api.weibo.com/2"
DOUYIN = "https://open.douyin.com"
OPENID = "oK3Yp5yVbG8xq-citizen"
WEIBO_REF = {"cid": "4912345678901234", "status_id": "4912345600000000"}
DOUYIN_COMMENT_REF = {"item_id": "@9VwKzuuES8gmaXS7ZohG", "comment_id": "@9VwKzuuES8gmaXS7ZohG0001"}


def wechat_token(platform: respx.MockRouter) -> respx.Route:
    return platform.post(f"{WX}/stable_token").mock(
        return_value=httpx.Response(200, json={"access_token": "ACCESS_TOKEN_1", "expires_in": 7200})
    )


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def douyin_ok(data: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "data": {"error_code": 0, "description": "", **data},
            "extra": {"logid": "2026030209000001", "now": 1772413200000, "error_code": 0, "description": ""},
        },
    )


class FakeWeibo:
    """Weibo's comment API with memory: replies it took show up in `comments/by_me`."""

    def __init__(
        self,
        platform: respx.MockRouter,
        *,
        timeouts: int = 0,
        stored_before_timeout: bool = True,
        rate_limited: int = 0,
    ):
        self.posted: list[dict[str, Any]] = []
        self.timeouts = timeouts
        self.rate_limited = rate_limited
        self.stored_before_timeout = stored_before_timeout
        self.reply = platform.post(f"{WEIBO}/comments/reply.json").mock(side_effect=self._reply)
        self.by_me = platform.get(f"{WEIBO}/comments/by_me.json").mock(side_effect=self._by_me)

    def _reply(self, request: httpx.Request) -> httpx.Response:
        data = form(request)
        if self.rate_limited:
            self.rate_limited -= 1
            return httpx.Response(
                403,
                json={
                    "request": "/2/comments/reply.json",
                    "error_code": "10023",
                    "error": "User requests out of rate limit!",
                },
            )
        comment_id = str(4912345678909000 + len(self.posted))
        comment = {
            "created_at": "Mon Mar 02 09:05:00 +0800 2026",
            "id": int(comment_id),
            "idstr": comment_id,
            "mid": comment_id,
            "text": f"回复@市民:{data['comment']}",
            "source": '<a href="https://weibo.com/" rel="nofollow">微博 weibo.com</a>',
            "user": {
                "id": int(EXTERNAL_IDS["weibo"]),
                "idstr": EXTERNAL_IDS["weibo"],
                "screen_name": "平安青禾",
            },
            "status": {"id": int(data["id"]), "idstr": data["id"], "text": "关于换领身份证的提示"},
            "reply_comment": {"id": int(data["cid"]), "idstr": data["cid"], "text": "能提前换吗？"},
        }
        if self.timeouts:
            self.timeouts -= 1
            if self.stored_before_timeout:
                self.posted.append(comment)
            raise httpx.ReadTimeout("timed out reading the answer", request=request)
        self.posted.append(comment)
        return httpx.Response(200, json=comment)

    def _by_me(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        comments = list(reversed(self.posted)) if page == 1 else []
        return httpx.Response(
            200,
            json={
                "comments": comments,
                "previous_cursor": 0,
                "next_cursor": 0,
                "total_number": len(self.posted),
            },
        )


class FakeBoard:
    """A website message board that stores each reply once per idempotency key."""

    def __init__(self, platform: respx.MockRouter, *, timeouts: int = 0):
        self.stored: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.timeouts = timeouts
        self.route = platform.post(GENERIC_SECRETS["reply_url"]).mock(side_effect=self._receive)

    def _receive(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        self.stored.setdefault(body["idempotency_key"], body)
        if self.timeouts:
            self.timeouts -= 1
            raise httpx.ReadTimeout("timed out reading the answer", request=request)
        return httpx.Response(201, json={"id": f"board-reply-{len(self.stored)}"})


def assert_published(desk: Desk, message_id: int, reply_id: int, *, sla: str = "met") -> dict[str, Any]:
    reply = desk.reply(reply_id)
    assert reply["state"] == "published", reply
    message = desk.message_json(message_id)
    assert message["status"] == "published"
    assert message["first_replied_at"] is not None
    assert message["sla_state"] == sla
    return reply


# --- the full path on each platform ---------------------------------------------------------------------


def test_wechat_customer_service_reply(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    token = wechat_token(platform)
    send = platform.post(f"{WX}/message/custom/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    message_id = desk.message("wechat", kind="private", thread_ref={"openid": OPENID})
    reply_id = desk.approved(message_id, "您好，身份证有效期满前三个月内可以申请换领。")
    result = run_outbox(frozen_clock.at)
    assert (result.claimed, result.published) == (1, 1)
    assert token.call_count == 1 and send.call_count == 1
    request = send.calls[0].request
    assert request.url.params["access_token"] == "ACCESS_TOKEN_1"
    assert json.loads(request.content) == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "您好，身份证有效期满前三个月内可以申请换领。"},
    }
    reply = assert_published(desk, message_id, reply_id)
    assert reply["delivery"] == "platform" and reply["attempts"] == 1
    # nothing is due any more: a second run sends nothing
    assert run_outbox(frozen_clock.at + timedelta(hours=1)).claimed == 0
    assert send.call_count == 1


def test_wechat_article_comment_reply(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    wechat_token(platform)
    add = platform.post(f"{WX}/comment/reply/add").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    ref = {"msg_data_id": "2247483650", "index": "0", "user_comment_id": "8"}
    message_id = desk.message("wechat", kind="comment", thread_ref=ref)
    reply_id = desk.approved(message_id, "预计6月底通车。")
    run_outbox(frozen_clock.at)
    assert json.loads(add.calls[0].request.content) == {
        "msg_data_id": 2247483650,
        "index": 0,
        "user_comment_id": 8,
        "content": "预计6月底通车。",
    }
    assert_published(desk, message_id, reply_id)


def test_weibo_comment_reply(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    weibo = FakeWeibo(platform)
    message_id = desk.message("weibo", thread_ref=WEIBO_REF)
    reply_id = desk.approved(message_id, "您好，可提前三个月换领。")
    run_outbox(frozen_clock.at)
    assert form(weibo.reply.calls[0].request) == {
        "access_token": WEIBO_SECRETS["access_token"],
        "cid": WEIBO_REF["cid"],
        "id": WEIBO_REF["status_id"],
        "comment": "您好，可提前三个月换领。",
        "comment_ori": "0",
        "without_mention": "0",
        "rip": "211.156.0.1",  # the account's reply_ip (finding 2)
    }
    reply = assert_published(desk, message_id, reply_id)
    assert reply["platform_reply_id"] == weibo.posted[0]["idstr"]


def test_douyin_comment_reply(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    send = platform.post(f"{DOUYIN}/video/comment/reply/").mock(
        return_value=douyin_ok({"comment_id": "@9VwKzuuES8gmaXS7ZohG0009"})
    )
    message_id = desk.message("douyin", thread_ref=DOUYIN_COMMENT_REF)
    reply_id = desk.approved(message_id, "本周内修复。")
    run_outbox(frozen_clock.at)
    request = send.calls[0].request
    assert request.url.params["open_id"] == EXTERNAL_IDS["douyin"]
    assert request.headers["access-token"] == "act.douyin-user-token"
    assert json.loads(request.content) == {**DOUYIN_COMMENT_REF, "content": "本周内修复。"}
    assert assert_published(desk, message_id, reply_id)["platform_reply_id"] == "@9VwKzuuES8gmaXS7ZohG0009"


def test_douyin_private_message_reply(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    send = platform.post(f"{DOUYIN}/im/send/msg/").mock(return_value=douyin_ok({"msg_id": "@reply-1"}))
    ref = {"conversation_id": "7193512345678901234", "msg_id": "@im-msg-1", "to_user_id": "ou_citizen"}
    message_id = desk.message("douyin", kind="private", thread_ref=ref)
    reply_id = desk.approved(message_id, "您好，可到区政务中心补办。")
    run_outbox(frozen_clock.at)
    assert json.loads(send.calls[0].request.content) == {
        "msg_id": "@im-msg-1",
        "conversation_id": "7193512345678901234",
        "to_user_id": "ou_citizen",
        "content": {"msg_type": 1, "text": {"text": "您好，可到区政务中心补办。"}},
    }
    assert_published(desk, message_id, reply_id)


def test_generic_board_gets_a_signed_json_post(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    board = FakeBoard(platform)
    message_id = desk.message("generic", external_id="board-msg-77")
    reply_id = desk.approved(message_id, "您好，已转城管部门处理。")
    run_outbox(frozen_clock.at)
    request = board.requests[0]
    body = json.loads(request.content)
    key = desk.reply(reply_id)["idempotency_key"]
    assert body["external_id"] == "board-msg-77"
    assert body["text"] == "您好，已转城管部门处理。"
    assert body["idempotency_key"] == key
    timestamp = request.headers["X-Huiying-Timestamp"]
    assert timestamp == str(int(frozen_clock.at.timestamp()))
    expected = hmac.new(
        GENERIC_SECRETS["hmac_secret"].encode(), timestamp.encode() + b"." + request.content, hashlib.sha256
    ).hexdigest()
    assert request.headers["X-Huiying-Signature"] == f"sha256={expected}"
    assert_published(desk, message_id, reply_id)


def test_publishing_after_the_deadline_is_missed(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    FakeBoard(platform)
    message_id = desk.message("generic", received_at=frozen_clock.at - timedelta(days=14))
    reply_id = desk.approved(message_id)
    run_outbox(frozen_clock.at)
    assert_published(desk, message_id, reply_id, sla="missed")


# --- failures ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stored_before_timeout", [True, False])
def test_weibo_timeout_once_then_success_posts_once(  # type: ignore[no-untyped-def]
    desk: Desk, platform, run_outbox, frozen_clock, stored_before_timeout: bool
) -> None:
    weibo = FakeWeibo(platform, timeouts=1, stored_before_timeout=stored_before_timeout)
    message_id = desk.message("weibo", thread_ref=WEIBO_REF)
    reply_id = desk.approved(message_id, "您好，可提前三个月换领。")
    first = run_outbox(frozen_clock.at)
    assert first.retried == 1 and first.published == 0
    pending = desk.reply(reply_id)
    assert pending["state"] == "approved" and "无法确定" in pending["last_error"]
    assert desk.message_json(message_id)["status"] == "approved"
    # not before the backoff
    assert run_outbox(frozen_clock.at + timedelta(seconds=5)).claimed == 0
    second = run_outbox(frozen_clock.at + timedelta(minutes=5))
    assert second.published == 1
    assert len(weibo.posted) == 1
    assert weibo.by_me.call_count >= 1
    # looked first; sent again only when the platform did not have it
    assert weibo.reply.call_count == (1 if stored_before_timeout else 2)
    reply = assert_published(desk, message_id, reply_id)
    assert reply["delivery"] == ("verified" if stored_before_timeout else "platform")


def test_generic_timeout_once_then_success_posts_once(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    board = FakeBoard(platform, timeouts=1)
    message_id = desk.message("generic")
    reply_id = desk.approved(message_id)
    assert run_outbox(frozen_clock.at).retried == 1
    assert run_outbox(frozen_clock.at + timedelta(minutes=5)).published == 1
    keys = [r.headers["Idempotency-Key"] for r in board.requests]
    assert len(keys) == 2 and len(set(keys)) == 1
    assert len(board.stored) == 1
    assert_published(desk, message_id, reply_id)


def test_wechat_customer_service_timeout_is_held_for_a_person(
    desk: Desk, platform, run_outbox, frozen_clock
) -> None:  # type: ignore[no-untyped-def]
    wechat_token(platform)
    send = platform.post(f"{WX}/message/custom/send").mock(side_effect=httpx.ReadTimeout("timed out"))
    message_id = desk.message("wechat", kind="private", thread_ref={"openid": OPENID})
    reply_id = desk.approved(message_id)
    assert run_outbox(frozen_clock.at).held == 1
    run_outbox(frozen_clock.at + timedelta(hours=2))
    assert send.call_count == 1  # never sent again on its own
    held = desk.reply(reply_id)
    assert held["state"] == "held" and held["alternative"]
    assert desk.message_json(message_id)["status"] == "publishing"
    assert [r["id"] for r in desk.get("/replies", desk.operator, state="held").json()["items"]] == [reply_id]
    confirmed = desk.post(
        f"/replies/{reply_id}/confirm-published", desk.operator, {"note": "已在公众号后台看到该消息"}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["delivery"] == "confirmed"
    assert_published(desk, message_id, reply_id)


def test_held_reply_can_be_sent_again_by_a_person(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    wechat_token(platform)
    send = platform.post(f"{WX}/message/custom/send").mock(
        side_effect=[httpx.ReadTimeout("timed out"), httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})]
    )
    message_id = desk.message("wechat", kind="private", thread_ref={"openid": OPENID})
    reply_id = desk.approved(message_id)
    run_outbox(frozen_clock.at)
    assert desk.post(f"/replies/{reply_id}/retry", desk.operator).json()["state"] == "approved"
    run_outbox(frozen_clock.at)
    assert send.call_count == 2
    assert_published(desk, message_id, reply_id)


def test_wechat_45015_is_shown_to_the_operator_with_an_alternative(
    desk: Desk, platform, run_outbox, frozen_clock
) -> None:  # type: ignore[no-untyped-def]
    wechat_token(platform)
    send = platform.post(f"{WX}/message/custom/send").mock(
        return_value=httpx.Response(
            200,
            json={
                "errcode": 45015,
                "errmsg": "response out of time limit or subscription is canceled rid: 65f1a2b3-1c2d3e4f-5a6b7c8d",
            },
        )
    )
    message_id = desk.message("wechat", kind="private", thread_ref={"openid": OPENID})
    reply_id = desk.approved(message_id)
    assert run_outbox(frozen_clock.at).undeliverable == 1
    assert run_outbox(frozen_clock.at + timedelta(hours=3)).claimed == 0
    assert send.call_count == 1
    reply = desk.reply(reply_id)
    assert reply["state"] == "undeliverable" and reply["error_code"] == "45015"
    assert "48小时" in reply["last_error"]
    assert "公开答复" in reply["alternative"]
    queued = desk.get("/queue", desk.operator).json()["items"]
    assert queued[0]["id"] == message_id and queued[0]["status"] == "open"
    assert queued[0]["reply"]["alternative"] == reply["alternative"]
    assert (
        desk.post(f"/replies/{reply_id}/confirm-published", desk.operator, {"note": "看到了"}).status_code
        == 409
    )
    manual = desk.post(f"/replies/{reply_id}/delivered-manually", desk.operator, {"note": "已电话告知留言人"})
    assert manual.status_code == 200, manual.text
    assert manual.json()["delivery"] == "manual"
    assert_published(desk, message_id, reply_id)


def test_rate_limit_backs_off_until_the_quota_resets(desk: Desk, platform, run_outbox, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    weibo = FakeWeibo(platform, rate_limited=1)
    message_id = desk.message("weibo", thread_ref=WEIBO_REF)
    reply_id = desk.approved(message_id)
    assert run_outbox(frozen_clock.at).retried == 1
    pending = desk.reply(reply_id)
    assert pending["error_code"] == "10023"
    assert pending["next_attempt_at"].startswith("2026-03-02T02:00:00")  # the next full hour
    assert run_outbox(frozen_clock.at + timedelta(minutes=30)).claimed == 0
    assert run_outbox(frozen_clock.at + timedelta(hours=1)).published == 1
    assert len(weibo.posted) == 1


# --- a crash between "sent" and "recorded" -------------------------------------------------------------------


class Crash(BaseException):
    """The process dies: nothing after this runs."""


@pytest.fixture
def crash_after_send(monkeypatch: pytest.MonkeyPatch) -> None:
    real = publishers.publish

    def send_then_die(**kwargs: Any) -> Any:
        real(**kwargs)
        raise Crash

    monkeypatch.setattr(publishers, "publish", send_then_die)


def _crash_then_restart(desk: Desk, run_outbox, frozen_clock, monkeypatch: pytest.MonkeyPatch, reply_id: int):  # type: ignore[no-untyped-def]
    with pytest.raises(Crash):
        run_outbox(frozen_clock.at)
    assert desk.reply(reply_id)["state"] == "publishing"
    monkeypatch.undo()
    # within the lease the reply is left alone (its worker may still be busy)
    assert run_outbox(frozen_clock.at + timedelta(minutes=1)).recovered == 0
    return run_outbox(frozen_clock.at + outbox.LEASE + timedelta(seconds=1))


def test_crash_after_sending_a_weibo_reply_does_not_post_twice(  # type: ignore[no-untyped-def]
    desk: Desk, platform, run_outbox, frozen_clock, crash_after_send, monkeypatch
) -> None:
    weibo = FakeWeibo(platform)
    message_id = desk.message("weibo", thread_ref=WEIBO_REF)
    reply_id = desk.approved(message_id)
    result = _crash_then_restart(desk, run_outbox, frozen_clock, monkeypatch, reply_id)
    assert result.recovered == 1 and result.published == 1
    assert weibo.reply.call_count == 1 and len(weibo.posted) == 1
    assert assert_published(desk, message_id, reply_id)["delivery"] == "verified"


def test_crash_after_sending_to_the_board_resends_with_the_same_key(  # type: ignore[no-untyped-def]
    desk: Desk, platform, run_outbox, frozen_clock, crash_after_send, monkeypatch
) -> None:
    board = FakeBoard(platform)
    message_id = desk.message("generic")
    reply_id = desk.approved(message_id)
    result = _crash_then_restart(desk, run_outbox, frozen_clock, monkeypatch, reply_id)
    assert result.published == 1
    assert len({r.headers["Idempotency-Key"] for r in board.requests}) == 1
    assert len(board.stored) == 1
    assert_published(desk, message_id, reply_id)


def test_crash_after_sending_a_wechat_message_holds_it(  # type: ignore[no-untyped-def]
    desk: Desk, platform, run_outbox, frozen_clock, crash_after_send, monkeypatch
) -> None:
    wechat_token(platform)
    send = platform.post(f"{WX}/message/custom/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    message_id = desk.message("wechat", kind="private", thread_ref={"openid": OPENID})
    reply_id = desk.approved(message_id)
    result = _crash_then_restart(desk, run_outbox, frozen_clock, monkeypatch, reply_id)
    assert result.recovered == 1
    assert send.call_count == 1
    assert desk.reply(reply_id)["state"] == "held"


def test_an_echo_from_the_platform_settles_a_held_reply(
    desk: Desk, platform, run_outbox, frozen_clock
) -> None:  # type: ignore[no-untyped-def]
    from app.db import session_scope
    from app.replies import service

    platform.post(f"{DOUYIN}/im/send/msg/").mock(side_effect=httpx.RemoteProtocolError("connection reset"))
    ref = {"conversation_id": "7193512345678901234", "msg_id": "@im-msg-1", "to_user_id": "ou_citizen"}
    message_id = desk.message("douyin", kind="private", thread_ref=ref)
    reply_id = desk.approved(message_id)
    assert run_outbox(frozen_clock.at).held == 1
    with session_scope() as session:
        assert service.confirm_by_echo(
            session=session, reply_id=reply_id, platform_reply_id="@echo-1", at=frozen_clock.at
        )
    reply = assert_published(desk, message_id, reply_id)
    assert (reply["delivery"], reply["platform_reply_id"]) == ("verified", "@echo-1")
    with session_scope() as session:
        assert not service.confirm_by_echo(
            session=session, reply_id=reply_id, platform_reply_id=None, at=frozen_clock.at
        )


def test_an_echo_coming_in_through_the_channel_settles_the_held_reply(
    desk: Desk, platform, run_outbox, frozen_clock
) -> None:  # type: ignore[no-untyped-def]
    """The channels domain recognises the echo and the held reply becomes published (verified)."""
    from sqlmodel import select

    from app.channels.echoes import record_echo
    from app.channels.store import load_account
    from app.db import session_scope
    from app.messages.models import Message
    from connectors.base import InboundItem

    platform.post(f"{DOUYIN}/im/send/msg/").mock(side_effect=httpx.RemoteProtocolError("connection reset"))
    ref = {"conversation_id": "7193512345678901235", "msg_id": "@im-msg-2", "to_user_id": "ou_citizen2"}
    message_id = desk.message("douyin", kind="private", thread_ref=ref)
    text = "您好，已收到您的反映，我们将在5个工作日内答复。"
    reply_id = desk.approved(message_id, text)
    assert run_outbox(frozen_clock.at).held == 1
    with session_scope() as session:
        message = session.exec(select(Message).where(Message.id == message_id)).one()
        account = load_account(session=session, account_id=message.account_id, platform="douyin")
        echo = InboundItem(
            external_id="@echo-2",
            kind="private",
            author_id=account.external_id,
            author_name="",
            content=text,
            received_at=frozen_clock.at,
            thread_ref={"conversation_id": ref["conversation_id"], "to_user_id": ref["to_user_id"]},
            is_echo=True,
            raw={},
        )
        assert record_echo(session=session, account=account, item=echo, now=frozen_clock.at)
    reply = assert_published(desk, message_id, reply_id)
    assert (reply["delivery"], reply["platform_reply_id"]) == ("verified", "@echo-2")


def test_a_claimed_reply_is_skipped_by_another_worker_on_postgresql(desk: Desk, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import Session, select

    from app.db import get_engine, is_postgres
    from app.replies.models import Reply

    if not is_postgres(get_engine()):
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer)")
    first = desk.approved(desk.message("generic", external_id="one"))
    second = desk.approved(desk.message("generic", external_id="two"))
    with Session(get_engine()) as other_worker:
        other_worker.exec(select(Reply).where(Reply.id == first).with_for_update()).one()
        claimed = outbox.claim(now=frozen_clock.at, limit=10)
        other_worker.rollback()
    assert [c.reply_id for c in claimed] == [second]
