"""Douyin connector: signed webhooks, the mocked open.douyin.com API, token refresh and comment paging."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import orjson
import pytest
import respx

from connectors import douyin
from connectors.base import (
    AccountContext,
    AfterUnknown,
    Handshake,
    InboundItem,
    InMemoryTokenStore,
    PayloadError,
    PlatformEvent,
    SignatureError,
    StoredToken,
    TokenExpired,
)
from tests.connectors.documented import assert_documented

API = "https://open.douyin.com"
CLIENT_SECRET = "7802f4e6f243e659d51135445fe"
ACCOUNT_OPEN_ID = "aaa-7ae0-4399-914a-5eb1df5861ba"
CITIZEN = "ac6479a5-d7a6-4018-84be-c29bfc00000"
SECRETS = {
    "client_key": "tt10abc",
    "client_secret": CLIENT_SECRET,
    "access_token": "act.first",
    "refresh_token": "rft.first",
}


def signed(
    event: dict[str, object], *, msg_id: str = "msg-1", secret: str = CLIENT_SECRET
) -> tuple[dict[str, str], bytes]:
    body = orjson.dumps(event)
    signature = hashlib.sha1(secret.encode() + body).hexdigest()
    return {"X-Douyin-Signature": signature, "Msg-Id": msg_id, "Content-Type": "application/json"}, body


def im_event(now: datetime, *, name: str = "im_receive_msg", as_string: bool = False) -> dict[str, object]:
    sender, receiver = (CITIZEN, ACCOUNT_OPEN_ID) if name == "im_receive_msg" else (ACCOUNT_OPEN_ID, CITIZEN)
    content: dict[str, object] = {
        "conversation_short_id": "@c29bfc000+MNggFhRkwGuX1ntuc0QfA0VnmRejrzWUBwDdDYrU9MpJSYEVV6/2hKU0il5iay8J99+0t5j3zrbA==",
        "server_message_id": "@c29bfc000+MNggFhRkwGuX1ntuc0RPc0VH",
        "conversation_type": 1,
        "message_type": "text",
        "text": "请问社保卡在哪里补办？",
        "source": "",
        "create_time": int(now.timestamp() * 1000),  # 13-digit milliseconds
        "user_infos": [
            {"open_id": CITIZEN, "nick_name": "青禾居民", "avatar": "https://p3.douyinpic.com/a.jpeg"},
            {
                "open_id": ACCOUNT_OPEN_ID,
                "nick_name": "青禾发布",
                "avatar": "https://p3.douyinpic.com/b.jpeg",
            },
        ],
    }
    return {
        "event": name,
        "client_key": "tt10abc",
        "from_user_id": sender,
        "to_user_id": receiver,
        "log_id": "2023429834752345783",
        "content": orjson.dumps(content).decode() if as_string else content,
    }


def parse(headers: dict[str, str], body: bytes) -> InboundItem | PlatformEvent | Handshake:
    return douyin.parse_webhook(
        client_secret=CLIENT_SECRET, account_open_id=ACCOUNT_OPEN_ID, headers=headers, body=body
    )


# --- webhooks ---------------------------------------------------------------------------------------


def test_verify_webhook_challenge_is_echoed() -> None:
    headers, body = signed({"event": "verify_webhook", "client_key": "", "content": {"challenge": 12345}})
    answer = parse(headers, body)
    assert isinstance(answer, Handshake)
    assert json.loads(answer.body) == {"challenge": 12345}
    unsigned = parse({}, body)
    assert isinstance(unsigned, Handshake)


@pytest.mark.parametrize("as_string", [False, True])
def test_received_private_message_is_parsed(now: datetime, as_string: bool) -> None:
    headers, body = signed(im_event(now, as_string=as_string))
    item = parse(headers, body)
    assert isinstance(item, InboundItem)
    assert item.external_id == "@c29bfc000+MNggFhRkwGuX1ntuc0RPc0VH"
    assert item.kind == "private" and item.is_echo is False
    assert item.author_id == CITIZEN and item.author_name == "青禾居民"
    assert item.content == "请问社保卡在哪里补办？"
    assert item.received_at == now
    assert item.thread_ref == {
        "conversation_id": "@c29bfc000+MNggFhRkwGuX1ntuc0QfA0VnmRejrzWUBwDdDYrU9MpJSYEVV6/2hKU0il5iay8J99+0t5j3zrbA==",
        "msg_id": "@c29bfc000+MNggFhRkwGuX1ntuc0RPc0VH",
        "to_user_id": CITIZEN,
        "account_open_id": ACCOUNT_OPEN_ID,
    }
    assert item.raw["msg_id_header"] == "msg-1"


def test_sent_message_comes_back_as_an_echo(now: datetime) -> None:
    headers, body = signed(im_event(now, name="im_send_msg"))
    item = parse(headers, body)
    assert isinstance(item, InboundItem) and item.is_echo is True
    assert item.thread_ref["to_user_id"] == CITIZEN


def test_bad_or_missing_signature_is_refused(now: datetime) -> None:
    headers, body = signed(im_event(now), secret="not-the-secret")
    with pytest.raises(SignatureError):
        parse(headers, body)
    headers, body = signed(im_event(now))
    with pytest.raises(SignatureError):
        parse(headers, body.replace("补办".encode(), "办理".encode()))
    with pytest.raises(SignatureError):
        parse({"Msg-Id": "x"}, body)


def test_a_message_of_another_account_of_the_same_app(now: datetime) -> None:
    headers, body = signed(im_event(now))
    shared_url = douyin.parse_webhook(client_secret=CLIENT_SECRET, headers=headers, body=body)
    assert isinstance(shared_url, InboundItem)
    assert shared_url.thread_ref["account_open_id"] == ACCOUNT_OPEN_ID  # route by this
    with pytest.raises(SignatureError):
        douyin.parse_webhook(
            client_secret=CLIENT_SECRET, account_open_id="other-account", headers=headers, body=body
        )


def test_header_names_are_case_insensitive(now: datetime) -> None:
    headers, body = signed(im_event(now))
    lowered = {k.lower(): v for k, v in headers.items()}
    assert isinstance(parse(lowered, body), InboundItem)


def test_malformed_json_is_a_payload_error() -> None:
    body = b"{not json"
    headers = {"X-Douyin-Signature": hashlib.sha1(CLIENT_SECRET.encode() + body).hexdigest()}
    with pytest.raises(PayloadError):
        parse(headers, body)


def test_other_events_are_deduplicated_by_msg_id(now: datetime) -> None:
    event: dict[str, object] = {
        "event": "authorize",
        "from_user_id": CITIZEN,
        "client_key": "tt10abc",
        "content": {"scopes": ["im"]},
    }
    headers, body = signed(event, msg_id="e7b9")
    parsed = parse(headers, body)
    assert isinstance(parsed, PlatformEvent)
    assert parsed.dedupe_key == "e7b9" and parsed.name == "authorize"


# --- tokens and replies ------------------------------------------------------------------------------


@pytest.fixture
def ctx(make_ctx: Callable[..., AccountContext]) -> AccountContext:
    return make_ctx(SECRETS, ACCOUNT_OPEN_ID)


IM_REF = {
    "conversation_id": "@conv",
    "msg_id": "@c29bfc000+MNggFhRkwGuX1ntuc0RPc0VH",
    "to_user_id": CITIZEN,
}


def ok(data: dict[str, object]) -> httpx.Response:
    return httpx.Response(
        200, json={"data": {"error_code": 0, "description": "", **data}, "extra": {"error_code": 0}}
    )


def error(code: int, description: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "data": {"error_code": code, "description": description},
            "extra": {"error_code": code, "description": description, "sub_error_code": 0, "logid": "2020"},
        },
    )


def test_private_reply_request_shape(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        send = router.post(f"{API}/im/send/msg/").mock(return_value=ok({"msg_id": "@reply-1"}))
        result = douyin.publish(
            ctx, thread_ref=IM_REF, text="您好，可到区政务中心补办", idempotency_key="k", now=now
        )
    assert result.outcome == "sent" and result.platform_reply_id == "@reply-1"
    request = send.calls[0].request
    assert request.url.params["open_id"] == ACCOUNT_OPEN_ID
    assert request.headers["access-token"] == "act.first"
    assert_documented(request, "douyin_im_send_msg")
    # No `scene`: optional, and spelled differently by different sources (im_replay_msg / im_reply_msg).
    assert json.loads(request.content) == {
        "msg_id": IM_REF["msg_id"],
        "conversation_id": "@conv",
        "to_user_id": CITIZEN,
        "content": {"msg_type": 1, "text": {"text": "您好，可到区政务中心补办"}},
    }
    assert douyin.after_unknown(IM_REF) is AfterUnknown.HOLD


@pytest.mark.parametrize("expired_code", [2190008, 28001008])
def test_expired_access_token_is_refreshed_and_shared(
    ctx: AccountContext, tokens: InMemoryTokenStore, now: datetime, expired_code: int
) -> None:
    with respx.mock() as router:
        refresh = router.post(f"{API}/oauth/refresh_token/").mock(
            return_value=httpx.Response(
                200,
                json={
                    "data": {
                        "access_token": "act.second",
                        "description": "",
                        "error_code": 0,
                        "expires_in": "1296000",
                        "open_id": ACCOUNT_OPEN_ID,
                        "refresh_expires_in": "2592000",
                        "refresh_token": "rft.first",
                        "scope": "im.direct_message",
                    },
                    "message": "success",
                },
            )
        )
        send = router.post(f"{API}/im/send/msg/").mock(
            side_effect=[error(expired_code, "access_token过期"), ok({"msg_id": "m1"}), ok({"msg_id": "m2"})]
        )
        first = douyin.publish(ctx, thread_ref=IM_REF, text="一", idempotency_key="k1", now=now)
        second = douyin.publish(ctx, thread_ref=IM_REF, text="二", idempotency_key="k2", now=now)
    assert first.outcome == second.outcome == "sent"
    assert refresh.call_count == 1
    form = assert_documented(refresh.calls[0].request, "douyin_refresh_token")
    assert form == {"client_key": "tt10abc", "grant_type": "refresh_token", "refresh_token": "rft.first"}
    assert [c.request.headers["access-token"] for c in send.calls] == [
        "act.first",
        "act.second",
        "act.second",
    ]
    stored = tokens.get(f"douyin:tt10abc:{ACCOUNT_OPEN_ID}")
    # refresh_expires_in (30 days here) is kept: it is when a person must authorise again.
    assert stored == StoredToken(
        "act.second", now + timedelta(seconds=1296000), "rft.first", now + timedelta(seconds=2592000)
    )


def test_dead_refresh_token_needs_a_person(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post(f"{API}/oauth/refresh_token/").mock(
            return_value=httpx.Response(
                200,
                json={"data": {"error_code": 10010, "description": "refresh_token过期"}, "message": "error"},
            )
        )
        router.post(f"{API}/im/send/msg/").mock(return_value=error(2190008, "access_token过期"))
        with pytest.raises(TokenExpired, match="重新扫码授权"):
            douyin.publish(ctx, thread_ref=IM_REF, text="您好", idempotency_key="k", now=now)


def test_rate_limit_is_a_retry_with_backoff(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post(f"{API}/im/send/msg/").mock(return_value=error(28003018, "请求频率过高"))
        result = douyin.publish(ctx, thread_ref=IM_REF, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "retry" and result.retry_after == 60.0


def test_refusal_carries_the_platform_description(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post(f"{API}/im/send/msg/").mock(return_value=error(28010006, "超过可回复时间"))
        result = douyin.publish(ctx, thread_ref=IM_REF, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "refused" and "超过可回复时间" in result.reason
    assert result.alternative


def test_client_token_is_fetched_once_and_cached(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        route = router.post(f"{API}/oauth/client_token/").mock(
            return_value=httpx.Response(
                200,
                json={
                    "data": {
                        "access_token": "clt.abc",
                        "description": "",
                        "error_code": 0,
                        "expires_in": 7200,
                    },
                    "message": "success",
                },
            )
        )
        assert douyin.client_token(ctx, now=now) == "clt.abc"
        assert douyin.client_token(ctx, now=now + timedelta(minutes=30)) == "clt.abc"
    assert route.call_count == 1
    assert json.loads(route.calls[0].request.content) == {
        "client_key": "tt10abc",
        "client_secret": CLIENT_SECRET,
        "grant_type": "client_credential",
    }


# --- comments --------------------------------------------------------------------------------------


def comment(n: int, *, at: datetime, author: str = CITIZEN) -> dict[str, object]:
    return {
        "top": False,
        "comment_id": f"@9VwKzuuES8gmaXS7ZohG{n:04d}",
        "comment_user_id": author,
        "content": f"第{n}条评论：公交站什么时候修好",
        "create_time": int(at.timestamp()) + n,
        "digg_count": 3,
        "reply_comment_total": 0,
    }


def test_comment_poll_follows_the_cursor(ctx: AccountContext, now: datetime) -> None:
    pages = [
        ok({"cursor": 2, "has_more": True, "list": [comment(1, at=now), comment(2, at=now)]}),
        ok({"cursor": 3, "has_more": False, "list": [comment(3, at=now, author=ACCOUNT_OPEN_ID)]}),
    ]
    with respx.mock() as router:
        route = router.get(f"{API}/video/comment/list/").mock(side_effect=pages)
        first = douyin.poll(ctx, target="@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQ==", cursor=None, now=now)
        second = douyin.poll(
            ctx, target="@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQ==", cursor=first.next_cursor, now=now
        )
    assert (first.next_cursor, first.has_more) == ("2", True)
    # The end of the list sends the next pass back to the start (the list is not in time order).
    assert (second.next_cursor, second.has_more) == (None, False)
    params = route.calls[1].request.url.params
    assert_documented(route.calls[1].request, "douyin_video_comment_list")
    assert "sort_type" not in params
    assert params["cursor"] == "2" and params["open_id"] == ACCOUNT_OPEN_ID
    assert params["item_id"] == "@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQ=="
    assert first.items[0].thread_ref == {
        "item_id": "@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQ==",
        "comment_id": "@9VwKzuuES8gmaXS7ZohG0001",
    }
    assert first.items[0].received_at == now + timedelta(seconds=1)
    assert second.items[0].is_echo is True


def test_comment_reply_and_check_after_a_reset(ctx: AccountContext, now: datetime) -> None:
    ref = {"item_id": "@item", "comment_id": "@9VwKzuuES8gmaXS7ZohG0001"}
    assert douyin.after_unknown(ref) is AfterUnknown.CHECK
    with respx.mock() as router:
        reply = router.post(f"{API}/video/comment/reply/").mock(
            side_effect=httpx.RemoteProtocolError("reset")
        )
        router.get(f"{API}/video/comment/reply/list/").mock(
            return_value=ok(
                {
                    "cursor": 1,
                    "has_more": False,
                    "list": [{**comment(9, at=now, author=ACCOUNT_OPEN_ID), "content": "本周内修复"}],
                }
            )
        )
        result = douyin.publish(ctx, thread_ref=ref, text="本周内修复", idempotency_key="k", now=now)
        found = douyin.find_published(ctx, thread_ref=ref, text="本周内修复", now=now)
    assert result.outcome == "unknown"
    assert json.loads(reply.calls[0].request.content) == {
        "item_id": "@item",
        "comment_id": "@9VwKzuuES8gmaXS7ZohG0001",
        "content": "本周内修复",
    }
    assert found is not None and found.platform_reply_id == "@9VwKzuuES8gmaXS7ZohG0009"
