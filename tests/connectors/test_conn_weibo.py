"""Weibo connector against a mocked Weibo API that behaves like comments/to_me (since_id / max_id)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs

import httpx
import orjson
import pytest
import respx

from connectors import weibo
from connectors.base import (
    AccountContext,
    AfterUnknown,
    InboundItem,
    PlatformError,
    PlatformEvent,
    RateLimited,
    ReplayError,
    SignatureError,
    TokenExpired,
    sorted_sha1,
)
from tests.connectors.documented import assert_documented

API = "https://api.weibo.com/2"
ACCOUNT_UID = "5861234567"
SECRETS = {
    "app_key": "2949572520",
    "app_secret": "xyz123xyz",
    "access_token": "2.00TOKEN",
    "reply_ip": "211.156.0.1",
}
BASE_ID = 4_987_654_321_012_345_678  # beyond 2**53: only exact as a string


def weibo_time(at: datetime) -> str:
    local = at.astimezone(timezone(timedelta(hours=8)))
    return local.strftime("%a %b %d %H:%M:%S +0800 %Y")


def comment(
    n: int, *, at: datetime, author: str = "1404376560", reply_to: str | None = None
) -> dict[str, object]:
    cid = BASE_ID + n
    data: dict[str, object] = {
        "created_at": weibo_time(at + timedelta(minutes=n)),
        "id": cid,  # JSON number: loses precision in many clients, hence idstr
        "idstr": str(cid),
        "mid": str(cid),
        "text": f"第{n}条：小区门口的垃圾没人清",
        "source": '<a href="http://weibo.com/">微博 weibo.com</a>',
        "user": {"id": int(author), "idstr": author, "screen_name": f"市民{author[-3:]}"},
        "status": {"id": 4_900_000_000_000_000_001, "idstr": "4900000000000000001", "text": "区政府发布"},
    }
    if reply_to:
        data["reply_comment"] = {"id": int(reply_to), "idstr": reply_to, "text": "原评论"}
    return data


class FakeWeibo:
    """Enough of comments/to_me: newest first, since_id exclusive, max_id inclusive, count-limited."""

    def __init__(self) -> None:
        self.comments: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params["access_token"] == SECRETS["access_token"]
        since, count = int(params.get("since_id", "0")), int(params["count"])
        max_id = int(params["max_id"]) if "max_id" in params else None
        matching = [
            c
            for c in self.comments
            if int(str(c["idstr"])) > since and (max_id is None or int(str(c["idstr"])) <= max_id)
        ]
        matching.sort(key=lambda c: int(str(c["idstr"])), reverse=True)
        page = matching[:count]
        return httpx.Response(200, json={"comments": page, "total_number": len(matching), "next_cursor": 0})


@pytest.fixture
def ctx(make_ctx: Callable[..., AccountContext]) -> AccountContext:
    return make_ctx(SECRETS, ACCOUNT_UID)


def test_created_at_is_parsed_to_utc() -> None:
    assert weibo.parse_created_at("Wed Jun 01 00:50:25 +0800 2011") == datetime(
        2011, 5, 31, 16, 50, 25, tzinfo=UTC
    )


def test_poll_items_keep_string_ids_and_mark_echoes(ctx: AccountContext, now: datetime) -> None:
    fake = FakeWeibo()
    fake.comments = [comment(1, at=now), comment(2, at=now, author=ACCOUNT_UID, reply_to=str(BASE_ID + 1))]
    with respx.mock() as router:
        router.get(f"{API}/comments/to_me.json").mock(side_effect=fake)
        page = weibo.poll(ctx, cursor=None, now=now)
    by_id = {i.external_id: i for i in page.items}
    citizen, echo = by_id[str(BASE_ID + 1)], by_id[str(BASE_ID + 2)]
    assert citizen.thread_ref == {"cid": str(BASE_ID + 1), "status_id": "4900000000000000001"}
    assert citizen.author_name == "市民560"
    assert citizen.received_at == now + timedelta(minutes=1)
    assert citizen.is_echo is False
    assert echo.is_echo is True
    assert echo.thread_ref["reply_to_cid"] == str(BASE_ID + 1)


def drain(ctx: AccountContext, cursor: str | None, now: datetime) -> tuple[list[InboundItem], str | None]:
    items: list[InboundItem] = []
    while True:
        page = weibo.poll(ctx, cursor=cursor, now=now)
        items += page.items
        cursor = page.next_cursor
        if not page.has_more:
            return items, cursor


def test_bursts_larger_than_a_page_are_walked_down_without_gaps(
    ctx: AccountContext, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weibo, "PAGE_SIZE", 3)
    fake = FakeWeibo()
    fake.comments = [comment(n, at=now) for n in range(1, 8)]
    with respx.mock() as router:
        router.get(f"{API}/comments/to_me.json").mock(side_effect=fake)
        first, cursor = drain(ctx, None, now)
        fake.comments += [comment(n, at=now) for n in range(8, 13)]
        second, cursor = drain(ctx, cursor, now)
        third, _ = drain(ctx, cursor, now)
    assert sorted(int(i.external_id) for i in first) == [BASE_ID + n for n in range(1, 8)]
    assert sorted(int(i.external_id) for i in second) == [BASE_ID + n for n in range(8, 13)]
    assert third == []
    assert cursor == str(BASE_ID + 12)


def test_a_restart_mid_poll_neither_loses_nor_duplicates_comments(
    ctx: AccountContext, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poller commits (cursor, items) together; a crash before a commit repeats only that page."""
    monkeypatch.setattr(weibo, "PAGE_SIZE", 2)
    fake = FakeWeibo()
    fake.comments = [comment(n, at=now) for n in range(1, 8)]
    stored: list[str] = []
    committed: str | None = None
    crashes = iter([False, False, True, False, False, False, False, False, False])

    with respx.mock() as router:
        router.get(f"{API}/comments/to_me.json").mock(side_effect=fake)
        for _ in range(20):
            page = weibo.poll(ctx, cursor=committed, now=now)
            if next(crashes, False):
                continue  # the process died after fetching, before committing: nothing stored
            stored += [i.external_id for i in page.items]
            committed = page.next_cursor
            if not page.has_more:
                if len(fake.comments) == 7:
                    fake.comments.append(comment(8, at=now))  # arrives while we are idle
                    continue
                if len(stored) == 8:
                    break
    assert sorted(stored) == sorted(str(BASE_ID + n) for n in range(1, 9))
    assert len(stored) == len(set(stored))


def test_rate_limit_backs_off_until_the_next_hour(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.get(f"{API}/comments/to_me.json").mock(
            return_value=httpx.Response(
                403,
                json={
                    "error": "User requests out of rate limit!",
                    "error_code": 10023,
                    "request": "/2/comments/to_me.json",
                },
            )
        )
        with pytest.raises(RateLimited) as caught:
            weibo.poll(ctx, cursor="0", now=now + timedelta(minutes=15))
    assert caught.value.retry_after == 45 * 60


@pytest.mark.parametrize("code", [21327, "21332"])
def test_expired_token_on_poll(ctx: AccountContext, now: datetime, code: int | str) -> None:
    with respx.mock() as router:
        router.get(f"{API}/comments/to_me.json").mock(
            return_value=httpx.Response(400, json={"error": "expired_token", "error_code": code})
        )
        with pytest.raises(TokenExpired):
            weibo.poll(ctx, cursor="0", now=now)


# --- replies -----------------------------------------------------------------------------------------


COMMENT_REF = {"cid": str(BASE_ID + 1), "status_id": "4900000000000000001"}


def test_comment_reply_posts_the_documented_form(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        reply = router.post(f"{API}/comments/reply.json").mock(
            return_value=httpx.Response(
                200, json=comment(99, at=now, author=ACCOUNT_UID, reply_to=COMMENT_REF["cid"])
            )
        )
        result = weibo.publish(
            ctx, thread_ref=COMMENT_REF, text="已通知环卫所今日清运", idempotency_key="k", now=now
        )
    assert result.outcome == "sent"
    assert result.platform_reply_id == str(BASE_ID + 99)
    form = assert_documented(reply.calls[0].request, "weibo_comments_reply")
    assert form == {
        "access_token": "2.00TOKEN",
        "cid": str(BASE_ID + 1),
        "id": "4900000000000000001",
        "comment": "已通知环卫所今日清运",
        "comment_ori": "0",
        "without_mention": "0",
        "rip": "211.156.0.1",
    }


def test_reply_over_140_characters_is_refused_without_calling_weibo(
    ctx: AccountContext, now: datetime
) -> None:
    assert weibo.max_reply_chars(COMMENT_REF) == weibo.MAX_COMMENT_CHARS == 140
    with respx.mock(assert_all_called=False) as router:
        route = router.post(f"{API}/comments/reply.json")
        result = weibo.publish(ctx, thread_ref=COMMENT_REF, text="长" * 141, idempotency_key="k", now=now)
    assert result.outcome == "refused"
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(10024, "retry"), (10001, "retry"), (20019, "refused"), (20206, "refused"), (28888, "refused")],
)
def test_comment_reply_error_codes(ctx: AccountContext, now: datetime, code: int, outcome: str) -> None:
    with respx.mock() as router:
        router.post(f"{API}/comments/reply.json").mock(
            return_value=httpx.Response(
                400, json={"error": "x", "error_code": code, "request": "/2/comments/reply.json"}
            )
        )
        result = weibo.publish(ctx, thread_ref=COMMENT_REF, text="您好", idempotency_key="k", now=now)
    assert result.outcome == outcome
    assert result.error_code == str(code)
    if outcome == "refused":
        assert result.reason


def test_expired_token_on_reply_raises(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post(f"{API}/comments/reply.json").mock(
            return_value=httpx.Response(400, json={"error": "expired_token", "error_code": 21327})
        )
        with pytest.raises(TokenExpired):
            weibo.publish(ctx, thread_ref=COMMENT_REF, text="您好", idempotency_key="k", now=now)


def test_reply_timeout_is_checked_in_comments_by_me(ctx: AccountContext, now: datetime) -> None:
    assert weibo.after_unknown(COMMENT_REF) is AfterUnknown.CHECK
    mine = comment(50, at=now, author=ACCOUNT_UID, reply_to=COMMENT_REF["cid"])
    mine["text"] = "回复@市民560:已通知环卫所今日清运"
    with respx.mock() as router:
        router.post(f"{API}/comments/reply.json").mock(side_effect=httpx.ReadTimeout("slow"))
        router.get(f"{API}/comments/by_me.json").mock(
            return_value=httpx.Response(
                200, json={"comments": [comment(49, at=now, author=ACCOUNT_UID), mine]}
            )
        )
        result = weibo.publish(
            ctx, thread_ref=COMMENT_REF, text="已通知环卫所今日清运", idempotency_key="k", now=now
        )
        found = weibo.find_published(
            ctx, thread_ref=COMMENT_REF, text="已通知环卫所今日清运", now=now, pages=1
        )
        missing = weibo.find_published(ctx, thread_ref=COMMENT_REF, text="别的答复", now=now, pages=1)
    assert result.outcome == "unknown"
    assert found is not None and found.platform_reply_id == str(BASE_ID + 50)
    assert missing is None


def test_check_that_cannot_read_far_enough_is_inconclusive(ctx: AccountContext, now: datetime) -> None:
    full_page = [comment(n, at=now, author=ACCOUNT_UID) for n in range(50)]
    with respx.mock() as router:
        router.get(f"{API}/comments/by_me.json").mock(
            return_value=httpx.Response(200, json={"comments": full_page})
        )
        with pytest.raises(PlatformError):
            weibo.find_published(ctx, thread_ref=COMMENT_REF, text="已通知环卫所今日清运", now=now, pages=2)


def test_private_reply_goes_through_the_fans_service(ctx: AccountContext, now: datetime) -> None:
    ref = {"sender_id": "2489518277"}
    assert weibo.after_unknown(ref) is AfterUnknown.HOLD
    with respx.mock() as router:
        route = router.post("https://m.api.weibo.com/2/messages/reply.json").mock(
            return_value=httpx.Response(200, json={"id": 3332910801173380, "idstr": "3332910801173380"})
        )
        result = weibo.publish(ctx, thread_ref=ref, text="您好，已登记", idempotency_key="k", now=now)
    assert result.outcome == "sent" and result.platform_reply_id == "3332910801173380"
    form = {k: v[0] for k, v in parse_qs(route.calls[0].request.content.decode()).items()}
    assert form["type"] == "text" and form["receiver_id"] == "2489518277"
    assert json.loads(form["data"]) == {"text": "您好，已登记"}


# --- fans-service push --------------------------------------------------------------------------------


def test_push_signature_matches_weibos_documented_example() -> None:
    echo = weibo.check_signature(
        app_secret="xyz123xyz",
        signature="90e4c22c90a58f26526c2dd5b6c56c8822edeaa1",
        timestamp="1397022061823",
        nonce="57155157",
        echostr="dnPdpTZz85",
    )
    assert echo == "dnPdpTZz85"
    with pytest.raises(SignatureError):
        weibo.check_signature(
            app_secret="xyz123xyz",
            signature="90e4c22c",
            timestamp="1397022061823",
            nonce="57155157",
            echostr="x",
        )


def push_request(
    event: dict[str, object], *, at: datetime, secret: str = "xyz123xyz"
) -> tuple[dict[str, str], bytes]:
    timestamp, nonce = str(int(at.timestamp() * 1000)), "57155157"
    return {
        "signature": sorted_sha1(secret, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }, orjson.dumps(event)


def text_push(at: datetime, *, receiver: str = ACCOUNT_UID, sender: str = "2489518277") -> dict[str, object]:
    return {
        "type": "text",
        "receiver_id": int(receiver),
        "sender_id": int(sender),
        "created_at": weibo_time(at),
        "text": "请问公积金怎么提取？",
        "data": {},
    }


def test_private_message_push_is_parsed(now: datetime) -> None:
    query, body = push_request(text_push(now), at=now)
    item = weibo.parse_push(secrets=SECRETS, account_id=ACCOUNT_UID, query=query, body=body, now=now)
    assert isinstance(item, InboundItem)
    assert item.kind == "private" and item.content == "请问公积金怎么提取？"
    assert item.thread_ref == {"sender_id": "2489518277"}
    assert item.received_at == now.replace(microsecond=0)
    again = weibo.parse_push(secrets=SECRETS, account_id=ACCOUNT_UID, query=query, body=body, now=now)
    assert isinstance(again, InboundItem) and again.external_id == item.external_id  # retries collapse


def test_push_for_another_account_or_badly_signed_is_refused(now: datetime) -> None:
    query, body = push_request(text_push(now, receiver="1902538057"), at=now)
    with pytest.raises(SignatureError):
        weibo.parse_push(secrets=SECRETS, account_id=ACCOUNT_UID, query=query, body=body, now=now)
    query, body = push_request(text_push(now), at=now, secret="wrong")
    with pytest.raises(SignatureError):
        weibo.parse_push(secrets=SECRETS, account_id=ACCOUNT_UID, query=query, body=body, now=now)


def test_old_push_is_a_replay(now: datetime) -> None:
    old = now - timedelta(minutes=30)
    query, body = push_request(text_push(old), at=old)
    with pytest.raises(ReplayError):
        weibo.parse_push(secrets=SECRETS, account_id=ACCOUNT_UID, query=query, body=body, now=now)


def test_follow_event_push(now: datetime) -> None:
    event = {**text_push(now), "type": "event", "text": "事件消息", "data": {"subtype": "follow", "key": ""}}
    query, body = push_request(event, at=now)
    parsed = weibo.parse_push(secrets=SECRETS, account_id=ACCOUNT_UID, query=query, body=body, now=now)
    assert isinstance(parsed, PlatformEvent) and parsed.name == "follow"
