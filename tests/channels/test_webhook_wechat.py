"""WeChat webhook end to end over HTTP: the echostr handshake, plain and safe-mode pushes built by
wechatpy, duplicates, tampering, replays, malformed bodies, XML bombs, oversize bodies and events."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import session_scope

from .conftest import (
    WECHAT_TOKEN,
    Desk,
    wechat_plain,
    wechat_safe,
    wechat_sign,
    wechat_text,
)

URL = "/api/v1/webhooks/wechat/{}"


def post(desk: Desk, key: str, query: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
    return desk.client.post(
        URL.format(desk.accounts[key]), params=query, content=body, headers={"Content-Type": "text/xml"}
    )


def test_echostr_handshake_passes_and_a_wrong_signature_is_refused(desk: Desk) -> None:
    query = {
        "signature": wechat_sign(WECHAT_TOKEN, "1714960800", "nonce42"),
        "timestamp": "1714960800",
        "nonce": "nonce42",
        "echostr": "5837397520",
    }
    ok = desk.client.get(URL.format(desk.accounts["wechat"]), params=query)
    assert ok.status_code == 200
    assert ok.text == "5837397520"
    bad = desk.client.get(URL.format(desk.accounts["wechat"]), params={**query, "signature": "0" * 40})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "bad_signature"


def test_safe_mode_push_encrypted_by_wechatpy_is_stored_then_answered_success(desk: Desk) -> None:
    query, body = wechat_safe(wechat_text(at=desk.now), at=desk.now)
    response = post(desk, "wechat", query, body)
    assert response.status_code == 200
    assert response.text == "success"
    [message] = desk.messages()
    assert message.platform == "wechat" and message.kind == "private"
    assert message.external_id == "23456789012345678"
    assert message.author_id == "oAbC-openid-123"
    assert message.content == "您好，我想咨询医保报销"
    assert message.thread_ref == {"openid": "oAbC-openid-123"}
    assert message.received_at == desk.now
    assert message.unit_code == "a"
    desk.stored_once()


def test_plain_mode_push_is_stored(desk: Desk) -> None:
    query, body = wechat_plain(wechat_text(at=desk.now, msg_id="77"), at=desk.now)
    response = post(desk, "wechat_plain", query, body)
    assert response.status_code == 200 and response.text == "success"
    assert [m.external_id for m in desk.messages()] == ["77"]


def test_repeated_delivery_is_stored_once(desk: Desk) -> None:
    # WeChat retries three times when no answer comes within 5 seconds, with new nonces.
    for nonce in ("1", "2", "3"):
        query, body = wechat_safe(wechat_text(at=desk.now), at=desk.now, nonce=nonce)
        assert post(desk, "wechat", query, body).text == "success"
    assert desk.count() == 1
    desk.stored_once()


def test_tampered_pushes_are_refused_and_nothing_is_stored(desk: Desk) -> None:
    query, body = wechat_safe(wechat_text(at=desk.now), at=desk.now)
    forged = post(desk, "wechat", {**query, "msg_signature": "0" * 40}, body)
    assert forged.status_code == 401
    flipped = body.replace(b"<![CDATA[", b"<![CDATA[A", 2)  # one more character in the ciphertext
    assert post(desk, "wechat", query, flipped).status_code in (400, 401)
    plain_to_safe = wechat_plain(wechat_text(at=desk.now), at=desk.now)
    downgraded = post(desk, "wechat", *plain_to_safe)
    assert downgraded.status_code == 401  # a safe-mode account takes no plain pushes
    query, body = wechat_plain(wechat_text(at=desk.now), at=desk.now)
    bad_query = post(desk, "wechat_plain", {**query, "signature": "f" * 40}, body)
    assert bad_query.status_code == 401
    assert desk.count() == 0


def test_replayed_push_is_refused(desk: Desk) -> None:
    old = desk.now - timedelta(minutes=6)
    query, body = wechat_safe(wechat_text(at=old), at=old)
    response = post(desk, "wechat", query, body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "replay"
    assert desk.count() == 0


def test_malformed_xml_and_xml_bombs_are_400(desk: Desk) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"
    )
    for body in ("<xml><unclosed>", bomb):
        query, raw = wechat_plain(body, at=desk.now)
        response = post(desk, "wechat_plain", query, raw)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "malformed"
    # The same bomb sealed inside a valid safe-mode envelope is refused after decryption.
    query, raw = wechat_safe(bomb, at=desk.now)
    assert post(desk, "wechat", query, raw).status_code == 400
    assert desk.count() == 0


def test_oversize_body_is_413(desk: Desk) -> None:
    query, body = wechat_plain(wechat_text(at=desk.now, content="长" * 100_000), at=desk.now)
    response = post(desk, "wechat_plain", query, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert desk.count() == 0


def test_unknown_account_is_404_another_platforms_account_400(desk: Desk) -> None:
    query, body = wechat_safe(wechat_text(at=desk.now), at=desk.now)
    assert desk.client.post(URL.format(99_999), params=query, content=body).status_code == 404
    wrong = desk.client.post(URL.format(desk.accounts["weibo"]), params=query, content=body)
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_platform"
    assert desk.count() == 0


def test_subscribe_event_is_audited_once_and_not_a_message(desk: Desk) -> None:
    xml = (
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>"
        "<FromUserName><![CDATA[oAbC-openid-123]]></FromUserName>"
        f"<CreateTime>{int(desk.now.timestamp())}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>"
    )
    for nonce in ("1", "2"):
        query, body = wechat_safe(xml, at=desk.now, nonce=nonce)
        assert post(desk, "wechat", query, body).text == "success"
    assert desk.count() == 0
    with session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "channel.event.subscribe")).all()
    assert len(events) == 1
    assert events[0].after is not None and events[0].after["author_id"] == "oAbC-openid-123"
    assert events[0].unit_code == "a" and events[0].actor_name == "wechat"


def test_push_updates_the_accounts_health(desk: Desk) -> None:
    query, body = wechat_safe(wechat_text(at=desk.now), at=desk.now)
    post(desk, "wechat", query, body)
    health = desk.client.get(f"/api/v1/accounts/{desk.accounts['wechat']}/health", headers=desk.admin).json()
    assert health["last_push_at"] is not None
    assert health["state"] == "idle"  # nothing to poll: a push-only account
