"""Generic (website / app) connector: HMAC signing, replay window, body validation, signed replies."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
import respx

from connectors import generic
from connectors.base import AccountContext, AfterUnknown, PayloadError, ReplayError, SignatureError

SECRET = "whsec_3f9a1c"
REPLY_URL = "https://www.qinghe.gov.cn/api/huiying/replies"


def body_of(**overrides: object) -> bytes:
    data: dict[str, object] = {
        "external_id": "LY20240506001",
        "kind": "comment",
        "author": {"id": "u-889", "name": "张先生"},
        "content": "幸福路的路灯不亮",
        "received_at": "2024-05-06T09:30:00+08:00",
    }
    data.update(overrides)
    return orjson.dumps({k: v for k, v in data.items() if v is not None})


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(SECRET.encode(), b'1714960800.{"a":1}', hashlib.sha256).hexdigest()
    assert generic.sign(SECRET, 1714960800, body) == f"sha256={expected}"


def test_verify_accepts_a_fresh_signed_request(now: datetime) -> None:
    body = body_of()
    headers = generic.signed_headers(SECRET, body, now=now - timedelta(seconds=30))
    generic.verify(SECRET, headers, body, now=now)
    generic.verify(SECRET, {k.lower(): v for k, v in headers.items()}, body, now=now)


def test_verify_refuses_tampering_and_missing_headers(now: datetime) -> None:
    body = body_of()
    headers = generic.signed_headers(SECRET, body, now=now)
    with pytest.raises(SignatureError):
        generic.verify(SECRET, headers, body_of(content="改过的内容"), now=now)
    with pytest.raises(SignatureError):
        generic.verify("other-secret", headers, body, now=now)
    with pytest.raises(SignatureError):
        generic.verify(SECRET, {generic.TIMESTAMP_HEADER: headers[generic.TIMESTAMP_HEADER]}, body, now=now)
    # Changing the timestamp breaks the signature too: it is signed.
    moved = {**headers, generic.TIMESTAMP_HEADER: str(int(now.timestamp()) + 1)}
    with pytest.raises(SignatureError):
        generic.verify(SECRET, moved, body, now=now)


@pytest.mark.parametrize("offset", [timedelta(seconds=301), -timedelta(seconds=301), timedelta(days=2)])
def test_verify_refuses_replays_in_both_directions(now: datetime, offset: timedelta) -> None:
    body = body_of()
    headers = generic.signed_headers(SECRET, body, now=now - offset)
    with pytest.raises(ReplayError):
        generic.verify(SECRET, headers, body, now=now)


def test_parse_reads_the_messages_shape(now: datetime) -> None:
    item = generic.parse(body_of(), now=now)
    assert item.external_id == "LY20240506001"
    assert item.kind == "comment"
    assert (item.author_id, item.author_name) == ("u-889", "张先生")
    assert item.received_at == datetime(2024, 5, 6, 1, 30, tzinfo=UTC)
    assert item.thread_ref == {"external_id": "LY20240506001", "author_id": "u-889"}


def test_parse_defaults_kind_to_comment_like_the_rest_api(now: datetime) -> None:
    # Finding 8: leaving out `kind` used to be a 400 while POST /messages defaults it.
    assert generic.parse(body_of(kind=None), now=now).kind == "comment"


@pytest.mark.parametrize("author", [None, {}, {"id": ""}, {"id": "  ", "name": ""}, {"name": "  "}])
def test_anonymous_board_posts_are_accepted_as_anonymous(now: datetime, author: object) -> None:
    # Finding 8: anonymous posts (common on government boards) used to be refused.
    item = generic.parse(body_of(author=author), now=now)
    assert (item.author_id, item.author_name) == ("", "匿名")
    assert item.external_id == "LY20240506001"


def test_anonymous_post_keeps_a_given_name(now: datetime) -> None:
    item = generic.parse(body_of(author={"name": "一位市民"}), now=now)
    assert (item.author_id, item.author_name) == ("", "一位市民")


def test_parse_defaults_received_at_to_now(now: datetime) -> None:
    assert generic.parse(body_of(received_at=None), now=now).received_at == now


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        body_of(external_id=""),
        body_of(external_id=None),
        body_of(kind="email"),
        body_of(author="张先生"),
        body_of(author={"id": ["u-1"]}),
        body_of(author={"id": "u" * 129}),
        body_of(author={"id": "u-1", "name": {"nested": "x"}}),
        body_of(content="   "),
        body_of(content="长" * 20_001),
        body_of(received_at="2024-05-06 09:30:00"),
        body_of(received_at="yesterday"),
    ],
)
def test_parse_refuses_malformed_bodies(now: datetime, body: bytes) -> None:
    with pytest.raises(PayloadError):
        generic.parse(body, now=now)


def test_parse_refuses_oversize_bodies(now: datetime) -> None:
    with pytest.raises(PayloadError):
        generic.parse(body_of(content="长" * 1000), now=now, max_bytes=512)


@pytest.fixture
def ctx(make_ctx: Callable[..., AccountContext]) -> AccountContext:
    return make_ctx({"hmac_secret": SECRET, "reply_url": REPLY_URL}, "www.qinghe.gov.cn")


REF = {"external_id": "LY20240506001", "author_id": "u-889"}


def test_publish_posts_a_signed_reply_that_verifies(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        route = router.post(REPLY_URL).mock(return_value=httpx.Response(201, json={"id": 42}))
        result = generic.publish(
            ctx, thread_ref=REF, text="已安排维修", idempotency_key="reply-17-v1", now=now
        )
    assert result.outcome == "sent" and result.platform_reply_id == "42"
    request = route.calls[0].request
    generic.verify(SECRET, dict(request.headers), request.content, now=now)
    assert request.headers["Idempotency-Key"] == "reply-17-v1"
    assert json.loads(request.content) == {
        "external_id": "LY20240506001",
        "text": "已安排维修",
        "idempotency_key": "reply-17-v1",
        "published_at": now.isoformat(),
    }


@pytest.mark.parametrize(
    ("response", "outcome"),
    [
        (httpx.Response(204), "sent"),
        (httpx.Response(500), "retry"),
        (httpx.Response(503, headers={"Retry-After": "120"}), "retry"),
        (httpx.Response(429, headers={"Retry-After": "30"}), "retry"),
        (httpx.Response(400, text="unknown external_id"), "refused"),
        (httpx.Response(404), "refused"),
    ],
)
def test_publish_status_mapping(
    ctx: AccountContext, now: datetime, response: httpx.Response, outcome: str
) -> None:
    with respx.mock() as router:
        router.post(REPLY_URL).mock(return_value=response)
        result = generic.publish(ctx, thread_ref=REF, text="已安排维修", idempotency_key="k", now=now)
    assert result.outcome == outcome
    if response.headers.get("Retry-After"):
        assert result.retry_after == float(response.headers["Retry-After"])


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (httpx.ReadTimeout("slow"), "unknown"),
        (httpx.RemoteProtocolError("Server disconnected"), "unknown"),
        (httpx.ReadError("Connection reset by peer"), "unknown"),
        (httpx.ConnectError("Connection refused"), "retry"),
        (httpx.ConnectTimeout("no route"), "retry"),
    ],
)
def test_publish_transport_failures(
    ctx: AccountContext, now: datetime, error: Exception, outcome: str
) -> None:
    with respx.mock() as router:
        router.post(REPLY_URL).mock(side_effect=error)
        result = generic.publish(ctx, thread_ref=REF, text="已安排维修", idempotency_key="k", now=now)
    assert result.outcome == outcome


def test_unknown_outcome_is_resent_with_the_same_key() -> None:
    assert generic.after_unknown(REF) is AfterUnknown.RETRY
