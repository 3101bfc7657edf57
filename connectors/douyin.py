"""Douyin (抖音) enterprise accounts: webhooks for private messages, comment polling, replies, tokens.

Reading order: `parse_webhook` (signature, `verify_webhook` handshake, `im_receive_msg` / echoes),
then `poll` (video comments), `publish`, `find_published`, `after_unknown`; `client_token` for
app-level calls. Replies use the operator's OAuth token (secrets `access_token` / `refresh_token`),
refreshed through `oauth/refresh_token/` and shared through the TokenStore.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from connectors.base import (
    MAX_BODY_BYTES,
    AccountContext,
    AfterUnknown,
    Authorization,
    Capability,
    CapabilityReport,
    Handshake,
    InboundItem,
    OutcomeUnknown,
    PayloadError,
    PlatformError,
    PlatformEvent,
    PollPage,
    PublishResult,
    RateLimited,
    SignatureError,
    StoredToken,
    TokenExpired,
    Webhook,
    as_dict,
    check_size,
    from_timestamp,
    header,
    json_object,
    json_of,
    mode_of,
    reply_json,
    same,
    seconds_until_china_midnight,
    signing_secret,
    transport_outcome,
)
from connectors.posts import POST_PAGE_SIZE, Post

API = "https://open.douyin.com"
SIGNATURE_HEADER = "X-Douyin-Signature"
DELIVERY_HEADER = "Msg-Id"
PAGE_SIZE = 50
# The webhook event for a comment (or a reply) under the account's videos ("评论回复事件").
COMMENT_EVENT = "item_comment_reply"

# Old and new generations of the platform's common codes.
TOKEN_EXPIRED_CODES = frozenset({10008, 2190002, 2190008, 28001003, 28001008})
REAUTHORIZE_CODES = frozenset({10010, 10020, 28001012})  # refresh token dead or scope not granted
RATE_LIMIT_CODES = frozenset({28003018})
QUOTA_CODES = frozenset({2190001, 28003017})
# 2100004 is "system busy" but also what a wrongly typed parameter gets: not retried (it would loop).
TRANSIENT_CODES = frozenset({-1, 28001005, 28001006})
# Scopes the service uses. The enterprise comment scope is closed to new applicants ("内测结束暂不开放"/
# "当前能力内测名额已满，已暂停申请", developer.open-douyin.com 企业号开放能力 › 评论管理(企业号) › 评论列表),
# and private messages admit no new applicants ("不支持新增准入"): most new deployments have neither.
COMMENT_SCOPE = "video.comment"
IM_SCOPE = "im.direct_message"
# A private message may be answered within 24 hours of the citizen's last message.
PRIVATE_WINDOW_HOURS = 24
# Renew the refresh token (30 days) when it has less than this left.
RENEW_BEFORE = timedelta(days=7)
_REFUSALS: dict[int, tuple[str, str | None]] = {
    2100004: ("抖音拒绝该请求（参数类型错误或系统繁忙），未重试", "请在抖音企业号后台人工回复"),
    2100005: ("抖音认为请求参数不合法（会话或评论可能已失效）", "请在抖音企业号后台人工回复"),
    28001007: ("抖音认为请求参数不合法（会话或评论可能已失效）", "请在抖音企业号后台人工回复"),
    2100007: ("账号没有该操作的权限", "请在抖音开放平台申请相应能力后重试，或在后台人工回复"),
    2100009: ("用户被封禁，无法回复", None),
}


def parse_webhook(
    *,
    client_secret: str,
    headers: Mapping[str, str],
    body: bytes,
    account_open_id: str | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> InboundItem | PlatformEvent | Handshake:
    """Verify and parse one webhook POST.

    `X-Douyin-Signature` = SHA-1 hex of (client_secret + raw body), compared in constant time.
    The body carries no signed timestamp, so replays are stopped by deduplication on the message id
    (`Msg-Id` / `server_message_id`), not by a time window.
    Douyin sends every authorised account's events to the app's one webhook URL: a private message
    names its account in `thread_ref["account_open_id"]`; given `account_open_id`, a message of
    another account is refused (SignatureError). Raises SignatureError, PayloadError.
    """
    check_size(body, max_bytes)
    signature = header(headers, SIGNATURE_HEADER)
    expected = hashlib.sha1(client_secret.encode() + body).hexdigest()  # noqa: S324 - the platform's scheme
    event = json_object(body)
    name = str(event.get("event", ""))
    if name == "verify_webhook" and not signature:
        # The URL check may arrive unsigned; echoing its challenge reveals nothing and stores nothing.
        return _handshake(event)
    if not client_secret or not signature or not same(expected, signature):
        raise SignatureError("抖音推送签名（X-Douyin-Signature）不匹配")
    if name == "verify_webhook":
        return _handshake(event)
    content = _content_object(event.get("content"))
    delivery = header(headers, DELIVERY_HEADER)
    sender, receiver = str(event.get("from_user_id", "")), str(event.get("to_user_id", ""))
    if name in ("im_receive_msg", "im_send_msg"):
        return _im_item(name, event, content, delivery=delivery, account_open_id=account_open_id)
    if name == COMMENT_EVENT:
        return _comment_event(event, content, account_open_id=account_open_id)
    if not delivery:
        raise PayloadError("推送缺少 Msg-Id")
    created = content.get("create_time") or event.get("create_time")
    # Lifecycle events (authorize, …) may carry no time; the epoch stands for "not given".
    occurred = from_timestamp(created) if created else datetime.fromtimestamp(0, UTC)
    return PlatformEvent(
        dedupe_key=delivery, name=name, author_id=sender or receiver, occurred_at=occurred, raw=event
    )


def receive(
    *,
    secrets: Mapping[str, str],
    external_id: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> InboundItem | PlatformEvent | Handshake:
    """A webhook POST to the app's address (`parse_webhook`); the account it names is `owner`'s."""
    return parse_webhook(client_secret=signing_secret(secrets, "client_secret"), headers=headers, body=body)


def owner(item: InboundItem) -> str:
    """The open_id of the account a private message belongs to ("" when the push does not say)."""
    return item.thread_ref.get("account_open_id", "")


# Every authorised account's events come to the app's one URL; they share the app's client secret.
WEBHOOK = Webhook(receive=receive, owner=owner, same_app="client_secret")


def poll(ctx: AccountContext, *, target: str, cursor: str | None, now: datetime) -> PollPage:
    """One page of a video's comments (`target` = item_id).

    The list's documented default order is "推荐序" (recommended, not by time) and the enterprise
    path documents no time order, so a cursor at the end says nothing about where new comments land:
    each pass reads the whole list and, once the platform says there is no more, the cursor goes back
    to the start (None) for the next pass. Comments already stored are not stored again (their id).
    Raises RateLimited, TokenExpired, PlatformError.
    """
    params = {
        "open_id": ctx.external_id,
        "item_id": target,
        "cursor": cursor or "0",
        "count": str(PAGE_SIZE),
    }
    data = _poll_call(ctx, "GET", "/video/comment/list/", params=params, now=now)
    comments = data.get("list") or []
    items = [_comment_item(c, item_id=target, account_open_id=ctx.external_id) for c in comments]
    has_more = bool(data.get("has_more")) and bool(comments)
    next_cursor = str(data.get("cursor") if data.get("cursor") is not None else cursor or "0")
    return PollPage(items=items, next_cursor=next_cursor if has_more else None, has_more=has_more)


def publish(
    ctx: AccountContext, *, thread_ref: Mapping[str, str], text: str, idempotency_key: str, now: datetime
) -> PublishResult:
    """Reply to a video comment (`item_id` + `comment_id`) or to a private message (conversation).

    Douyin has no idempotency key; `idempotency_key` is accepted for the common interface only.
    Raises TokenExpired when the operator must authorise the app again; nothing was sent then.
    """
    if _is_comment(thread_ref):
        path = "/video/comment/reply/"
        payload: dict[str, Any] = {
            "item_id": thread_ref["item_id"],
            "comment_id": thread_ref["comment_id"],
            "content": text,
        }
    elif thread_ref.get("conversation_id") and thread_ref.get("msg_id") and thread_ref.get("to_user_id"):
        path = "/im/send/msg/"
        payload = {
            "msg_id": thread_ref["msg_id"],
            "conversation_id": thread_ref["conversation_id"],
            "to_user_id": thread_ref["to_user_id"],
            # No `scene`: it is optional, and its documented spelling differs between sources
            # ("im_replay_msg" vs "im_reply_msg"); a reply is identified by msg_id already.
            "content": {"msg_type": 1, "text": {"text": text}},
        }
    else:
        return PublishResult("refused", error_code="bad_thread", reason="缺少回复所需的评论或会话信息")
    try:
        data = _call(ctx, "POST", path, params={"open_id": ctx.external_id}, payload=payload, now=now)
    except httpx.HTTPError as exc:
        return transport_outcome(exc)
    except OutcomeUnknown as exc:
        return PublishResult("unknown", error_code=exc.code, reason=exc.message)
    except RateLimited as exc:
        return PublishResult("retry", error_code=exc.code, reason=exc.message, retry_after=exc.retry_after)
    except PlatformError as exc:  # getting a token, or the platform busy: nothing was sent
        return PublishResult("retry", error_code=exc.code, reason=exc.message, retry_after=30.0)
    except _DouyinError as exc:
        reason, alternative = _REFUSALS.get(
            exc.code, (f"抖音拒绝发送：{exc.message}（错误码 {exc.code}）", "请在抖音企业号后台人工回复")
        )
        return PublishResult("refused", error_code=str(exc.code), reason=reason, alternative=alternative)
    reply_id = str(data.get("comment_id") or data.get("msg_id") or "") or None
    return PublishResult("sent", platform_reply_id=reply_id, reason="已发送")


def find_published(
    ctx: AccountContext, *, thread_ref: Mapping[str, str], text: str, now: datetime, pages: int = 5
) -> PublishResult | None:
    """After an unknown outcome: is a reply by the account with this text under the comment?

    `sent` if found, None if all replies were read without finding it; PlatformError if the
    search had to stop early (the outbox should then hold the reply for a person).
    """
    if not _is_comment(thread_ref):
        raise PlatformError("抖音私信无法在平台核实是否已送达", code="not_checkable")
    cursor = "0"
    for _ in range(pages):
        params = {
            "open_id": ctx.external_id,
            "item_id": thread_ref["item_id"],
            "comment_id": thread_ref["comment_id"],
            "cursor": cursor,
            "count": str(PAGE_SIZE),
        }
        data = _poll_call(ctx, "GET", "/video/comment/reply/list/", params=params, now=now)
        for reply in data.get("list") or []:
            mine = str(reply.get("comment_user_id", "")) == ctx.external_id
            if mine and str(reply.get("content", "")).strip() == text.strip():
                reply_id = str(reply.get("comment_id", "")) or None
                return PublishResult("sent", platform_reply_id=reply_id, reason="已在平台核实到该回复")
        if not data.get("has_more"):
            return None
        cursor = str(data.get("cursor", cursor))
    # Not seen, but not everything was read: "not sent" would risk a double post.
    raise PlatformError("回复过多，未能核实是否已发布，请人工确认", code="inconclusive")


def after_unknown(thread_ref: Mapping[str, str]) -> AfterUnknown:
    """Comment replies can be listed; a private reply cannot be queried (an `im_send_msg` echo may
    still arrive and be linked by the app), so it is held for a person."""
    return AfterUnknown.CHECK if _is_comment(thread_ref) else AfterUnknown.HOLD


def max_reply_chars(thread_ref: Mapping[str, str]) -> int | None:
    """Douyin documents no fixed limit for these replies; an over-long one comes back as a refusal."""
    return None


def client_token(ctx: AccountContext, *, now: datetime) -> str:
    """The app-level `client_token` (2 hours), cached in the TokenStore. Raises TokenExpired, PlatformError."""
    key = f"douyin:{ctx.secret('client_key')}:client"
    cached = ctx.tokens.get(key)
    if cached and cached.fresh(now):
        return cached.access_token
    payload = {
        "client_key": ctx.secret("client_key"),
        "client_secret": ctx.secret("client_secret"),
        "grant_type": "client_credential",
    }
    data = _token_data(_oauth(ctx, "/oauth/client_token/", json=payload), now=now, what="client_token")
    token = StoredToken(
        str(data["access_token"]), now + timedelta(seconds=int(data.get("expires_in") or 7200))
    )
    ctx.tokens.set(key, token)
    return token.access_token


# --- user access token ------------------------------------------------------------------------------------


def _user_token_key(ctx: AccountContext) -> str:
    return f"douyin:{ctx.secret('client_key')}:{ctx.external_id}"


def _user_token(ctx: AccountContext, *, now: datetime, rejected: str | None = None) -> str:
    """The operator's access token: from the store, else the configured one; refreshed when it expired
    (by date, or `rejected` by the platform) and another process has not refreshed it already."""
    key = _user_token_key(ctx)
    stored = ctx.tokens.get(key) or _seeded(ctx, now=now)
    if stored.fresh(now) and stored.access_token != rejected:
        return stored.access_token
    refreshed = _refresh(ctx, stored, now=now)
    ctx.tokens.set(key, refreshed)
    return refreshed.access_token


def _seeded(ctx: AccountContext, *, now: datetime) -> StoredToken:
    """The token configured in the account's secrets; its lifetime is unknown until the platform says."""
    return StoredToken(ctx.secret("access_token"), now + timedelta(days=15), ctx.secrets.get("refresh_token"))


def _refresh(ctx: AccountContext, stored: StoredToken, *, now: datetime) -> StoredToken:
    return _refreshed(_refresh_data(ctx, stored, now=now), stored, now=now)


def _refresh_data(ctx: AccountContext, stored: StoredToken, *, now: datetime) -> dict[str, Any]:
    """POST /oauth/refresh_token/ (form: client_key, grant_type, refresh_token); the answer's `data`."""
    if not stored.refresh_token:
        raise TokenExpired("抖音授权已过期且没有 refresh_token，请重新扫码授权", code="no_refresh_token")
    form = {
        "client_key": ctx.secret("client_key"),
        "grant_type": "refresh_token",
        "refresh_token": stored.refresh_token,
    }
    return _token_data(_oauth(ctx, "/oauth/refresh_token/", form=form), now=now, what="access_token")


def _refreshed(data: Mapping[str, Any], stored: StoredToken, *, now: datetime) -> StoredToken:
    """The token a refresh answer describes (developer.open-douyin.com 用户授权 › 刷新 access_token:
    `expires_in` / `refresh_expires_in` are strings of seconds; refreshing keeps the refresh token
    and its expiry unless the platform hands out new ones)."""
    expires_in = _seconds(data.get("expires_in")) or 15 * 24 * 3600
    refresh_in = _seconds(data.get("refresh_expires_in"))
    return StoredToken(
        str(data["access_token"]),
        now + timedelta(seconds=expires_in),
        str(data.get("refresh_token") or stored.refresh_token),
        now + timedelta(seconds=refresh_in) if refresh_in else stored.refresh_expires_at,
    )


def _seconds(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def renew_refresh_token(ctx: AccountContext, *, now: datetime) -> StoredToken:
    """A new refresh token (30 days) before the old one dies: POST /oauth/renew_refresh_token/
    (form `client_key`, `refresh_token`; needs the renew_refresh_token permission, and the platform
    caps how often it may be done: 10020). Stores and returns the token; raises TokenExpired when a
    person must authorise again, PlatformError / RateLimited otherwise."""
    key = _user_token_key(ctx)
    stored = ctx.tokens.get(key) or _seeded(ctx, now=now)
    if not stored.refresh_token:
        raise TokenExpired("抖音授权没有 refresh_token，请重新扫码授权", code="no_refresh_token")
    form = {"client_key": ctx.secret("client_key"), "refresh_token": stored.refresh_token}
    body = _oauth(ctx, "/oauth/renew_refresh_token/", form=form)
    data = as_dict(body.get("data"))
    code = _code(body)
    if code != 0 or not data.get("refresh_token"):
        if code in TRANSIENT_CODES:
            raise PlatformError("抖音系统繁忙，续期 refresh_token 失败", code=str(code), transient=True)
        description = str(data.get("description") or body.get("message") or "")
        raise TokenExpired(
            f"抖音 refresh_token 无法续期：{description}（错误码 {code}），请在到期前重新扫码授权",
            code=str(code),
        )
    renewed = StoredToken(
        stored.access_token,
        stored.expires_at,
        str(data["refresh_token"]),
        now + timedelta(seconds=_seconds(data.get("expires_in")) or 30 * 24 * 3600),
    )
    ctx.tokens.set(key, renewed)
    return renewed


def check(ctx: AccountContext, *, now: datetime) -> CapabilityReport:
    """What the account can do: refresh the token (its answer names the granted scopes and both
    expiries), renew the refresh token when it has under 7 days left, and map the scopes.

    Without the comment and private-message scopes the account is import-only: messages are
    imported and answered in the Douyin back office. Raises nothing for credentials (reported as
    needs_credentials); PlatformError / RateLimited when the platform could not be asked.
    """
    key = _user_token_key(ctx)
    try:
        stored = ctx.tokens.get(key) or _seeded(ctx, now=now)
        data = _refresh_data(ctx, stored, now=now)
        token = _refreshed(data, stored, now=now)
        ctx.tokens.set(key, token)
        if token.refresh_expires_at is not None and token.refresh_expires_at - now < RENEW_BEFORE:
            # A refusal is reported through refresh_expires_at: the expiry alert asks for re-authorisation.
            with suppress(TokenExpired):
                token = renew_refresh_token(ctx, now=now)
    except TokenExpired as exc:
        return CapabilityReport(mode="needs_credentials", reason=exc.message, capabilities=[])
    scopes = sorted({s.strip() for s in str(data.get("scope") or "").split(",") if s.strip()})
    return report(scopes, token_expires_at=token.expires_at, refresh_expires_at=token.refresh_expires_at)


def authorize_url(*, secrets: Mapping[str, str], redirect_uri: str, state: str) -> str:
    """Where the enterprise account's operator scans to authorise the app again
    (/platform/oauth/connect/: client_key, response_type=code, scope, redirect_uri, state)."""
    client_key = secrets.get("client_key")
    if not client_key:
        raise TokenExpired("账号缺少密钥 client_key，请在账号设置中补充", code="missing_secret")
    query = {
        "client_key": client_key,
        "response_type": "code",
        "scope": ",".join(("user_info", COMMENT_SCOPE, IM_SCOPE)),
        "redirect_uri": redirect_uri,
        "state": state,
    }
    return f"{API}/platform/oauth/connect/?{urlencode(query)}"


def exchange_code(ctx: AccountContext, *, code: str, redirect_uri: str, now: datetime) -> Authorization:
    """The scanned code for the operator's tokens: POST /oauth/access_token/ JSON {client_key,
    client_secret, code, grant_type=authorization_code}; `data` like the refresh answer plus open_id
    and scope (用户授权 › 获取 access_token). The token is stored for the account at once."""
    payload = {
        "client_key": ctx.secret("client_key"),
        "client_secret": ctx.secret("client_secret"),
        "code": code,
        "grant_type": "authorization_code",
    }
    data = _token_data(_oauth(ctx, "/oauth/access_token/", json=payload), now=now, what="access_token")
    if str(data.get("open_id") or "") != ctx.external_id:
        raise PlatformError("扫码授权的抖音账号与本账号不符，请用本账号重新扫码", code="wrong_account")
    token = _refreshed(data, StoredToken("", now, None), now=now)
    ctx.tokens.set(_user_token_key(ctx), token)
    return Authorization(
        user_id=str(data.get("open_id") or ""),
        token=token,
        scopes=sorted({s.strip() for s in str(data.get("scope") or "").split(",") if s.strip()}),
    )


def report(
    scopes: list[str], *, token_expires_at: datetime | None, refresh_expires_at: datetime | None
) -> CapabilityReport:
    """The capability report for the granted `scopes`."""
    comments = COMMENT_SCOPE in scopes
    private = IM_SCOPE in scopes
    closed = "抖音已暂停该能力的新增准入"
    capabilities = [
        Capability(
            "poll_comments",
            "拉取视频评论",
            comments,
            "" if comments else f"未授权 {COMMENT_SCOPE}（{closed}）",
        ),
        Capability(
            "reply_comments",
            "回复视频评论",
            comments,
            "" if comments else f"未授权 {COMMENT_SCOPE}（{closed}）",
        ),
        Capability(
            "receive_private", "接收私信", private, "" if private else f"未授权 {IM_SCOPE}（{closed}）"
        ),
        Capability(
            "reply_private",
            "回复私信（24小时内）",
            private,
            "" if private else f"未授权 {IM_SCOPE}（{closed}）",
        ),
    ]
    mode = mode_of(capabilities)
    if mode == "import_only":
        reason = (
            f"仅导入：账号未获得评论（{COMMENT_SCOPE}）与私信（{IM_SCOPE}）授权，抖音已停止这两项能力的新增准入；"
            "请通过导入接收留言，并在抖音企业号后台人工答复后登记"
        )
    elif mode == "limited":
        reason = "；".join(c.reason for c in capabilities if not c.available)
    else:
        reason = ""
    return CapabilityReport(
        mode=mode,
        reason=reason,
        capabilities=capabilities,
        scopes=scopes,
        windows={"private": PRIVATE_WINDOW_HOURS},
        token_expires_at=token_expires_at,
        refresh_expires_at=refresh_expires_at,
    )


def _oauth(
    ctx: AccountContext,
    path: str,
    *,
    json: Mapping[str, Any] | None = None,
    form: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """POST to a token endpoint (JSON or form, as each is documented); its answer, whatever its code.
    A network failure is a transient PlatformError: nothing changed on the platform."""
    try:
        if json is not None:
            response = ctx.http.post(f"{API}{path}", content=orjson.dumps(json), headers=_JSON)
        else:
            response = ctx.http.post(f"{API}{path}", data=form)
    except httpx.HTTPError as exc:
        raise PlatformError(f"连接抖音授权接口 {path} 时网络错误", code="network", transient=True) from exc
    return _token_json(response)


def _token_json(response: httpx.Response) -> dict[str, Any]:
    try:
        return json_of(response)
    except PlatformError as exc:
        raise PlatformError(exc.message, code=exc.code, transient=True) from exc


def _token_data(body: dict[str, Any], *, now: datetime, what: str) -> dict[str, Any]:
    data = as_dict(body.get("data"))
    code = _code(body)
    if code == 0 and data.get("access_token"):
        return data
    if code in TRANSIENT_CODES:
        raise PlatformError(f"抖音系统繁忙，获取 {what} 失败", code=str(code), transient=True)
    if code in RATE_LIMIT_CODES:
        raise RateLimited(f"获取 {what} 过于频繁", retry_after=60.0, code=str(code))
    description = str(data.get("description") or body.get("message") or "")
    raise TokenExpired(f"抖音授权失效：{description}（错误码 {code}），请重新扫码授权", code=str(code))


# --- calls ------------------------------------------------------------------------------------------------


class _DouyinError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


_JSON = {"Content-Type": "application/json"}


def _call(
    ctx: AccountContext,
    method: str,
    path: str,
    *,
    params: Mapping[str, str],
    payload: Mapping[str, Any] | None = None,
    now: datetime,
) -> dict[str, Any]:
    """Call the API with the operator's token; on an expired token refresh once and repeat.

    Returns `data`; raises _DouyinError for a refusal, RateLimited / PlatformError / TokenExpired.
    Transport errors of the call itself propagate as httpx errors (token errors never do).
    """
    token = _user_token(ctx, now=now)
    for attempt in (1, 2):
        headers = {**_JSON, "access-token": token}
        content = orjson.dumps(payload) if payload is not None else None
        response = ctx.http.request(method, f"{API}{path}", params=params, content=content, headers=headers)
        body = reply_json(response)
        code = _code(body)  # errors arrive with HTTP 200, in data.error_code / extra.error_code / err_no
        data = as_dict(body.get("data"))
        if code == 0:
            return data
        if code in TOKEN_EXPIRED_CODES and attempt == 1:
            token = _user_token(ctx, now=now, rejected=token)
            continue
        if code in TOKEN_EXPIRED_CODES or code in REAUTHORIZE_CODES:
            raise TokenExpired("抖音授权已失效，请运营人员重新扫码授权", code=str(code))
        if code in RATE_LIMIT_CODES:
            raise RateLimited("抖音接口调用过于频繁", retry_after=60.0, code=str(code))
        if code in QUOTA_CODES:
            raise RateLimited(
                "抖音接口今日配额已用完", retry_after=seconds_until_china_midnight(now), code=str(code)
            )
        message = str(
            data.get("description")
            or body.get("err_msg")
            or (body.get("extra") or {}).get("description")
            or ""
        )
        if code in TRANSIENT_CODES:
            raise PlatformError(f"抖音系统繁忙：{message}", code=str(code), transient=True)
        raise _DouyinError(code, message)
    raise AssertionError("unreachable")


def _poll_call(
    ctx: AccountContext, method: str, path: str, *, params: Mapping[str, str], now: datetime
) -> dict[str, Any]:
    try:
        return _call(ctx, method, path, params=params, now=now)
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"连接抖音失败：{exc.__class__.__name__}", code="network", transient=True
        ) from exc
    except OutcomeUnknown as exc:
        raise PlatformError(exc.message, code=exc.code, transient=True) from exc
    except _DouyinError as exc:
        raise PlatformError(f"抖音返回错误：{exc.message}（错误码 {exc.code}）", code=str(exc.code)) from exc


def _code(body: Mapping[str, Any]) -> int:
    """The first non-zero error code among the places Douyin puts them."""
    data = as_dict(body.get("data"))
    extra = as_dict(body.get("extra"))
    for value in (
        data.get("error_code"),
        extra.get("error_code"),
        body.get("err_no"),
        body.get("error_code"),
    ):
        try:
            code = int(value) if value is not None else 0
        except (TypeError, ValueError):
            code = -1
        if code:
            return code
    return 0


# --- parsing ----------------------------------------------------------------------------------------------


def _im_item(
    name: str,
    event: Mapping[str, Any],
    content: Mapping[str, Any],
    *,
    delivery: str,
    account_open_id: str | None,
) -> InboundItem:
    sender, receiver = str(event.get("from_user_id", "")), str(event.get("to_user_id", ""))
    message_id = str(content.get("server_message_id") or delivery)
    if not message_id or not sender:
        raise PayloadError("私信推送缺少消息编号或发送方")
    # im_send_msg is the account's own message coming back (including our API replies).
    is_echo = name == "im_send_msg"
    citizen, account = (receiver, sender) if is_echo else (sender, receiver)
    if account_open_id is not None and account != account_open_id:
        raise SignatureError("推送不属于本账号")
    nickname = next(
        (
            str(u.get("nick_name", ""))
            for u in content.get("user_infos") or []
            if str(u.get("open_id")) == citizen
        ),
        "",
    )
    return InboundItem(
        external_id=message_id,
        kind="private",
        author_id=sender,
        author_name=nickname if not is_echo else "",
        content=_im_text(content),
        received_at=from_timestamp(content.get("create_time") or 0),  # 13-digit milliseconds
        thread_ref={
            "conversation_id": str(content.get("conversation_short_id", "")),
            "msg_id": message_id,
            "to_user_id": citizen,
            "account_open_id": account,
        },
        is_echo=is_echo,
        raw={**event, "content": dict(content), "msg_id_header": delivery},
    )


def _comment_event(
    event: Mapping[str, Any], content: Mapping[str, Any], *, account_open_id: str | None
) -> InboundItem:
    """A comment pushed by the `item_comment_reply` webhook: the same item a comment poll yields, so
    a comment seen both ways is stored once (same `external_id`). `to_user_id` is the video's owner."""
    account = str(event.get("to_user_id", ""))
    if account_open_id is not None and account != account_open_id:
        raise SignatureError("推送不属于本账号")
    item_id = str(content.get("reply_to_item_id", ""))
    if not item_id:
        raise PayloadError("评论推送缺少 reply_to_item_id")
    item = _comment_item(content, item_id=item_id, account_open_id=account)
    raw = {**event, "content": dict(content)}
    thread_ref = {**item.thread_ref, "account_open_id": account}
    parent = str(content.get("reply_to_comment_id") or "")
    if parent and parent != item_id:
        thread_ref["reply_to_comment_id"] = parent
    return InboundItem(
        external_id=item.external_id,
        kind="comment",
        author_id=item.author_id,
        author_name=str(content.get("nick_name", "")),
        content=item.content,
        received_at=item.received_at,
        thread_ref=thread_ref,
        is_echo=item.is_echo,
        raw=raw,
    )


def _im_text(content: Mapping[str, Any]) -> str:
    message_type = str(content.get("message_type", ""))
    text = content.get("text")
    if isinstance(text, dict):
        text = text.get("text")
    if message_type in ("text", "") and text:
        return str(text)
    label = {"image": "[图片]", "user_local_image": "[图片]", "emoji": "[表情]", "video": "[视频]"}
    return label.get(message_type, f"[{message_type or '未知消息'}]")


def _comment_item(comment: Mapping[str, Any], *, item_id: str, account_open_id: str) -> InboundItem:
    comment_id = str(comment.get("comment_id", ""))
    if not comment_id:
        raise PayloadError("评论缺少 comment_id")
    author = str(comment.get("comment_user_id", ""))
    return InboundItem(
        external_id=comment_id,
        kind="comment",
        author_id=author,
        author_name="",
        content=str(comment.get("content", "")),
        received_at=from_timestamp(comment.get("create_time") or 0),
        thread_ref={"item_id": item_id, "comment_id": comment_id},
        is_echo=bool(account_open_id) and author == account_open_id,
        raw=dict(comment),
    )


def _content_object(value: Any) -> dict[str, Any]:
    """`content` is an object in some events and a JSON string in others."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise PayloadError("推送的 content 不是合法的 JSON") from exc
        if isinstance(parsed, dict):
            return parsed
    if value in (None, ""):
        return {}
    raise PayloadError("推送的 content 格式错误")


def _handshake(event: Mapping[str, Any]) -> Handshake:
    challenge = _content_object(event.get("content")).get("challenge")
    if challenge is None:
        raise PayloadError("verify_webhook 缺少 challenge")
    return Handshake(body=orjson.dumps({"challenge": challenge}).decode())


def _is_comment(thread_ref: Mapping[str, str]) -> bool:
    return bool(thread_ref.get("item_id") and thread_ref.get("comment_id"))


# --- the account's own posts (视频列表) ---------------------------------------------------------------


def list_posts(ctx: AccountContext, *, now: datetime) -> list[Post]:
    """The account's newest videos (`/video/list/`, scope `video.list`), newest first; a pinned video
    (`is_top`) comes first on the platform, so the list is sorted by `create_time` here.

    Raises RateLimited, TokenExpired, PlatformError."""
    params = {"open_id": ctx.external_id, "cursor": "0", "count": str(POST_PAGE_SIZE)}
    data = _poll_call(ctx, "GET", "/video/list/", params=params, now=now)
    posts = [
        Post(
            external_id=str(video["item_id"]),
            posted_at=from_timestamp(video["create_time"]),
            title=str(video.get("title") or ""),
            url=str(video.get("share_url") or ""),
        )
        for video in data.get("list") or []
        if video.get("item_id") and video.get("create_time")
    ]
    posts.sort(key=lambda p: p.posted_at, reverse=True)
    return posts
