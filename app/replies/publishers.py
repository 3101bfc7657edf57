"""From an account and a message to the right connector call: which platform module, which secrets,
which thread (message.thread_ref), and how long a reply may be there."""

from __future__ import annotations

from datetime import datetime

import httpx

from app.accounts.models import Account
from app.accounts.service import secrets_of
from app.channels.context import DbTokenStore, shared_http
from app.errors import Invalid
from app.messages.models import Message
from connectors import registry
from connectors.base import (
    AccountContext,
    AfterUnknown,
    ConnectorError,
    PlatformError,
    PublishResult,
    TokenStore,
)

PLATFORM_LABELS = {"wechat": "微信公众号", "weibo": "微博", "douyin": "抖音", "generic": "网站/APP"}
CHANNEL_LABELS = {"comment": "评论回复", "private": "私信回复", "mention": "回复"}


def default_tokens() -> TokenStore:
    """Platform tokens shared by every process, kept in the database by the channels domain."""
    return DbTokenStore()


def default_http() -> httpx.Client:
    """The process's shared HTTP client for platform calls."""
    return shared_http()


def connector(platform: str) -> registry.Connector:
    try:
        return registry.get(platform)
    except KeyError:
        raise Invalid(f"不支持的平台：{platform}") from None


def thread_ref(message: Message) -> dict[str, str]:
    """The platform context a reply needs, as strings; website/app messages fall back to their ids."""
    ref = {str(k): str(v) for k, v in (message.thread_ref or {}).items() if v is not None}
    if message.platform == "generic":
        ref.setdefault("external_id", message.external_id)
        ref.setdefault("author_id", message.author_id)
    return ref


def reply_limit(message: Message) -> int | None:
    """The most characters a reply to this message may have on its platform (None: no fixed limit)."""
    return connector(message.platform).max_reply_chars(thread_ref(message))


def check_length(*, message: Message, text: str) -> None:
    """422 when `text` is longer than the platform takes; replies are never cut at publishing."""
    limit = reply_limit(message)
    if limit is not None and len(text) > limit:
        channel = PLATFORM_LABELS.get(message.platform, message.platform) + CHANNEL_LABELS.get(
            message.kind, "回复"
        )
        raise Invalid(
            f"答复共 {len(text)} 字，超过{channel}的上限 {limit} 字，请精简后再提交（发布时不会截断）",
            code="reply_too_long",
            details={"length": len(text), "limit": limit},
        )


def context(*, account: Account, http: httpx.Client, tokens: TokenStore) -> AccountContext:
    return AccountContext(
        key=str(account.id),
        external_id=account.external_id,
        secrets=secrets_of(account),
        http=http,
        tokens=tokens,
    )


def publish(
    *,
    account: Account,
    message: Message,
    text: str,
    idempotency_key: str,
    now: datetime,
    http: httpx.Client,
    tokens: TokenStore,
) -> PublishResult:
    """Sends the reply. Credentials a person must fix come back as a refusal (nothing was sent)."""
    ctx = context(account=account, http=http, tokens=tokens)
    try:
        return connector(message.platform).publish(
            ctx, thread_ref=thread_ref(message), text=text, idempotency_key=idempotency_key, now=now
        )
    except ConnectorError as exc:
        # Connectors raise (rather than return) only before anything is sent: missing or expired credentials.
        return PublishResult(
            "refused",
            error_code=exc.code or "credentials",
            reason=exc.message,
            alternative="请更新账号授权或密钥后点“重新发布”，或人工送达",
        )


def after_unknown(message: Message) -> AfterUnknown:
    """What may follow an unknown outcome on this message's channel: check, resend, or hold."""
    return connector(message.platform).after_unknown(thread_ref(message))


def find_published(
    *,
    account: Account,
    message: Message,
    text: str,
    now: datetime,
    http: httpx.Client,
    tokens: TokenStore,
) -> PublishResult | None:
    """`sent` if the reply is already on the platform, None if it is not.

    Raises ConnectorError (PlatformError, RateLimited, TokenExpired) when the platform cannot tell now."""
    finder = connector(message.platform).find_published
    if finder is None:
        raise PlatformError("该平台无法核实回复是否已发布", code="not_checkable")
    ctx = context(account=account, http=http, tokens=tokens)
    try:
        return finder(ctx, thread_ref=thread_ref(message), text=text, now=now)
    except httpx.HTTPError as exc:
        raise PlatformError("连接平台失败，暂时无法核实", code="network") from exc
