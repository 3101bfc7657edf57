"""Weibo (微博): poll comments to the account, reply to them, and fans-service private messages.

Reading order: `poll` (comments/to_me with a since_id cursor), `publish`, `find_published`,
`after_unknown`; the fans-service push: `check_signature` (GET) and `parse_push` (POST, JSON).
Ids are kept as strings (`idstr`): they exceed what JSON numbers hold exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from connectors.base import (
    MAX_BODY_BYTES,
    REPLAY_WINDOW,
    AccountContext,
    AfterUnknown,
    Authorization,
    Capability,
    CapabilityReport,
    InboundItem,
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
    check_window,
    handshake_fields,
    json_object,
    json_of,
    mode_of,
    same,
    seconds_until_next_hour,
    signing_secret,
    sorted_sha1,
    transport_outcome,
)
from connectors.posts import POST_PAGE_SIZE, Post

API = "https://api.weibo.com/2"
MESSAGES_API = "https://m.api.weibo.com/2"  # fans-service platform (粉丝服务平台)
OAUTH_API = "https://api.weibo.com/oauth2"
MAX_COMMENT_CHARS = 140
MAX_PRIVATE_CHARS = 299  # "文本大小必须小于300个汉字"
PAGE_SIZE = 100
# Poll targets: "" = comments to the account; these two = @-mentions of the account.
MENTION_TARGETS = {
    "mentions": (
        "comments/mentions.json",
        "comments",
    ),  # @ in comments (open.weibo.com/wiki/2/comments/mentions)
    "status_mentions": ("statuses/mentions.json", "statuses"),  # @ in posts (wiki/2/statuses/mentions)
}
# Fans-service private messages (and @-mentions answered privately) may be answered within 48 hours;
# a mention gets a single private reply in that time.
PRIVATE_WINDOW_HOURS = 48

TOKEN_EXPIRED_CODES = frozenset({21314, 21315, 21316, 21317, 21319, 21327, 21332, 21501})
RATE_LIMIT_CODES = frozenset({10022, 10023, 10024})  # hourly IP / user / per-API limits
TRANSIENT_CODES = frozenset({10001, 10002, 10003, 10009, 10010, 10011})
_REFUSALS: dict[int, tuple[str, str | None]] = {
    20003: ("对方用户不存在", None),
    20012: ("回复内容超过微博长度限制", "请精简至140字以内后重新送审"),
    20017: ("微博提示内容重复：相同内容刚发布过", "请在微博后台核对是否已回复；如需再次回复请修改措辞"),
    20019: ("微博提示内容重复：相同内容刚发布过", "请在微博后台核对是否已回复；如需再次回复请修改措辞"),
    20021: ("回复内容含有违规信息，被微博拒绝", "请修改回复内容后重新送审"),
    21602: ("回复内容含有敏感词，被微博拒绝", "请修改回复内容后重新送审"),
    20101: ("原微博不存在或已被删除", "请通过私信或其他渠道答复"),
    20206: ("博主设置了仅关注者可评论", "请通过私信或其他渠道答复"),
    20207: ("博主设置了仅可信用户可评论", "请通过私信或其他渠道答复"),
}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1
    )
}


# --- comments ---------------------------------------------------------------------------------------


def poll(ctx: AccountContext, *, target: str | None = None, cursor: str | None, now: datetime) -> PollPage:
    """One page of `comments/to_me`. The cursor is `since_id`, or `since/max/top` while catching up.

    Weibo returns newest first, so when a burst exceeds a page the next pages walk down with
    `max_id` until an empty page, then the cursor jumps to the newest id seen. Committing the cursor
    with the page's items means a restart neither skips nor repeats (and ids deduplicate anyway).
    Raises RateLimited, TokenExpired, PlatformError.
    """
    path, key = MENTION_TARGETS.get(target or "", ("comments/to_me.json", "comments"))
    if target and target not in MENTION_TARGETS:
        raise PlatformError(f"微博轮询目标应为空、mentions 或 status_mentions：{target!r}", code="bad_target")
    since, max_id, top = _read_cursor(cursor)
    params = {"access_token": ctx.secret("access_token"), "since_id": since, "count": str(PAGE_SIZE)}
    if max_id:
        params["max_id"] = max_id
    data = _api(ctx, "GET", f"{API}/{path}", params=params, now=now, failure="本次未能拉取")
    entries = data.get(key) or []
    if key == "statuses":
        items = [_status_item(s, account_id=ctx.external_id) for s in entries]
    else:
        items = [_comment_item(c, account_id=ctx.external_id, mention=bool(target)) for c in entries]
    if not items:
        return PollPage(items=[], next_cursor=top or since, has_more=False)
    ids = [int(_id(item.raw)) for item in items]
    newest = str(max([*ids, int(top)] if top else ids))
    return PollPage(items=items, next_cursor=f"{since}/{min(ids) - 1}/{newest}", has_more=True)


def publish(
    ctx: AccountContext, *, thread_ref: Mapping[str, str], text: str, idempotency_key: str, now: datetime
) -> PublishResult:
    """Reply to a comment (`cid` + `status_id`) or, through the fans service, to a private message.

    Weibo has no idempotency key; `idempotency_key` is accepted for the common interface only.
    Raises TokenExpired when the access token must be renewed by a person; nothing was sent then.
    """
    limit = max_reply_chars(thread_ref)
    if limit is not None and len(text) > limit:
        return PublishResult("refused", error_code="too_long", reason=f"回复超过 {limit} 字，微博不接受")
    token = ctx.secret("access_token")
    if _is_comment(thread_ref):
        url = f"{API}/comments/reply.json"
        form = {
            "access_token": token,
            "cid": thread_ref["cid"],
            "id": thread_ref["status_id"],
            "comment": text,
            "comment_ori": "0",
            "without_mention": "0",
            # Required: "开发者上报的操作用户真实IP" (open.weibo.com/wiki/2/comments/reply); without it
            # Weibo answers 10016 (missing parameter). The account's `reply_ip` setting.
            "rip": ctx.secret("reply_ip"),
        }
    elif thread_ref.get("status_id"):
        # A post that @-mentions the account: answered with a comment on it (wiki/2/comments/create).
        url = f"{API}/comments/create.json"
        form = {
            "access_token": token,
            "id": thread_ref["status_id"],
            "comment": text,
            "comment_ori": "0",
            "rip": ctx.secret("reply_ip"),
        }
    elif thread_ref.get("sender_id"):
        url = f"{MESSAGES_API}/messages/reply.json"
        form = {
            "access_token": token,
            "type": "text",
            "data": orjson.dumps({"text": text}).decode(),  # JSON, URL-encoded by the form
            "receiver_id": thread_ref["sender_id"],
            "save_sender_box": "1",
        }
    else:
        return PublishResult("refused", error_code="bad_thread", reason="缺少回复所需的评论编号或私信发送者")
    try:
        response = ctx.http.post(url, data=form)
    except httpx.HTTPError as exc:
        return transport_outcome(exc)
    return _publish_result(response, now=now)


def find_published(
    ctx: AccountContext, *, thread_ref: Mapping[str, str], text: str, now: datetime, pages: int = 3
) -> PublishResult | None:
    """After an unknown outcome: look through the account's recent comments (`comments/by_me`).

    Returns `sent` with the comment id when our reply to `cid` is there, None when all the account's
    comments were read without it; PlatformError when `pages` ran out first (hold for a person).
    """
    if not _is_comment(thread_ref):
        raise PlatformError("微博私信无法在平台核实是否已送达", code="not_checkable")
    for page in range(1, pages + 1):
        params = {"access_token": ctx.secret("access_token"), "count": "50", "page": str(page)}
        data = _api(ctx, "GET", f"{API}/comments/by_me.json", params=params, now=now, failure="暂时无法核实")
        comments = data.get("comments") or []
        for comment in comments:
            replied_to = str((comment.get("reply_comment") or {}).get("idstr", ""))
            # Weibo prefixes replies with "回复@name:", so compare the ending.
            if replied_to == thread_ref["cid"] and str(comment.get("text", "")).strip().endswith(
                text.strip()
            ):
                return PublishResult("sent", platform_reply_id=_id(comment), reason="已在平台核实到该回复")
        if len(comments) < 50:
            return None  # reached the end of the account's comments
    # Not seen, but older comments were not read: "not sent" would risk a double post.
    raise PlatformError("未能在最近的评论中核实是否已发布，请人工确认", code="inconclusive")


def after_unknown(thread_ref: Mapping[str, str]) -> AfterUnknown:
    """Comment replies show up in `comments/by_me`; fans-service private replies cannot be listed."""
    return AfterUnknown.CHECK if _is_comment(thread_ref) else AfterUnknown.HOLD


def max_reply_chars(thread_ref: Mapping[str, str]) -> int | None:
    """Counted per character (stricter than Weibo, which counts two ASCII letters as one)."""
    public = _is_comment(thread_ref) or bool(thread_ref.get("status_id"))
    return MAX_COMMENT_CHARS if public else MAX_PRIVATE_CHARS


def remove(ctx: AccountContext, *, thread_ref: Mapping[str, str], now: datetime) -> None:
    """Delete a comment on the account's posts: POST comments/destroy.json {access_token, cid}
    (open.weibo.com/wiki/2/comments/destroy; only the post's or the comment's author may).
    Raises PlatformError with Weibo's reason, RateLimited, TokenExpired."""
    if not thread_ref.get("cid"):
        raise PlatformError("缺少评论编号（cid），无法删除", code="bad_thread")
    form = {"access_token": ctx.secret("access_token"), "cid": thread_ref["cid"]}
    _api(ctx, "POST", f"{API}/comments/destroy.json", form=form, now=now, failure="删除未完成")


def check(ctx: AccountContext, *, now: datetime) -> CapabilityReport:
    """The access token's expiry and scopes: POST oauth2/get_token_info {access_token} answers
    {uid, appkey, scope, create_at, expire_in} (open.weibo.com/wiki/Oauth2/get_token_info).
    Weibo tokens cannot be refreshed by the server: a person re-authorises before `expire_in` ends."""
    try:
        form = {"access_token": ctx.secret("access_token")}
        data = _api(ctx, "POST", f"{OAUTH_API}/get_token_info", form=form, now=now, failure="无法检查授权")
    except TokenExpired as exc:
        return CapabilityReport(mode="needs_credentials", reason=exc.message, capabilities=[])
    expires_at = now + timedelta(seconds=int(data.get("expire_in") or 0))
    scopes = sorted({s.strip() for s in str(data.get("scope") or "").split(",") if s.strip()})
    has_ip = bool(ctx.secrets.get("reply_ip"))
    capabilities = [
        Capability("poll_comments", "拉取收到的评论与@提及", True),
        Capability(
            "reply_comments",
            "回复评论",
            has_ip,
            "" if has_ip else "未配置 reply_ip（微博要求回复时上报操作者公网 IP）",
        ),
        Capability("remove_comments", "删除评论", True),
        Capability(
            "reply_private",
            "粉丝服务私信回复（48小时内；@提及仅可回复一次）",
            bool(ctx.secrets.get("app_secret")),
            "" if ctx.secrets.get("app_secret") else "未配置 app_secret，无法接收粉丝服务推送",
        ),
    ]
    return CapabilityReport(
        mode=mode_of(capabilities),
        reason="；".join(c.reason for c in capabilities if not c.available),
        capabilities=capabilities,
        scopes=scopes,
        windows={"private": PRIVATE_WINDOW_HOURS, "mention": PRIVATE_WINDOW_HOURS},
        token_expires_at=expires_at,
    )


def parse_created_at(value: str) -> datetime:
    """`Wed Jun 01 00:50:25 +0800 2011` as an aware UTC datetime (locale-independent)."""
    try:
        _, month, day, clock, offset, year = value.split()
        hour, minute, second = (int(p) for p in clock.split(":"))
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        local = datetime(int(year), _MONTHS[month], int(day), hour, minute, second, tzinfo=tz)
    except (ValueError, KeyError, IndexError) as exc:
        raise PayloadError(f"微博时间格式错误：{value!r}") from exc
    return local.astimezone(UTC)


# --- re-authorisation (Weibo tokens cannot be refreshed by the server) ---------------------------------


def authorize_url(*, secrets: Mapping[str, str], redirect_uri: str, state: str) -> str:
    """Where the account's operator signs in to authorise the app again
    (open.weibo.com/wiki/Oauth2/authorize: client_id, redirect_uri, response_type=code, state)."""
    app_key = secrets.get("app_key")
    if not app_key:
        raise TokenExpired("账号缺少密钥 app_key，请在账号设置中补充", code="missing_secret")
    query = {"client_id": app_key, "redirect_uri": redirect_uri, "response_type": "code", "state": state}
    return f"{OAUTH_API}/authorize?{urlencode(query)}"


def exchange_code(ctx: AccountContext, *, code: str, redirect_uri: str, now: datetime) -> Authorization:
    """The code from the authorisation page for an access token: POST oauth2/access_token
    {client_id, client_secret, grant_type=authorization_code, code, redirect_uri} answers
    {access_token, expires_in, remind_in, uid} (open.weibo.com/wiki/Oauth2/access_token).
    Raises TokenExpired when Weibo refuses the code, PlatformError when it cannot be reached or the
    token is another account's."""
    form = {
        "client_id": ctx.secret("app_key"),
        "client_secret": ctx.secret("app_secret"),
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
    }
    try:
        data = json_of(ctx.http.post(f"{OAUTH_API}/access_token", data=form))
    except httpx.HTTPError as exc:
        raise PlatformError("连接微博失败，授权未完成", code="network", transient=True) from exc
    if "error_code" in data or not data.get("access_token"):
        raise TokenExpired(
            f"微博拒绝了授权码：{data.get('error_description') or data.get('error') or ''}（错误码 {data.get('error_code')}）",
            code=str(data.get("error_code") or "bad_code"),
        )
    if str(data.get("uid") or "") != ctx.external_id:
        raise PlatformError("授权的微博账号与本账号不符，请用本账号登录授权", code="wrong_account")
    expires_in = int(data.get("expires_in") or 0)
    return Authorization(
        user_id=str(data.get("uid") or ""),
        token=StoredToken(str(data["access_token"]), now + timedelta(seconds=expires_in)),
    )


# --- fans-service push (private messages) -----------------------------------------------------------


def check_signature(*, app_secret: str, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """Answer the GET URL verification: SHA-1 of sorted app_secret, timestamp, nonce; echo `echostr`."""
    if not same(sorted_sha1(app_secret, timestamp, nonce), signature):
        raise SignatureError("微博推送验证签名不匹配")
    return echostr


def parse_push(
    *,
    secrets: Mapping[str, str],
    account_id: str,
    query: Mapping[str, str],
    body: bytes,
    now: datetime,
    max_bytes: int = MAX_BODY_BYTES,
    window: timedelta = REPLAY_WINDOW,
) -> InboundItem | PlatformEvent:
    """Verify and parse one JSON push. Answer it with an empty 200 body (Weibo then does not retry).

    Raises SignatureError (also for a push addressed to another account of the same app),
    ReplayError, PayloadError.
    """
    check_size(body, max_bytes)
    app_secret = secrets.get("app_secret") or ""
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not app_secret or not same(sorted_sha1(app_secret, timestamp, nonce), query.get("signature", "")):
        raise SignatureError("微博推送签名不匹配")
    check_window(timestamp, now=now, window=window)
    event = json_object(body)
    sender, receiver = str(event.get("sender_id", "")), str(event.get("receiver_id", ""))
    if not sender or receiver != str(account_id):
        raise SignatureError("推送不属于本账号")
    received_at = parse_created_at(str(event.get("created_at", "")))
    push_type = str(event.get("type", ""))
    data = as_dict(event.get("data"))
    if push_type == "event":
        name = str(data.get("subtype", "")).lower()
        key = f"{sender}:{int(received_at.timestamp())}:{name}"
        return PlatformEvent(dedupe_key=key, name=name, author_id=sender, occurred_at=received_at, raw=event)
    text = str(event.get("text", ""))
    # No message id in pushes: Weibo's advice is sender_id + created_at; the text hash separates two
    # messages sent in the same second while retries of one message still collapse.
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]  # noqa: S324 - a dedupe key, not security
    return InboundItem(
        external_id=f"{sender}:{int(received_at.timestamp())}:{digest}",
        kind="mention" if push_type == "mention" else "private",
        author_id=sender,
        author_name="",
        content=text if push_type in ("text", "mention") else _placeholder(push_type, text),
        received_at=received_at,
        thread_ref={"sender_id": sender},
        is_echo=sender == str(account_id),
        raw=event,
    )


def receive(
    *,
    secrets: Mapping[str, str],
    external_id: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> InboundItem | PlatformEvent:
    """A fans-service push to the account's address (`parse_push`); answered with an empty 200."""
    return parse_push(secrets=secrets, account_id=external_id, query=query, body=body, now=now)


def handshake(*, secrets: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The callback URL verification (GET) over the app secret: `echostr` to echo back."""
    return check_signature(app_secret=signing_secret(secrets, "app_secret"), **handshake_fields(query))


# The signature covers the secret, timestamp and nonce, not the body: the app remembers each pair with
# the body it came with (as for WeChat plain mode).
WEBHOOK = Webhook(receive=receive, handshake=handshake, unsigned_body=lambda secrets: True)


# --- plumbing ---------------------------------------------------------------------------------------


class _WeiboError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _check(data: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Raise for an error body (`error_code`, sometimes as a string, on any HTTP status)."""
    if "error_code" not in data:
        return data
    try:
        code = int(data["error_code"])
    except (TypeError, ValueError):
        code = -1
    message = str(data.get("error", ""))
    if code in RATE_LIMIT_CODES:
        raise RateLimited(
            f"微博接口调用超出频率限制（{message}）", retry_after=seconds_until_next_hour(now), code=str(code)
        )
    if code in TOKEN_EXPIRED_CODES:
        raise TokenExpired("微博授权已过期或无效，请重新授权并更新 access_token", code=str(code))
    raise _WeiboError(code, message)


def _api(
    ctx: AccountContext,
    method: str,
    url: str,
    *,
    now: datetime,
    failure: str,
    params: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One call other than a reply: the answer, else PlatformError (`failure` says what did not
    happen), RateLimited or TokenExpired."""
    try:
        return _check(json_of(ctx.http.request(method, url, params=params, data=form)), now=now)
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"连接微博失败（{type(exc).__name__}），{failure}", code="network", transient=True
        ) from exc
    except _WeiboError as exc:
        raise _poll_error(exc) from exc


def _poll_error(exc: _WeiboError) -> PlatformError:
    return PlatformError(
        f"微博返回错误：{exc.message}（错误码 {exc.code}）",
        code=str(exc.code),
        transient=exc.code in TRANSIENT_CODES,
    )


def _publish_result(response: httpx.Response, *, now: datetime) -> PublishResult:
    try:
        data = _check(json_of(response), now=now)
    except RateLimited as exc:
        return PublishResult("retry", error_code=exc.code, reason=exc.message, retry_after=exc.retry_after)
    except PlatformError:  # no JSON: judge by status
        if response.status_code == 503:
            return PublishResult("retry", error_code="http_503", reason="微博服务暂不可用，回复未发出")
        return PublishResult(
            "unknown",
            error_code=f"http_{response.status_code}",
            reason="微博返回异常应答，无法确定是否已发布",
        )
    except _WeiboError as exc:
        if exc.code in TRANSIENT_CODES:
            return PublishResult(
                "retry", error_code=str(exc.code), reason="微博系统繁忙，回复未发出", retry_after=60.0
            )
        if exc.code == 20016:
            return PublishResult(
                "retry", error_code="20016", reason="发布过于频繁，稍后重试", retry_after=300.0
            )
        reason, alternative = _REFUSALS.get(
            exc.code, (f"微博拒绝发送：{exc.message}（错误码 {exc.code}）", "请在微博后台人工处理该回复")
        )
        return PublishResult("refused", error_code=str(exc.code), reason=reason, alternative=alternative)
    if response.status_code >= 400:
        return PublishResult(
            "unknown",
            error_code=f"http_{response.status_code}",
            reason="微博返回异常应答，无法确定是否已发布",
        )
    reply_id = _id(data) or None
    return PublishResult("sent", platform_reply_id=reply_id, reason="已发送")


def _status_item(status: Mapping[str, Any], *, account_id: str) -> InboundItem:
    """A post that @-mentions the account (statuses/mentions): answered with a comment on it."""
    status_id = _id(status)
    if not status_id:
        raise PayloadError("微博缺少 idstr")
    user = status.get("user") or {}
    author_id = _id(user)
    return InboundItem(
        external_id=f"status:{status_id}",
        kind="mention",
        author_id=author_id,
        author_name=str(user.get("screen_name", "")),
        content=str(status.get("text", "")),
        received_at=parse_created_at(str(status.get("created_at", ""))),
        thread_ref={"status_id": status_id},
        is_echo=bool(account_id) and author_id == str(account_id),
        raw=dict(status),
    )


def _comment_item(comment: Mapping[str, Any], *, account_id: str, mention: bool = False) -> InboundItem:
    comment_id = _id(comment)
    if not comment_id:
        raise PayloadError("评论缺少 idstr")
    user = comment.get("user") or {}
    author_id = _id(user)
    ref = {"cid": comment_id, "status_id": _id(comment.get("status") or {})}
    is_echo = bool(account_id) and author_id == str(account_id)
    if is_echo and comment.get("reply_comment"):
        ref["reply_to_cid"] = _id(comment["reply_comment"])  # links the echo to the reply it is
    return InboundItem(
        external_id=comment_id,
        kind="mention" if mention else "comment",
        author_id=author_id,
        author_name=str(user.get("screen_name", "")),
        content=str(comment.get("text", "")),
        received_at=parse_created_at(str(comment.get("created_at", ""))),
        thread_ref=ref,
        is_echo=is_echo,
        raw=dict(comment),
    )


def _id(obj: Mapping[str, Any]) -> str:
    """The string id: `idstr` when present (exact), else `id`."""
    value = obj.get("idstr") or obj.get("id") or ""
    return str(value)


def _read_cursor(cursor: str | None) -> tuple[str, str, str]:
    parts = (cursor or "0").split("/")
    if len(parts) == 1 and parts[0].isdigit():
        return parts[0], "", ""
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return parts[0], parts[1], parts[2]
    raise PlatformError(f"微博轮询游标格式错误：{cursor!r}", code="bad_cursor")


def _is_comment(thread_ref: Mapping[str, str]) -> bool:
    return bool(thread_ref.get("cid") and thread_ref.get("status_id"))


def _placeholder(push_type: str, text: str) -> str:
    label = {"image": "[图片]", "voice": "[语音]", "position": "[位置]"}.get(
        push_type, f"[{push_type or '未知消息'}]"
    )
    return f"{label} {text}".strip()


# --- the account's own posts (用户微博列表) ---------------------------------------------------------------


def list_posts(ctx: AccountContext, *, now: datetime) -> list[Post]:
    """The account's newest statuses (`statuses/user_timeline`), newest first.

    Raises RateLimited, TokenExpired, PlatformError."""
    params = {
        "access_token": ctx.secret("access_token"),
        "uid": ctx.external_id,
        "count": str(POST_PAGE_SIZE),
        "trim_user": "1",
    }
    data = _api(
        ctx,
        "GET",
        f"{API}/statuses/user_timeline.json",
        params=params,
        now=now,
        failure="本次未能读取发布记录",
    )
    posts = [
        Post(
            external_id=_id(status),
            posted_at=parse_created_at(str(status.get("created_at") or "")),
            title=str(status.get("text") or "")[:100],
            url=f"https://weibo.com/{ctx.external_id}/{status.get('mid') or _id(status)}",
        )
        for status in data.get("statuses") or []
        if status.get("created_at") and not status.get("deleted")
    ]
    posts.sort(key=lambda p: p.posted_at, reverse=True)
    return posts
