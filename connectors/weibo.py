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

import httpx
import orjson

from connectors.base import (
    MAX_BODY_BYTES,
    REPLAY_WINDOW,
    AccountContext,
    AfterUnknown,
    InboundItem,
    PayloadError,
    PlatformError,
    PlatformEvent,
    PollPage,
    PublishResult,
    RateLimited,
    SignatureError,
    TokenExpired,
    as_dict,
    check_size,
    check_window,
    json_object,
    json_of,
    same,
    seconds_until_next_hour,
    sorted_sha1,
    transport_outcome,
)
from connectors.posts import POST_PAGE_SIZE, Post

API = "https://api.weibo.com/2"
MESSAGES_API = "https://m.api.weibo.com/2"  # fans-service platform (粉丝服务平台)
MAX_COMMENT_CHARS = 140
MAX_PRIVATE_CHARS = 299  # "文本大小必须小于300个汉字"
PAGE_SIZE = 100

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
    since, max_id, top = _read_cursor(cursor)
    params = {"access_token": ctx.secret("access_token"), "since_id": since, "count": str(PAGE_SIZE)}
    if max_id:
        params["max_id"] = max_id
    data = _poll_get(ctx, "comments/to_me.json", params, now=now)
    comments = data.get("comments") or []
    items = [_comment_item(c, account_id=ctx.external_id) for c in comments]
    if not items:
        return PollPage(items=[], next_cursor=top or since, has_more=False)
    ids = [int(item.external_id) for item in items]
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
        try:
            data = _check(json_of(ctx.http.get(f"{API}/comments/by_me.json", params=params)), now=now)
        except httpx.HTTPError as exc:
            raise PlatformError("连接微博失败，暂时无法核实", code="network", transient=True) from exc
        except _WeiboError as exc:
            raise _poll_error(exc) from exc
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
    return MAX_COMMENT_CHARS if _is_comment(thread_ref) else MAX_PRIVATE_CHARS


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


def _poll_get(ctx: AccountContext, path: str, params: Mapping[str, str], *, now: datetime) -> dict[str, Any]:
    """GET a read API (comments, the account's timeline); raises RateLimited, TokenExpired, PlatformError."""
    try:
        return _check(json_of(ctx.http.get(f"{API}/{path}", params=params)), now=now)
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"连接微博失败：{exc.__class__.__name__}", code="network", transient=True
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


def _comment_item(comment: Mapping[str, Any], *, account_id: str) -> InboundItem:
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
        kind="comment",
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
    data = _poll_get(ctx, "statuses/user_timeline.json", params, now=now)
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
