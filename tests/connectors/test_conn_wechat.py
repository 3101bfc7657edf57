"""WeChat connector: messages signed and encrypted by wechatpy (a real client) and the mocked WeChat API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest
import respx
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from connectors import wechat
from connectors.base import (
    AccountContext,
    AfterUnknown,
    InboundItem,
    InMemoryTokenStore,
    PayloadError,
    PlatformEvent,
    ReplayError,
    SignatureError,
    StoredToken,
    TokenExpired,
)

TOKEN = "huiyingToken2024"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx5823bf96d3bd56c7"
ACCOUNT = "gh_7f083739789a"
PLAIN = {"app_id": APP_ID, "app_secret": "s3cret", "token": TOKEN}
SAFE = {**PLAIN, "encoding_aes_key": AES_KEY}
API = "https://api.weixin.qq.com/cgi-bin"


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def text_xml(
    *, content: str = "您好，我想咨询医保报销", msg_id: str = "23456789012345678", at: datetime
) -> str:
    return (
        "<xml>"
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        "<FromUserName><![CDATA[oAbC-openid-123]]></FromUserName>"
        f"<CreateTime>{int(at.timestamp())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId>"
        "</xml>"
    )


def plain_request(xml: str, *, at: datetime, nonce: str = "1320562132") -> tuple[dict[str, str], bytes]:
    timestamp = str(int(at.timestamp()))
    query = {
        "signature": sign(TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": "oAbC",
    }
    return query, xml.encode()


def safe_request(
    xml: str, *, at: datetime, app_id: str = APP_ID, nonce: str = "461512385"
) -> tuple[dict[str, str], bytes]:
    """The request WeChat sends in safe mode, built by wechatpy's own encryption."""
    timestamp = str(int(at.timestamp()))
    envelope = WeChatCrypto(TOKEN, AES_KEY, app_id).encrypt_message(xml, nonce, timestamp)
    encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", envelope).group(1)  # type: ignore[union-attr]
    msg_signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", envelope).group(1)  # type: ignore[union-attr]
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    query = {
        "signature": sign(TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": "oAbC",
        "encrypt_type": "aes",
        "msg_signature": msg_signature,
    }
    return query, body.encode()


# --- handshake and pushes ------------------------------------------------------------------------


def test_echostr_handshake_passes_with_wechatpy_signature() -> None:
    signature = sign(TOKEN, "1714960800", "nonce42")
    echo = wechat.check_signature(
        token=TOKEN, signature=signature, timestamp="1714960800", nonce="nonce42", echostr="5837397520"
    )
    assert echo == "5837397520"


def test_echostr_handshake_with_a_wrong_signature_is_refused() -> None:
    with pytest.raises(SignatureError):
        wechat.check_signature(
            token=TOKEN, signature="0" * 40, timestamp="1714960800", nonce="n", echostr="e"
        )


def test_plain_text_message_is_accepted(now: datetime) -> None:
    query, body = plain_request(text_xml(at=now), at=now)
    item = wechat.parse_push(secrets=PLAIN, query=query, body=body, now=now)
    assert isinstance(item, InboundItem)
    assert item.external_id == "23456789012345678"
    assert item.kind == "private"
    assert item.author_id == "oAbC-openid-123"
    assert item.content == "您好，我想咨询医保报销"
    assert item.received_at == now
    assert item.thread_ref == {"openid": "oAbC-openid-123"}
    assert item.is_echo is False


def test_safe_mode_message_encrypted_by_wechatpy_is_accepted(now: datetime) -> None:
    query, body = safe_request(text_xml(content="路灯坏了三天了 <请> 尽快修 & 谢谢", at=now), at=now)
    item = wechat.parse_push(secrets=SAFE, query=query, body=body, now=now)
    assert isinstance(item, InboundItem)
    assert item.content == "路灯坏了三天了 <请> 尽快修 & 谢谢"
    assert item.raw["ToUserName"] == ACCOUNT


def test_safe_mode_tampered_ciphertext_is_refused(now: datetime) -> None:
    query, body = safe_request(text_xml(at=now), at=now)
    tampered = body.replace(b"<![CDATA[", b"<![CDATA[A", 2)  # alters the Encrypt payload
    with pytest.raises(SignatureError):
        wechat.parse_push(secrets=SAFE, query=query, body=tampered, now=now)


def test_safe_mode_wrong_msg_signature_is_refused(now: datetime) -> None:
    query, body = safe_request(text_xml(at=now), at=now)
    query["msg_signature"] = sign("someone-else", query["timestamp"], query["nonce"], "x")
    with pytest.raises(SignatureError):
        wechat.parse_push(secrets=SAFE, query=query, body=body, now=now)


def test_safe_mode_message_for_another_appid_is_refused(now: datetime) -> None:
    query, body = safe_request(text_xml(at=now), at=now, app_id="wx0000000000000000")
    with pytest.raises(SignatureError, match="AppID"):
        wechat.parse_push(secrets=SAFE, query=query, body=body, now=now)


def test_plain_push_to_a_safe_mode_account_is_refused(now: datetime) -> None:
    query, body = plain_request(text_xml(at=now), at=now)
    with pytest.raises(SignatureError):
        wechat.parse_push(secrets=SAFE, query=query, body=body, now=now)


def test_plain_mode_tampered_signature_is_refused(now: datetime) -> None:
    query, body = plain_request(text_xml(at=now), at=now)
    query["nonce"] = "999"
    with pytest.raises(SignatureError):
        wechat.parse_push(secrets=PLAIN, query=query, body=body, now=now)


@pytest.mark.parametrize("age", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_push_outside_the_replay_window_is_refused(now: datetime, age: timedelta) -> None:
    query, body = safe_request(text_xml(at=now - age), at=now - age)
    with pytest.raises(ReplayError):
        wechat.parse_push(secrets=SAFE, query=query, body=body, now=now)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol4;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Content>&xxe;</Content></xml>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_xml_bombs_and_external_entities_are_refused_even_when_signed(now: datetime, payload: str) -> None:
    query, body = plain_request(payload, at=now)
    with pytest.raises(PayloadError):
        wechat.parse_push(secrets=PLAIN, query=query, body=body, now=now)


def test_xml_bomb_inside_safe_mode_envelope_is_refused(now: datetime) -> None:
    query, body = safe_request(text_xml(at=now), at=now)
    with pytest.raises(PayloadError):
        wechat.parse_push(secrets=SAFE, query=query, body=BILLION_LAUGHS.encode(), now=now)


def test_encrypted_xml_bomb_is_refused(now: datetime) -> None:
    query, body = safe_request(BILLION_LAUGHS, at=now)
    with pytest.raises(PayloadError):
        wechat.parse_push(secrets=SAFE, query=query, body=body, now=now)


def test_oversize_and_malformed_bodies_are_refused(now: datetime) -> None:
    query, body = plain_request(text_xml(content="长" * 2000, at=now), at=now)
    with pytest.raises(PayloadError, match="过大"):
        wechat.parse_push(secrets=PLAIN, query=query, body=body, now=now, max_bytes=1024)
    query, body = plain_request("<xml><MsgType>text", at=now)
    with pytest.raises(PayloadError):
        wechat.parse_push(secrets=PLAIN, query=query, body=body, now=now)


def test_subscribe_event_is_an_event_keyed_by_sender_and_time(now: datetime) -> None:
    xml = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>"
        f"<CreateTime>{int(now.timestamp())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[subscribe]]></Event></xml>"
    )
    query, body = safe_request(xml, at=now)
    event = wechat.parse_push(secrets=SAFE, query=query, body=body, now=now)
    assert isinstance(event, PlatformEvent)
    assert event.name == "subscribe"
    assert event.dedupe_key == f"oUser:{int(now.timestamp())}:subscribe"
    assert event.occurred_at == now


def test_image_message_keeps_its_picture_url(now: datetime) -> None:
    xml = (
        f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>oUser</FromUserName>"
        f"<CreateTime>{int(now.timestamp())}</CreateTime><MsgType>image</MsgType>"
        "<PicUrl>http://mmbiz.qpic.cn/abc/0</PicUrl><MediaId>m1</MediaId><MsgId>777</MsgId></xml>"
    )
    query, body = plain_request(xml, at=now)
    item = wechat.parse_push(secrets=PLAIN, query=query, body=body, now=now)
    assert isinstance(item, InboundItem)
    assert item.content == "[图片] http://mmbiz.qpic.cn/abc/0"


def test_passive_response_is_success_by_default(now: datetime) -> None:
    assert wechat.passive_response(secrets=SAFE, now=now) == "success"


def test_passive_text_reply_in_safe_mode_decrypts_with_wechatpy(now: datetime) -> None:
    query, body = safe_request(text_xml(at=now), at=now)
    item = wechat.parse_push(secrets=SAFE, query=query, body=body, now=now)
    assert isinstance(item, InboundItem)
    reply = wechat.passive_response(secrets=SAFE, now=now, reply_to=item, text="已收到]]>您的留言")
    timestamp = re.search(r"<TimeStamp>(\d+)</TimeStamp>", reply).group(1)  # type: ignore[union-attr]
    nonce = re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]>", reply).group(1)  # type: ignore[union-attr]
    signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", reply).group(1)  # type: ignore[union-attr]
    plain = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(reply, signature, timestamp, nonce)
    assert "<ToUserName><![CDATA[oAbC-openid-123]]></ToUserName>" in plain
    assert f"<FromUserName><![CDATA[{ACCOUNT}]]></FromUserName>" in plain
    # The CDATA terminator inside the text survives as text.
    from defusedxml import ElementTree

    assert ElementTree.fromstring(plain).findtext("Content") == "已收到]]>您的留言"


# --- access token, replies ------------------------------------------------------------------------


@pytest.fixture
def ctx(make_ctx: Callable[..., AccountContext]) -> AccountContext:
    return make_ctx(SAFE, ACCOUNT)


def token_route(router: respx.MockRouter, *tokens: str) -> respx.Route:
    return router.post(f"{API}/stable_token").mock(
        side_effect=[httpx.Response(200, json={"access_token": t, "expires_in": 7200}) for t in tokens]
    )


def test_customer_service_reply_is_sent_with_a_cached_stable_token(
    ctx: AccountContext, now: datetime
) -> None:
    with respx.mock() as router:
        token = token_route(router, "ACCESS_1")
        send = router.post(f"{API}/message/custom/send").mock(
            return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        )
        ref = {"openid": "oAbC-openid-123"}
        first = wechat.publish(
            ctx, thread_ref=ref, text="您好，已转交医保局办理", idempotency_key="r1", now=now
        )
        second = wechat.publish(ctx, thread_ref=ref, text="补充说明", idempotency_key="r2", now=now)
    assert first.outcome == second.outcome == "sent"
    assert token.call_count == 1
    assert json.loads(token.calls[0].request.content) == {
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": "s3cret",
        "force_refresh": False,
    }
    request = send.calls[0].request
    assert request.url.params["access_token"] == "ACCESS_1"
    # Raw UTF-8, never \\uXXXX escapes (WeChat answers those with 40033).
    assert "您好，已转交医保局办理".encode() in request.content
    assert json.loads(request.content) == {
        "touser": "oAbC-openid-123",
        "msgtype": "text",
        "text": {"content": "您好，已转交医保局办理"},
    }


def test_token_is_shared_between_processes_through_the_store(
    make_ctx: Callable[..., AccountContext], tokens: InMemoryTokenStore, now: datetime
) -> None:
    tokens.set(f"wechat:{APP_ID}", StoredToken("SHARED", now + timedelta(hours=1)))
    with respx.mock(assert_all_called=False) as router:
        token = token_route(router, "NEVER")
        send = router.post(f"{API}/message/custom/send").mock(
            return_value=httpx.Response(200, json={"errcode": 0})
        )
        wechat.publish(
            make_ctx(SAFE, ACCOUNT, key="7"),
            thread_ref={"openid": "o1"},
            text="好",
            idempotency_key="k",
            now=now,
        )
    assert token.call_count == 0
    assert send.calls[0].request.url.params["access_token"] == "SHARED"


@pytest.mark.parametrize("code", [40001, 42001, 40014])
def test_expired_token_is_refreshed_once_and_the_reply_sent(
    ctx: AccountContext, now: datetime, code: int
) -> None:
    with respx.mock() as router:
        token = token_route(router, "OLD", "NEW")
        send = router.post(f"{API}/message/custom/send").mock(
            side_effect=[
                httpx.Response(200, json={"errcode": code, "errmsg": "access_token expired"}),
                httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}),
            ]
        )
        result = wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "sent"
    assert [c.request.url.params["access_token"] for c in send.calls] == ["OLD", "NEW"]
    assert [json.loads(c.request.content)["force_refresh"] for c in token.calls] == [False, False]
    assert ctx.tokens.get(f"wechat:{APP_ID}") == StoredToken("NEW", now + timedelta(seconds=7200))


def test_force_refresh_only_when_the_normal_call_returns_the_rejected_token(
    ctx: AccountContext, now: datetime
) -> None:
    with respx.mock() as router:
        token = token_route(router, "OLD", "OLD", "FORCED")
        send = router.post(f"{API}/message/custom/send").mock(
            side_effect=[
                httpx.Response(200, json={"errcode": 40001}),
                httpx.Response(200, json={"errcode": 0}),
            ]
        )
        result = wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "sent"
    assert [json.loads(c.request.content)["force_refresh"] for c in token.calls] == [False, False, True]
    assert send.calls[1].request.url.params["access_token"] == "FORCED"


def test_token_still_rejected_after_refresh_raises_token_expired(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        token_route(router, "A", "B")
        router.post(f"{API}/message/custom/send").mock(
            return_value=httpx.Response(200, json={"errcode": 40001})
        )
        with pytest.raises(TokenExpired):
            wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)


def test_bad_app_secret_raises_token_expired_and_sends_nothing(ctx: AccountContext, now: datetime) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{API}/stable_token").mock(
            return_value=httpx.Response(200, json={"errcode": 40125, "errmsg": "invalid appsecret"})
        )
        send = router.post(f"{API}/message/custom/send")
        with pytest.raises(TokenExpired, match="AppSecret"):
            wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert send.call_count == 0


def test_outside_the_48_hour_window_is_refused_with_reason_and_alternative(
    ctx: AccountContext, now: datetime
) -> None:
    with respx.mock() as router:
        token_route(router, "T")
        router.post(f"{API}/message/custom/send").mock(
            return_value=httpx.Response(
                200,
                json={"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"},
            )
        )
        result = wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "refused"
    assert result.error_code == "45015"
    assert "48小时" in result.reason
    assert result.alternative and "公开答复" in result.alternative


def test_daily_quota_retries_after_beijing_midnight(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        token_route(router, "T")
        router.post(f"{API}/message/custom/send").mock(
            return_value=httpx.Response(
                200, json={"errcode": 45009, "errmsg": "reach max api daily quota limit"}
            )
        )
        result = wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "retry"
    assert result.retry_after == 14 * 3600  # 10:00 -> 24:00 Beijing time


def test_unknown_errcode_is_refused_with_the_platform_message(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        token_route(router, "T")
        router.post(f"{API}/message/custom/send").mock(
            return_value=httpx.Response(200, json={"errcode": 99999, "errmsg": "something new"})
        )
        result = wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "refused"
    assert "something new" in result.reason


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (httpx.ReadTimeout("timed out"), "unknown"),
        (httpx.RemoteProtocolError("connection reset"), "unknown"),
        (httpx.ConnectError("refused"), "retry"),
    ],
)
def test_transport_failures_while_sending(
    ctx: AccountContext, now: datetime, error: Exception, outcome: str
) -> None:
    with respx.mock() as router:
        token_route(router, "T")
        router.post(f"{API}/message/custom/send").mock(side_effect=error)
        result = wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert result.outcome == outcome


def test_timeout_while_getting_the_token_is_a_plain_retry(ctx: AccountContext, now: datetime) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{API}/stable_token").mock(side_effect=httpx.ReadTimeout("slow"))
        send = router.post(f"{API}/message/custom/send")
        result = wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "retry"
    assert send.call_count == 0


def test_unreadable_gateway_answer_leaves_the_outcome_unknown(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        token_route(router, "T")
        router.post(f"{API}/message/custom/send").mock(
            return_value=httpx.Response(502, text="<html>Bad Gateway")
        )
        result = wechat.publish(ctx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "unknown"


# --- article comments ------------------------------------------------------------------------------


def comment(cid: int, content: str, *, at: datetime, reply: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "user_comment_id": cid,
        "openid": f"oFan{cid}",
        "create_time": int(at.timestamp()),
        "content": content,
        "comment_type": 0,
    }
    if reply:
        data["reply"] = {"content": reply, "create_time": int(at.timestamp()) + 60}
    return data


def test_poll_comments_pages_by_offset(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        token_route(router, "T")
        listing = router.post(f"{API}/comment/list").mock(
            return_value=httpx.Response(
                200,
                json={
                    "errcode": 0,
                    "errmsg": "ok",
                    "total": 51,
                    "comment": [comment(i, f"留言{i}", at=now) for i in range(1, 50)],
                },
            )
        )
        page = wechat.poll(ctx, target="2247483650:1", cursor=None, now=now)
    assert json.loads(listing.calls[0].request.content) == {
        "msg_data_id": 2247483650,
        "index": 1,
        "begin": 0,
        "count": 49,
        "type": 0,
    }
    assert len(page.items) == 49
    assert page.next_cursor == "49" and page.has_more is True
    first = page.items[0]
    assert first.external_id == "2247483650:1:1"
    assert first.kind == "comment"
    assert first.author_id == "oFan1"
    assert first.thread_ref == {"msg_data_id": "2247483650", "index": "1", "user_comment_id": "1"}


def test_comment_list_on_a_rate_limit_raises(ctx: AccountContext, now: datetime) -> None:
    from connectors.base import RateLimited

    with respx.mock() as router:
        token_route(router, "T")
        router.post(f"{API}/comment/list").mock(return_value=httpx.Response(200, json={"errcode": 45009}))
        with pytest.raises(RateLimited) as caught:
            wechat.poll(ctx, target="2247483650:0", cursor="0", now=now)
    assert caught.value.retry_after == 14 * 3600


def test_comment_reply_and_its_check_after_an_unknown_outcome(ctx: AccountContext, now: datetime) -> None:
    ref = {"msg_data_id": "2247483650", "index": "0", "user_comment_id": "8"}
    assert wechat.after_unknown(ref) is AfterUnknown.CHECK
    assert wechat.after_unknown({"openid": "o"}) is AfterUnknown.HOLD
    with respx.mock() as router:
        token_route(router, "T")
        add = router.post(f"{API}/comment/reply/add").mock(side_effect=httpx.ReadTimeout("slow"))
        router.post(f"{API}/comment/list").mock(
            return_value=httpx.Response(
                200,
                json={
                    "errcode": 0,
                    "total": 2,
                    "comment": [
                        comment(7, "别的", at=now),
                        comment(8, "何时通车？", at=now, reply="预计6月底通车"),
                    ],
                },
            )
        )
        result = wechat.publish(ctx, thread_ref=ref, text="预计6月底通车", idempotency_key="k", now=now)
        found = wechat.find_published(ctx, thread_ref=ref, text="预计6月底通车", now=now)
        absent = wechat.find_published(ctx, thread_ref=ref, text="另一段答复", now=now)
    assert result.outcome == "unknown"
    assert json.loads(add.calls[0].request.content) == {
        "msg_data_id": 2247483650,
        "index": 0,
        "user_comment_id": 8,
        "content": "预计6月底通车",
    }
    assert found is not None and found.outcome == "sent"
    assert absent is None


def test_comment_already_replied_is_refused(ctx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        token_route(router, "T")
        router.post(f"{API}/comment/reply/add").mock(
            return_value=httpx.Response(200, json={"errcode": 88005, "errmsg": "already reply"})
        )
        result = wechat.publish(
            ctx,
            thread_ref={"msg_data_id": "2247487033_3", "index": "2", "user_comment_id": "8"},
            text="接口回复",
            idempotency_key="k",
            now=now,
        )
    assert result.outcome == "refused"
    assert "已有回复" in result.reason
