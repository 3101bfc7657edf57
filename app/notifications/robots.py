"""Notifications (deadline notices, supervision notices, hot-topic alerts) to WeCom and DingTalk group
robots and to a signed generic JSON webhook.

One entry point, `send`; it never raises on a delivery failure, it says whether a retry can help.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from app import outbound

ChannelKind = Literal["wecom", "dingtalk", "webhook"]

DEFAULT_TIMEOUT = httpx.Timeout(10.0)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)

# WeCom robot: markdown content is limited to 4096 bytes of UTF-8.
WECOM_MARKDOWN_MAX_BYTES = 4096
# errcodes where waiting helps: -1 system busy, 45009 rate limit (20 messages/minute per robot),
# 45033 too many concurrent calls. Everything else (93000 invalid webhook key, 40058 bad body…)
# needs an administrator.
WECOM_RETRYABLE = frozenset({-1, 45009, 45033})
# DingTalk robot: -1 system busy, 130101 "send too fast, exceed 20 times per minute", 410100
# rate limited. 310000 (sign mismatch, keyword, IP, timestamp), 300001 (bad token) and 400102
# (robot disabled) need an administrator.
DINGTALK_RETRYABLE = frozenset({-1, 130101, 410100})

SIGNATURE_HEADER = "X-Huiying-Signature"
TIMESTAMP_HEADER = "X-Huiying-Timestamp"
DEDUPE_HEADER = "X-Huiying-Dedupe-Key"
WEBHOOK_EVENT = "sla.notification"


@dataclass(frozen=True)
class ChannelConfig:
    """Where a unit's notices go: a robot webhook URL (with its key/token) and an optional secret.

    `secret` is DingTalk's "加签" secret (SEC…) or the generic webhook's HMAC secret; WeCom robots
    have none (the key in the URL is the credential).
    """

    kind: ChannelKind
    url: str
    secret: str | None = None


@dataclass(frozen=True)
class Notification:
    """One notice. `text` is Chinese markdown; `dedupe_key` identifies it (message + step)."""

    title: str
    text: str
    urgent: bool
    dedupe_key: str


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retryable: bool
    detail: str


def backoff(attempt: int, *, base: timedelta = BACKOFF_BASE, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """Delay before retry number `attempt` (1-based): base · 2^(attempt-1), at most `cap`.

    Deterministic so that a scheduler test can predict it; the robots' limits are per minute, so
    the 30 s first step already clears a rate limit.
    """
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    # Cap the exponent before multiplying: 2**attempt for a large attempt would overflow timedelta.
    factor = 2 ** min(attempt - 1, 32)
    return min(base * factor, cap)


def send(
    channel: ChannelConfig,
    note: Notification,
    *,
    client: httpx.Client | None = None,
    now: datetime,
) -> SendResult:
    """Deliver `note` on `channel`. `now` (aware) stamps the DingTalk and webhook signatures.

    Network errors, timeouts, HTTP 408/429/5xx and the platforms' rate-limit errcodes are
    `retryable`; configuration errors (bad key, bad signature, HTTP 4xx) are not.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if client is None:
        with outbound.client(timeout=DEFAULT_TIMEOUT) as own:
            return send(channel, note, client=own, now=now)
    if channel.kind == "wecom":
        return _send_wecom(channel, note, client)
    if channel.kind == "dingtalk":
        return _send_dingtalk(channel, note, client, now)
    if channel.kind == "webhook":
        return _send_webhook(channel, note, client, now)
    return SendResult(ok=False, retryable=False, detail=f"不支持的通知渠道：{channel.kind}")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot signature: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")), not yet URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Header value `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, as for inbound webhooks."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _title(note: Notification) -> str:
    return f"【紧急】{note.title}" if note.urgent else note.title


def _json_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _truncate_utf8(text: str, limit: int) -> str:
    raw = text.encode()
    if len(raw) <= limit:
        return text
    ellipsis = "…".encode()
    # errors="ignore" drops a multi-byte character cut in half at the boundary.
    return raw[: limit - len(ellipsis)].decode(errors="ignore") + "…"


def _post(
    client: httpx.Client,
    url: str,
    body: bytes,
    headers: dict[str, str],
    query: dict[str, str] | None = None,
) -> httpx.Response | SendResult:
    try:
        target = httpx.URL(url)
        if query:
            # Merge into the URL's own query: `params=` on the request would replace it (and drop
            # DingTalk's access_token). The merge percent-encodes values (+, /, = of a base64 sign).
            target = target.copy_merge_params(query)
        return client.post(target, content=body, headers={"Content-Type": "application/json", **headers})
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        return SendResult(ok=False, retryable=False, detail="通知地址无效")
    except outbound.OutboundRefused as exc:
        return SendResult(ok=False, retryable=False, detail=exc.policy_reason)
    except httpx.HTTPError:
        # One answer for every transport failure, so that the result cannot tell ports apart.
        return SendResult(ok=False, retryable=True, detail="未能送达通知地址（网络错误或超时）")


def _http_failure(response: httpx.Response) -> SendResult | None:
    if response.is_success:
        return None
    status = response.status_code
    retryable = status in (408, 429) or status >= 500
    return SendResult(ok=False, retryable=retryable, detail=f"HTTP {status}")


def _robot_result(response: httpx.Response, platform: str, retryable_codes: frozenset[int]) -> SendResult:
    """WeCom and DingTalk answer HTTP 200 even on errors; the verdict is `errcode` in the body."""
    failure = _http_failure(response)
    if failure is not None:
        return failure
    try:
        body = response.json()
        errcode = int(body["errcode"])
    except (ValueError, KeyError, TypeError):
        return SendResult(ok=False, retryable=True, detail=f"{platform}返回无法识别的响应")
    if errcode == 0:
        return SendResult(ok=True, retryable=False, detail=f"{platform}已接收")
    # The errcode only: the remote body is never shown back (it could be another system's page).
    return SendResult(
        ok=False, retryable=errcode in retryable_codes, detail=f"{platform}返回错误 errcode={errcode}"
    )


def _send_wecom(channel: ChannelConfig, note: Notification, client: httpx.Client) -> SendResult:
    content = _truncate_utf8(f"## {_title(note)}\n{note.text}", WECOM_MARKDOWN_MAX_BYTES)
    payload = {"msgtype": "markdown", "markdown": {"content": content}}
    response = _post(client, channel.url, _json_bytes(payload), {})
    if isinstance(response, SendResult):
        return response
    return _robot_result(response, "企业微信", WECOM_RETRYABLE)


def _send_dingtalk(
    channel: ChannelConfig, note: Notification, client: httpx.Client, now: datetime
) -> SendResult:
    title = _title(note)
    payload = {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n\n{note.text}"}}
    query: dict[str, str] = {}
    if channel.secret:
        # DingTalk rejects a timestamp more than an hour away from its clock (errcode 310000);
        # percent-encoding the base64 sign in the query is the "urlEncode" step of its recipe.
        timestamp_ms = int(now.timestamp() * 1000)
        query = {"timestamp": str(timestamp_ms), "sign": dingtalk_sign(channel.secret, timestamp_ms)}
    response = _post(client, channel.url, _json_bytes(payload), {}, query)
    if isinstance(response, SendResult):
        return response
    return _robot_result(response, "钉钉", DINGTALK_RETRYABLE)


def _send_webhook(
    channel: ChannelConfig, note: Notification, client: httpx.Client, now: datetime
) -> SendResult:
    if not channel.secret:
        return SendResult(ok=False, retryable=False, detail="通用 Webhook 未配置签名密钥")
    payload = {
        "event": WEBHOOK_EVENT,
        "title": note.title,
        "text": note.text,
        "urgent": note.urgent,
        "dedupe_key": note.dedupe_key,
        "sent_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    body = _json_bytes(payload)
    timestamp = str(int(now.timestamp()))
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(channel.secret, timestamp, body),
    }
    # Header values must be ASCII; the key is also in the signed body for receivers that need it.
    if note.dedupe_key.isascii():
        headers[DEDUPE_HEADER] = note.dedupe_key
    response = _post(client, channel.url, body, headers)
    if isinstance(response, SendResult):
        return response
    failure = _http_failure(response)
    if failure is not None:
        return failure
    return SendResult(ok=True, retryable=False, detail=f"HTTP {response.status_code}")
