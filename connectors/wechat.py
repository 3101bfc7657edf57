"""WeChat official account (微信公众号): server handshake, plain and safe-mode pushes, replies, article comments.

Reading order: `check_signature` (GET handshake), `parse_push` (POST), `passive_response` (answer within
5 seconds), then the outbox/poller side: `publish`, `poll`, `find_published`, `after_unknown`.
"""

from __future__ import annotations

import base64
import binascii
import secrets as random_source
import struct
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import httpx
import orjson
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from connectors.base import (
    MAX_BODY_BYTES,
    REPLAY_WINDOW,
    AccountContext,
    AfterUnknown,
    Answer,
    Capability,
    CapabilityReport,
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
    check_size,
    check_window,
    from_timestamp,
    handshake_fields,
    json_of,
    reply_json,
    same,
    seconds_until_china_midnight,
    signing_secret,
    sorted_sha1,
    transport_outcome,
)
from connectors.posts import POST_PAGE_SIZE, Post

API = "https://api.weixin.qq.com/cgi-bin"
# An access token that stopped working: invalid, expired, or not an access token at all.
TOKEN_EXPIRED_CODES = frozenset({40001, 42001, 40014})
# comment/list refuses count >= 50.
COMMENT_PAGE_SIZE = 49
_BLOCK = 32  # WeChat pads with PKCS#7 to 32 bytes, not AES's 16

# errcode -> (reason, alternative) for replies the platform will not take; shown to the operator.
_REFUSALS: dict[int, tuple[str, str | None]] = {
    45015: (
        "超过48小时客服消息窗口：用户最近48小时内未与公众号互动，无法用客服消息回复",
        "可改为公开答复（在相关文章留言区回复或发布公告），或通过电话、短信等方式人工答复",
    ),
    45047: (
        # developers.weixin.qq.com 客服消息: 5 messages per user message, 3 after a menu click,
        # a follow or a scan, until the user interacts again (the errmsg's "20" is outdated).
        "客服消息下发条数已达上限：用户每发一条消息后最多可回复5条（点击菜单、关注、扫码后为3条）",
        "请等用户再次发消息后重发，或改为公开答复、通过其他渠道人工答复",
    ),
    43004: ("用户已取消关注公众号，无法接收客服消息", "请通过电话、短信等其他渠道人工答复"),
    43019: ("用户已将公众号拉黑，无法接收消息", "请通过其他渠道人工答复"),
    40003: ("用户 OpenID 无效或不属于本公众号", "请核对留言来源后人工答复"),
    87014: ("回复内容未通过微信内容安全检查", "请修改回复内容后重新送审"),
    45002: ("回复内容超出微信长度限制", "请精简回复内容后重新送审"),
    48001: ("公众号未获得该接口权限（需已认证的服务号或订阅号）", "请在公众号后台人工回复"),
    88000: ("文章未开启留言或公众号没有留言管理权限", "请在公众号后台人工回复"),
    88001: ("该图文消息不存在", None),
    88004: ("该留言已被用户删除", None),
    88005: (
        "该留言已有回复（接口只允许回复一次）",
        "请在公众号后台核对已有回复；如需更正，先删除原回复再重发",
    ),
    88007: ("回复内容超长或为空", "请修改回复内容后重新送审"),
    88008: ("该留言不存在", None),
}


# --- handshake and pushes -------------------------------------------------------------------------


def check_signature(*, token: str, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """Answer the GET server-verification request: the `echostr` to send back, or `SignatureError`."""
    if not same(sorted_sha1(token, timestamp, nonce), signature):
        raise SignatureError("微信服务器验证签名不匹配")
    return echostr


CREATE_TIME_WINDOW = timedelta(hours=1)


def parse_push(
    *,
    secrets: Mapping[str, str],
    query: Mapping[str, str],
    body: bytes,
    now: datetime,
    max_bytes: int = MAX_BODY_BYTES,
    window: timedelta = REPLAY_WINDOW,
) -> InboundItem | PlatformEvent:
    """Verify, decrypt (safe mode) and parse one POSTed push into a message or an event.

    Accounts configured with an `encoding_aes_key` accept only safe-mode pushes (no downgrade to
    plain text, whose signature does not cover the body). Raises SignatureError, ReplayError,
    PayloadError.
    """
    check_size(body, max_bytes)
    token = _required(secrets, "token")
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    aes_key = secrets.get("encoding_aes_key")
    if aes_key:
        if query.get("encrypt_type") != "aes":
            raise SignatureError("本账号已启用安全模式，拒绝明文推送")
        encrypted = _parse_xml(body).get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise PayloadError("安全模式推送缺少 Encrypt 字段")
        if not same(sorted_sha1(token, timestamp, nonce, encrypted), query.get("msg_signature", "")):
            raise SignatureError("消息签名（msg_signature）不匹配")
        check_window(timestamp, now=now, window=window)
        plain = _decrypt(encrypted, key=_aes_key(aes_key), app_id=_required(secrets, "app_id"))
        message = _parse_xml(plain)
    else:
        if not same(sorted_sha1(token, timestamp, nonce), query.get("signature", "")):
            raise SignatureError("推送签名（signature）不匹配")
        check_window(timestamp, now=now, window=window)
        message = _parse_xml(body)
    parsed = _to_inbound(message)
    # WeChat pushes at once (retrying within seconds): a CreateTime far from now is not a real push.
    occurred = parsed.received_at if isinstance(parsed, InboundItem) else parsed.occurred_at
    if abs(occurred - now) > CREATE_TIME_WINDOW:
        raise PayloadError("推送的 CreateTime 与当前时间相差过大")
    return parsed


def passive_response(
    *,
    secrets: Mapping[str, str],
    now: datetime,
    reply_to: InboundItem | None = None,
    text: str | None = None,
) -> str:
    """The body to answer a push with: `success` (stored, a reply follows later), or a text reply.

    A text reply to `reply_to` is encrypted when the account is in safe mode.
    """
    if reply_to is None or text is None:
        return "success"
    reply = (
        "<xml>"
        f"<ToUserName>{_cdata(reply_to.author_id)}</ToUserName>"
        f"<FromUserName>{_cdata(str(reply_to.raw.get('ToUserName', '')))}</FromUserName>"
        f"<CreateTime>{int(now.timestamp())}</CreateTime>"
        f"<MsgType>{_cdata('text')}</MsgType>"
        f"<Content>{_cdata(text)}</Content>"
        "</xml>"
    )
    aes_key = secrets.get("encoding_aes_key")
    if not aes_key:
        return reply
    timestamp, nonce = str(int(now.timestamp())), random_source.token_hex(8)
    encrypted = _encrypt(reply.encode(), key=_aes_key(aes_key), app_id=_required(secrets, "app_id"))
    signature = sorted_sha1(_required(secrets, "token"), timestamp, nonce, encrypted)
    return (
        "<xml>"
        f"<Encrypt>{_cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{_cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp>"
        f"<Nonce>{_cdata(nonce)}</Nonce>"
        "</xml>"
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
    """A push to the account's address (`parse_push`; the signature is in the query)."""
    return parse_push(secrets=secrets, query=query, body=body, now=now)


def answer(*, secrets: Mapping[str, str], message_id: int | None, created: bool, now: datetime) -> Answer:
    """`success` once the push is stored: WeChat waits 5 seconds for it, then retries."""
    return Answer(passive_response(secrets=secrets, now=now))


def handshake(*, secrets: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The server verification (GET) over the account's token: `echostr` to echo back."""
    return check_signature(token=signing_secret(secrets, "token"), **handshake_fields(query))


def plain_mode(secrets: Mapping[str, str]) -> bool:
    """Without an EncodingAESKey the push signature covers the token, timestamp and nonce, not the body."""
    return not secrets.get("encoding_aes_key")


WEBHOOK = Webhook(receive=receive, answer=answer, handshake=handshake, unsigned_body=plain_mode)


# --- replies and comments -------------------------------------------------------------------------


def publish(
    ctx: AccountContext, *, thread_ref: Mapping[str, str], text: str, idempotency_key: str, now: datetime
) -> PublishResult:
    """Send one reply: a customer-service message (`openid`) or an article-comment reply.

    WeChat has no idempotency key; `idempotency_key` is accepted for the common interface only.
    Raises TokenExpired when the account's AppID/AppSecret must be fixed; nothing was sent then.
    """
    if _is_comment(thread_ref):
        path = "comment/reply/add"
        comment_id = _number(thread_ref["user_comment_id"])
        payload: dict[str, Any] = {**_article(thread_ref), "user_comment_id": comment_id, "content": text}
    elif thread_ref.get("openid"):
        path = "message/custom/send"
        payload = {"touser": thread_ref["openid"], "msgtype": "text", "text": {"content": text}}
    else:
        return PublishResult("refused", error_code="bad_thread", reason="缺少回复所需的 openid 或留言编号")
    try:
        _call(ctx, path, payload, now=now)
    except httpx.HTTPError as exc:
        return transport_outcome(exc)
    except OutcomeUnknown as exc:
        return PublishResult("unknown", error_code=exc.code, reason=exc.message)
    except _WeChatError as exc:
        return _refusal(exc, now=now)
    except RateLimited as exc:  # while getting a token: nothing was sent
        return PublishResult("retry", error_code=exc.code, reason=exc.message, retry_after=exc.retry_after)
    except PlatformError as exc:  # while getting a token: nothing was sent
        return PublishResult("retry", error_code=exc.code, reason=exc.message)
    return PublishResult("sent", reason="已发送")


def poll(ctx: AccountContext, *, target: str, cursor: str | None, now: datetime) -> PollPage:
    """One page of an article's comments. `target` is `"msg_data_id:index"`; the cursor is an offset.

    The list is not reliably time-ordered (replying can reorder it), so the app must deduplicate on
    `external_id`; rescanning from offset 0 now and then picks up anything that moved.
    Raises RateLimited, TokenExpired, PlatformError.
    """
    begin = int(cursor or 0)
    article = _article(_target_ref(target))
    payload = {**article, "begin": begin, "count": COMMENT_PAGE_SIZE, "type": 0}
    data = _poll_call(ctx, "comment/list", payload, now=now)
    comments = data.get("comment") or []
    items = [_comment_item(c, target=target) for c in comments]
    total = int(data.get("total") or 0)
    end = begin + len(comments)
    return PollPage(items=items, next_cursor=str(end), has_more=bool(comments) and end < total)


def find_published(
    ctx: AccountContext, *, thread_ref: Mapping[str, str], text: str, now: datetime
) -> PublishResult | None:
    """After an unknown outcome: is our reply on the comment? `sent` if so, None if not.

    Only article comments can be checked (see `after_unknown`).
    """
    if not _is_comment(thread_ref):
        raise PlatformError("客服消息无法在平台核实是否已送达", code="not_checkable")
    target = f"{thread_ref['msg_data_id']}:{thread_ref.get('index', '0')}"
    cursor: str | None = None
    while True:
        page = poll(ctx, target=target, cursor=cursor, now=now)
        for item in page.items:
            if item.thread_ref["user_comment_id"] != str(thread_ref["user_comment_id"]):
                continue
            reply = item.raw.get("reply") or {}
            if isinstance(reply, dict) and str(reply.get("content", "")).strip() == text.strip():
                return PublishResult(
                    "sent", platform_reply_id=item.external_id, reason="已在平台核实到该回复"
                )
            return None
        if not page.has_more:
            return None
        cursor = page.next_cursor


def after_unknown(thread_ref: Mapping[str, str]) -> AfterUnknown:
    """Comment replies can be checked by listing the comments; customer-service messages cannot."""
    return AfterUnknown.CHECK if _is_comment(thread_ref) else AfterUnknown.HOLD


def max_reply_chars(thread_ref: Mapping[str, str]) -> int | None:
    """WeChat publishes no fixed character limit for these replies (too long comes back as 45002/88007)."""
    return None


# --- comment management (developers.weixin.qq.com 图文消息留言管理接口) -----------------------------------

# action -> API path; all take {msg_data_id, index, user_comment_id} and answer {errcode, errmsg}.
COMMENT_ACTIONS = {
    "delete": "comment/delete",  # 删除评论
    "delete_reply": "comment/reply/delete",  # 删除回复
    "elect": "comment/markelect",  # 将评论标记精选
    "unelect": "comment/unmarkelect",  # 将评论取消精选
}
# Customer-service messages may be sent within 48 hours of the user's last message.
PRIVATE_WINDOW_HOURS = 48


def manage_comment(ctx: AccountContext, *, action: str, thread_ref: Mapping[str, str], now: datetime) -> None:
    """Delete a comment or our reply to it, or mark / unmark it 精选. Raises PlatformError (with
    the reason) when WeChat refuses, RateLimited, TokenExpired."""
    path = COMMENT_ACTIONS.get(action)
    if path is None:
        raise PlatformError(f"不支持的留言操作：{action}", code="bad_action")
    if not _is_comment(thread_ref):
        raise PlatformError("缺少留言所需的图文编号或留言编号", code="bad_thread")
    payload = {**_article(thread_ref), "user_comment_id": _number(thread_ref["user_comment_id"])}
    _poll_call(ctx, path, payload, now=now)


def set_comments_open(ctx: AccountContext, *, target: str, open_: bool, now: datetime) -> None:
    """Open or close the comments of one article (`target` = "msg_data_id:index"): comment/open,
    comment/close with {msg_data_id, index}."""
    _poll_call(ctx, "comment/open" if open_ else "comment/close", _article(_target_ref(target)), now=now)


def remove(ctx: AccountContext, *, thread_ref: Mapping[str, str], now: datetime) -> None:
    """Take a citizen's article comment off the platform (comment/delete)."""
    manage_comment(ctx, action="delete", thread_ref=thread_ref, now=now)


def check(ctx: AccountContext, *, now: datetime) -> CapabilityReport:
    """AppID/AppSecret work when a token can be had (stable_token); the account's API permissions
    (verified service/subscription account, comment management) only show when a call is refused,
    so they are reported as assumed. The token is the platform's and renews itself: no expiry alert."""
    try:
        _access_token(ctx, now=now)
    except TokenExpired as exc:
        return CapabilityReport(mode="needs_credentials", reason=exc.message, capabilities=[])
    assumed = "按公众号认证类型推定，首次被拒时会在回复或轮询记录中显示原因"
    return CapabilityReport(
        mode="full",
        reason="",
        capabilities=[
            Capability("receive_private", "接收消息推送", True),
            Capability("reply_private", "客服消息回复（48小时内，每条用户消息最多5条）", True, assumed),
            Capability("poll_comments", "拉取图文留言", True, assumed),
            Capability("reply_comments", "回复图文留言", True, assumed),
            Capability("remove_comments", "删除留言、精选、开关留言", True, assumed),
        ],
        windows={"private": PRIVATE_WINDOW_HOURS},
    )


# --- access token -----------------------------------------------------------------------------------


class _WeChatError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _token_key(ctx: AccountContext) -> str:
    # Keyed by AppID, not by account row: the token belongs to the AppID.
    return f"wechat:{ctx.secret('app_id')}"


def _access_token(ctx: AccountContext, *, now: datetime, stale: str | None = None) -> str:
    """A working access token from the shared store, fetched via `stable_token` when needed.

    `stale` is a token the platform just rejected: another process may already have replaced it;
    if not, ask normally first (stable_token returns the current token) and force a refresh only
    when that hands back the rejected one (force mode is limited to 20 calls a day).
    """
    key = _token_key(ctx)
    cached = ctx.tokens.get(key)
    if cached and cached.fresh(now) and cached.access_token != stale:
        return cached.access_token
    try:
        token = _fetch_token(ctx, now=now, force=False)
        if stale is not None and token.access_token == stale:
            token = _fetch_token(ctx, now=now, force=True)
    except httpx.HTTPError as exc:
        # Kept apart from send failures: failing to get a token never leaves a reply half-sent.
        raise PlatformError("获取 access_token 时连接微信失败", code="network", transient=True) from exc
    ctx.tokens.set(key, token)
    return token.access_token


def _fetch_token(ctx: AccountContext, *, now: datetime, force: bool) -> StoredToken:
    payload = {
        "grant_type": "client_credential",
        "appid": ctx.secret("app_id"),
        "secret": ctx.secret("app_secret"),
        "force_refresh": force,
    }
    response = ctx.http.post(f"{API}/stable_token", content=orjson.dumps(payload), headers=_JSON)
    data = json_of(response)
    code = int(data.get("errcode") or 0)
    if code == 0 and data.get("access_token"):
        expires_in = int(data.get("expires_in") or 7200)
        return StoredToken(str(data["access_token"]), now + timedelta(seconds=expires_in))
    _raise_common(code, str(data.get("errmsg", "")), now=now)
    raise TokenExpired(
        f"获取公众号 access_token 失败：{data.get('errmsg', '')}（错误码 {code}），请核对 AppID、AppSecret 和 IP 白名单",
        code=str(code),
    )


def _call(ctx: AccountContext, path: str, payload: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """POST JSON to the API with a shared token; refresh once on an expired token. Raises _WeChatError."""
    token = _access_token(ctx, now=now)
    for attempt in (1, 2):
        # Raw UTF-8: WeChat refuses \\uXXXX escapes in some APIs (40033).
        response = ctx.http.post(
            f"{API}/{path}", params={"access_token": token}, content=orjson.dumps(payload), headers=_JSON
        )
        data = reply_json(response)
        code = int(data.get("errcode") or 0)  # errors arrive with HTTP 200
        if code == 0:
            return data
        if code in TOKEN_EXPIRED_CODES and attempt == 1:
            token = _access_token(ctx, now=now, stale=token)
            continue
        raise _WeChatError(code, str(data.get("errmsg", "")))
    raise AssertionError("unreachable")


def _poll_call(
    ctx: AccountContext, path: str, payload: Mapping[str, Any], *, now: datetime
) -> dict[str, Any]:
    try:
        return _call(ctx, path, payload, now=now)
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"连接微信接口失败：{exc.__class__.__name__}", code="network", transient=True
        ) from exc
    except _WeChatError as exc:
        _raise_common(exc.code, exc.message, now=now)
        if exc.code in TOKEN_EXPIRED_CODES:
            raise TokenExpired(
                "公众号 access_token 刷新后仍无效，请核对 AppID 和 AppSecret", code=str(exc.code)
            ) from exc
        reason = _REFUSALS.get(exc.code, (f"微信返回错误：{exc.message}", None))[0]
        raise PlatformError(f"{reason}（错误码 {exc.code}）", code=str(exc.code)) from exc


def _raise_common(code: int, message: str, *, now: datetime) -> None:
    """Raise for the codes that mean "later", whichever API returned them."""
    if code == 45009:
        raise RateLimited(
            "已达微信接口每日调用上限", retry_after=seconds_until_china_midnight(now), code="45009"
        )
    if code == 45011:
        raise RateLimited("微信接口调用过于频繁", retry_after=60.0, code="45011")
    if code == -1:
        raise PlatformError("微信系统繁忙，请稍后重试", code="-1", transient=True)


def _refusal(exc: _WeChatError, *, now: datetime) -> PublishResult:
    try:
        _raise_common(exc.code, exc.message, now=now)
    except RateLimited as limited:
        return PublishResult(
            "retry", error_code=limited.code, reason=limited.message, retry_after=limited.retry_after
        )
    except PlatformError as busy:
        return PublishResult("retry", error_code=busy.code, reason=busy.message, retry_after=30.0)
    if exc.code in TOKEN_EXPIRED_CODES:
        raise TokenExpired("公众号 access_token 刷新后仍无效，请核对 AppID 和 AppSecret", code=str(exc.code))
    reason, alternative = _REFUSALS.get(
        exc.code, (f"微信拒绝发送：{exc.message}", "请在公众号后台人工处理该回复")
    )
    return PublishResult("refused", error_code=str(exc.code), reason=reason, alternative=alternative)


# --- safe-mode crypto (AES-256-CBC, key from EncodingAESKey, IV = key[:16]) ----------------------------


def _aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        key = b""
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise TokenExpired("EncodingAESKey 配置错误（应为43位）", code="bad_aes_key")
    return key


def _decrypt(encrypted: str, *, key: bytes, app_id: str) -> bytes:
    """random(16) + length(4, big-endian) + message + appid, PKCS#7-padded to 32 bytes."""
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadError("密文不是合法的 Base64") from exc
    if not data or len(data) % 16:
        raise PayloadError("密文长度错误")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise PayloadError("解密后填充错误")
    content = plain[16:-pad]
    if len(content) < 4:
        raise PayloadError("解密后内容过短")
    (length,) = struct.unpack(">I", content[:4])
    if 4 + length > len(content):
        raise PayloadError("解密后长度字段错误")
    if not same(content[4 + length :].decode("utf-8", "replace"), app_id):
        raise SignatureError("消息不属于本公众号（AppID 不符）")
    return content[4 : 4 + length]


def _encrypt(message: bytes, *, key: bytes, app_id: str) -> str:
    body = random_source.token_hex(8).encode() + struct.pack(">I", len(message)) + message + app_id.encode()
    pad = _BLOCK - len(body) % _BLOCK
    body += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()


# --- XML and mapping ------------------------------------------------------------------------------------


_JSON = {"Content-Type": "application/json; charset=utf-8"}


def _parse_xml(data: bytes) -> dict[str, Any]:
    """defusedxml with DTDs forbidden: entity expansion (XML bombs) and external entities are refused."""
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise PayloadError("XML 格式错误，或含有不允许的 DTD/实体") from exc
    if root.tag != "xml":
        raise PayloadError("XML 根元素应为 <xml>")
    return _element_dict(root)


MAX_XML_DEPTH = 8  # WeChat pushes nest three levels; anything deeper is hostile


def _element_dict(element: Element, depth: int = 0) -> dict[str, Any]:
    if depth > MAX_XML_DEPTH:
        raise PayloadError("XML 嵌套层数过多")
    return {
        child.tag: _element_dict(child, depth + 1) if len(child) else (child.text or "") for child in element
    }


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _to_inbound(message: dict[str, Any]) -> InboundItem | PlatformEvent:
    msg_type = str(message.get("MsgType", "")).strip()
    sender = str(message.get("FromUserName", "")).strip()
    created = str(message.get("CreateTime", "")).strip()
    if not sender or not created:
        raise PayloadError("推送缺少 FromUserName 或 CreateTime")
    received_at = from_timestamp(created)
    if msg_type == "event":
        name = str(message.get("Event", "")).strip().lower()
        # Events carry no MsgId; WeChat's advice is FromUserName + CreateTime.
        return PlatformEvent(
            dedupe_key=f"{sender}:{created}:{name}",
            name=name,
            author_id=sender,
            occurred_at=received_at,
            raw=message,
        )
    msg_id = str(message.get("MsgId", "")).strip()
    if not msg_id:
        raise PayloadError("消息缺少 MsgId")
    return InboundItem(
        external_id=msg_id,
        kind="private",
        author_id=sender,
        author_name="",  # pushes carry only the openid
        content=_content(msg_type, message),
        received_at=received_at,
        thread_ref={"openid": sender},
        raw=message,
    )


def _content(msg_type: str, m: dict[str, Any]) -> str:
    if msg_type == "text":
        return str(m.get("Content", ""))
    if msg_type == "image":
        return f"[图片] {m.get('PicUrl', '')}".strip()
    if msg_type == "voice":
        return str(m.get("Recognition") or "[语音]")
    if msg_type in ("video", "shortvideo"):
        return "[视频]"
    if msg_type == "location":
        return f"[位置] {m.get('Label', '')}（{m.get('Location_X', '')},{m.get('Location_Y', '')}）"
    if msg_type == "link":
        return f"[链接] {m.get('Title', '')} {m.get('Url', '')}".strip()
    return f"[{msg_type or '未知消息'}]"


def _comment_item(comment: Mapping[str, Any], *, target: str) -> InboundItem:
    ref = _target_ref(target)
    comment_id = str(comment.get("user_comment_id", ""))
    return InboundItem(
        external_id=f"{ref['msg_data_id']}:{ref['index']}:{comment_id}",
        kind="comment",
        author_id=str(comment.get("openid") or ""),  # absent when the commenter is not a WeChat identity
        author_name="",
        content=str(comment.get("content", "")),
        received_at=from_timestamp(comment.get("create_time")),
        thread_ref={**ref, "user_comment_id": comment_id},
        raw=dict(comment),
    )


def _target_ref(target: str) -> dict[str, str]:
    msg_data_id, _, index = target.partition(":")
    if not msg_data_id:
        raise PlatformError("评论轮询目标应为 msg_data_id:index", code="bad_target")
    return {"msg_data_id": msg_data_id, "index": index or "0"}


def _article(ref: Mapping[str, str]) -> dict[str, Any]:
    return {"msg_data_id": _number(ref["msg_data_id"]), "index": int(ref.get("index") or 0)}


def _number(value: str) -> int | str:
    # Documented as numbers, but some msg_data_id values come as "2247487033_3": send those as given.
    return int(value) if str(value).isdigit() else value


def _is_comment(thread_ref: Mapping[str, str]) -> bool:
    return bool(thread_ref.get("msg_data_id") and thread_ref.get("user_comment_id"))


def _required(secrets: Mapping[str, str], name: str) -> str:
    value = secrets.get(name)
    if not value:
        raise TokenExpired(f"账号缺少密钥 {name}，请在账号设置中补充", code="missing_secret")
    return value


# --- the account's own posts (已发布列表) ----------------------------------------------------------------


def list_posts(ctx: AccountContext, *, now: datetime) -> list[Post]:
    """The newest published articles (`freepublish/batchget`, 发布能力 → 获取成功发布列表), newest first.

    Each item's `update_time` is when it was published (or last updated); the article's first title
    stands for the item. Raises RateLimited, TokenExpired, PlatformError."""
    payload = {"offset": 0, "count": POST_PAGE_SIZE, "no_content": 1}
    data = _poll_call(ctx, "freepublish/batchget", payload, now=now)
    posts: list[Post] = []
    for item in data.get("item") or []:
        content = item.get("content") or {}
        news = [n for n in content.get("news_item") or [] if not (n.get("is_deleted") or n.get("is_delete"))]
        stamp = item.get("update_time") or content.get("update_time") or content.get("create_time")
        if not item.get("article_id") or not stamp or not news:
            continue
        posts.append(
            Post(
                external_id=str(item["article_id"]),
                posted_at=from_timestamp(stamp),
                title=str(news[0].get("title") or ""),
                url=str(news[0].get("url") or ""),
            )
        )
    posts.sort(key=lambda p: p.posted_at, reverse=True)
    return posts
