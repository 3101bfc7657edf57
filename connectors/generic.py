"""Website / app message boards and any other source: HMAC-signed JSON in, signed JSON replies out.

Signature: `X-Huiying-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>` with
`X-Huiying-Timestamp` in Unix seconds; the same headers sign the replies POSTed to `reply_url`.
Reading order: `sign`, `verify`, `parse`, `publish`, `after_unknown`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, cast

import httpx
import orjson

from connectors.base import (
    EARLIEST,
    MAX_BODY_BYTES,
    REPLAY_WINDOW,
    AccountContext,
    AfterUnknown,
    Answer,
    InboundItem,
    Kind,
    PayloadError,
    PublishResult,
    SignatureError,
    Webhook,
    check_size,
    check_window,
    header,
    json_object,
    same,
    signing_secret,
    transport_outcome,
)
from connectors.posts import Post

TIMESTAMP_HEADER = "X-Huiying-Timestamp"
SIGNATURE_HEADER = "X-Huiying-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
KINDS: tuple[Kind, ...] = ("comment", "private", "mention")
DEFAULT_KIND: Kind = "comment"
ANONYMOUS = "匿名"
MAX_CONTENT_CHARS = 20_000
MAX_ID_CHARS = 128


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `timestamp + "." + body`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, body: bytes, *, now: datetime) -> dict[str, str]:
    """The two headers that sign `body` at `now` (for replies, and for integrators' tests)."""
    timestamp = str(int(now.timestamp()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime, window: timedelta = REPLAY_WINDOW
) -> None:
    """Check the signature (constant time), then the timestamp against `now ± window`.

    Raises SignatureError or ReplayError; returns nothing when the request is authentic and fresh.
    """
    timestamp = header(headers, TIMESTAMP_HEADER)
    signature = header(headers, SIGNATURE_HEADER)
    if not secret or not timestamp or not signature or not same(sign(secret, timestamp, body), signature):
        raise SignatureError("签名缺失或不匹配")
    check_window(timestamp, now=now, window=window)


def parse(body: bytes, *, now: datetime, max_bytes: int = MAX_BODY_BYTES) -> InboundItem:
    """Parse `{external_id, kind?, author?{id?,name?}, content, received_at?}` (like `POST /messages`).

    `kind` defaults to comment; a post without an author id is anonymous (author name 匿名).

    `received_at` must carry a timezone (ISO 8601); when absent the message is received `now`.
    Raises PayloadError with the reason in Chinese.
    """
    check_size(body, max_bytes)
    data = json_object(body, name="请求体")
    external_id = _external_id(data)
    kind = data.get("kind", DEFAULT_KIND)  # like POST /messages, a missing kind is a comment
    if kind not in KINDS:
        raise PayloadError("kind 必须是 comment、private 或 mention")
    author = data.get("author")
    if author is None:
        author = {}
    if not isinstance(author, dict):
        raise PayloadError('author 必须是对象，例如 {"id": "u1", "name": "张三"}')
    author_id = author.get("id")
    if isinstance(author_id, int) and not isinstance(author_id, bool):
        author_id = str(author_id)
    if author_id is not None and not isinstance(author_id, str):
        raise PayloadError("author.id 必须是字符串")
    author_id = (author_id or "").strip()
    if len(author_id) > MAX_ID_CHARS:
        raise PayloadError(f"author.id 不能超过 {MAX_ID_CHARS} 个字符")
    name = author.get("name") or ""
    if not isinstance(name, str):
        raise PayloadError("author.name 必须是字符串")
    # Government boards take anonymous posts: no author id, shown as 匿名 (still deduplicated by
    # external_id; the reply goes back through the board by external_id, not to a person).
    name = name.strip() or ("" if author_id else ANONYMOUS)
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        raise PayloadError("content 不能为空")
    if len(content) > MAX_CONTENT_CHARS:
        raise PayloadError(f"content 超过 {MAX_CONTENT_CHARS} 字")
    received_at = _received_at(data.get("received_at"), now=now)
    return InboundItem(
        external_id=external_id.strip(),
        kind=cast(Kind, kind),
        author_id=author_id,
        author_name=name,
        content=content,
        received_at=received_at,
        thread_ref={"external_id": external_id.strip(), "author_id": author_id},
        raw=data,
    )


def receive(
    *,
    secrets: Mapping[str, str],
    external_id: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> InboundItem:
    """A signed message push (`verify`, then `parse`)."""
    verify(signing_secret(secrets, "hmac_secret"), headers, body, now=now)
    return parse(body, now=now)


def answer(*, secrets: Mapping[str, str], message_id: int | None, created: bool, now: datetime) -> Answer:
    """Like `POST /messages`: 201 with the id when new, 200 with the same id when delivered before."""
    payload = {"id": message_id, "status": "received", "duplicate": not created}
    return Answer(
        orjson.dumps(payload).decode(), media_type="application/json", status=201 if created else 200
    )


def receive_post(
    *, secrets: Mapping[str, str], headers: Mapping[str, str], body: bytes, now: datetime
) -> Post:
    """A signed `post` event (signed like a message push, `parse_post`)."""
    verify(signing_secret(secrets, "hmac_secret"), headers, body, now=now)
    return parse_post(body, now=now)


def publish(
    ctx: AccountContext, *, thread_ref: Mapping[str, str], text: str, idempotency_key: str, now: datetime
) -> PublishResult:
    """POST the approved reply to the account's `reply_url`, signed like the inbound webhook.

    Body: `{external_id, text, idempotency_key, published_at}`; the key also goes in `Idempotency-Key`.
    Any 2xx is sent; 429/5xx retry; other 4xx refused; a timeout or reset after connecting is unknown.
    """
    body = orjson.dumps(
        {
            "external_id": thread_ref.get("external_id", ""),
            "text": text,
            "idempotency_key": idempotency_key,
            "published_at": now.astimezone(UTC).isoformat(),
        }
    )
    headers = {
        "Content-Type": "application/json",
        IDEMPOTENCY_HEADER: idempotency_key,
        **signed_headers(ctx.secret("hmac_secret"), body, now=now),
    }
    try:
        response = ctx.http.post(ctx.secret("reply_url"), content=body, headers=headers)
    except httpx.HTTPError as exc:
        return transport_outcome(exc)
    status = response.status_code
    if 200 <= status < 300:
        return PublishResult("sent", platform_reply_id=_reply_id(response), reason="已发送")
    if status == 429 or status >= 500:
        return PublishResult(
            "retry",
            error_code=f"http_{status}",
            reason=f"对方系统暂时无法接收（HTTP {status}），将稍后重试",
            retry_after=_retry_after(response, now=now),
        )
    return PublishResult(
        "refused",
        error_code=f"http_{status}",
        reason=f"对方系统拒绝接收该回复（HTTP {status}）",
        detail=response.text[:500],
        alternative="请联系网站/APP 运维核对接口，或人工在原平台答复",
    )


def after_unknown(thread_ref: Mapping[str, str]) -> AfterUnknown:
    """The receiver deduplicates on the idempotency key (part of the integration contract): resend."""
    return AfterUnknown.RETRY


def max_reply_chars(thread_ref: Mapping[str, str]) -> int | None:
    return None


def _external_id(data: Mapping[str, Any]) -> str:
    """The body's `external_id`: a 1–128 character string (an integer is taken as its digits)."""
    external_id = data.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > MAX_ID_CHARS:
        raise PayloadError(f"external_id 必须是 1–{MAX_ID_CHARS} 个字符的字符串")
    return external_id


def _received_at(value: Any, *, now: datetime, name: str = "received_at") -> datetime:
    if value is None or value == "":
        return now.astimezone(UTC)
    if not isinstance(value, str):
        raise PayloadError(f"{name} 必须是 ISO 8601 时间字符串")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError(f"{name} 格式错误：{value}") from exc
    if parsed.tzinfo is None:
        raise PayloadError(f"{name} 必须带时区，例如 2024-05-01T09:30:00+08:00")
    if not EARLIEST <= parsed <= now + timedelta(days=1):
        raise PayloadError(f"{name} 超出合理范围：应在 2000-01-01 之后、当前时间一天之内")
    return parsed.astimezone(UTC)


def _reply_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("id") is not None:
        return str(data["id"])
    return None


def _retry_after(response: httpx.Response, *, now: datetime) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def parse_post(body: bytes, *, now: datetime, max_bytes: int = MAX_BODY_BYTES) -> Post:
    """Parse a signed `post` event `{external_id, posted_at, title?, url?}`: the website or app published
    something (the account was updated). `posted_at` must carry a timezone; absent means `now`.
    Raises PayloadError with the reason in Chinese."""
    check_size(body, max_bytes)
    data = json_object(body, name="请求体")
    external_id = _external_id(data)
    title, url = data.get("title") or "", data.get("url") or ""
    if not isinstance(title, str) or not isinstance(url, str) or len(title) > 200 or len(url) > 1000:
        raise PayloadError("title 不超过200字、url 不超过1000字符，且须为字符串")
    return Post(
        external_id=external_id.strip(),
        posted_at=_received_at(data.get("posted_at"), now=now, name="posted_at"),
        title=title,
        url=url,
    )


WEBHOOK = Webhook(receive=receive, answer=answer, receive_post=receive_post)
