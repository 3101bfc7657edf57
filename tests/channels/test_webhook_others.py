"""Weibo, Douyin and website/app webhooks end to end over HTTP: accepted, stored once, tampered and
replayed pushes refused with nothing stored, malformed 400, oversize 413, handshakes answered."""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlmodel import select

from app.channels.models import ChannelEcho
from app.db import session_scope
from connectors.base import sorted_sha1

from .conftest import (
    DOUYIN,
    WEIBO,
    Desk,
    douyin_im,
    douyin_signed,
    generic_signed,
    weibo_push,
    weibo_text,
)

# --- Weibo ---------------------------------------------------------------------------------------------


def weibo(desk: Desk, query: dict[str, str], body: bytes, key: str = "weibo"):  # type: ignore[no-untyped-def]
    return desk.client.post(f"/api/v1/webhooks/weibo/{desk.accounts[key]}", params=query, content=body)


def test_weibo_url_verification(desk: Desk) -> None:
    query = {
        "signature": sorted_sha1(WEIBO["app_secret"], "1397022061823", "57155157"),
        "timestamp": "1397022061823",
        "nonce": "57155157",
        "echostr": "dnPdpTZz85",
    }
    url = f"/api/v1/webhooks/weibo/{desk.accounts['weibo']}"
    assert desk.client.get(url, params=query).text == "dnPdpTZz85"
    assert desk.client.get(url, params={**query, "signature": "x"}).status_code == 401


def test_weibo_private_message_is_stored_once(desk: Desk) -> None:
    query, body = weibo_push(weibo_text(desk.now), at=desk.now)
    first = weibo(desk, query, body)
    again = weibo(desk, query, body)
    assert (first.status_code, first.text) == (200, "")
    assert again.status_code == 200
    [message] = desk.messages()
    assert message.kind == "private" and message.content == "请问公积金怎么提取？"
    assert message.thread_ref == {"sender_id": "2489518277"}
    desk.stored_once()


def test_weibo_tampered_replayed_and_malformed_pushes(desk: Desk) -> None:
    query, body = weibo_push(weibo_text(desk.now), at=desk.now, secret="not-the-secret")
    assert weibo(desk, query, body).status_code == 401
    old = desk.now - timedelta(minutes=10)
    query, body = weibo_push(weibo_text(old), at=old)
    replay = weibo(desk, query, body)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "replay"
    query, _ = weibo_push(weibo_text(desk.now), at=desk.now)
    assert weibo(desk, query, b"{not json").status_code == 400
    other = {**weibo_text(desk.now), "receiver_id": 1902538057}  # signed, but for another account
    query, body = weibo_push(other, at=desk.now)
    assert weibo(desk, query, body).status_code == 401
    query, body = weibo_push(weibo_text(desk.now, text="长" * 100_000), at=desk.now)
    assert weibo(desk, query, body).status_code == 413
    assert desk.count() == 0


def test_weibo_captured_signature_cannot_carry_a_forged_body(desk: Desk) -> None:
    """Weibo's signature covers the secret, timestamp and nonce, not the body: within the time window a
    captured query string with another body is a replay (401), while the platform's own retry of the
    same push is stored once."""
    query, body = weibo_push(weibo_text(desk.now), at=desk.now)
    assert weibo(desk, query, body).status_code == 200
    assert weibo(desk, query, body).status_code == 200  # the platform's retry
    _, forged = weibo_push(weibo_text(desk.now, text="伪造的留言"), at=desk.now)
    refused = weibo(desk, query, forged)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "replay"
    assert desk.count() == 1


# --- Douyin --------------------------------------------------------------------------------------------


def douyin(desk: Desk, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
    return desk.client.post(
        f"/api/v1/webhooks/douyin/{desk.accounts['douyin']}", headers=headers, content=body
    )


def test_douyin_verify_webhook_challenge_is_answered(desk: Desk) -> None:
    headers, body = douyin_signed(
        {"event": "verify_webhook", "client_key": "tt10abc", "content": {"challenge": 12345}}
    )
    response = douyin(desk, headers, body)
    assert response.status_code == 200
    assert response.json() == {"challenge": 12345}
    assert desk.count() == 0


def test_douyin_private_message_is_stored_once_per_msg_id(desk: Desk) -> None:
    headers, body = douyin_signed(douyin_im(desk.now))
    assert douyin(desk, headers, body).status_code == 200
    assert douyin(desk, headers, body).status_code == 200  # Douyin redelivers until it gets a 200
    [message] = desk.messages()
    assert message.content == "请问社保卡在哪里补办？"
    assert message.author_name == "青禾居民"
    assert message.received_at == desk.now.replace(microsecond=0)
    assert message.thread_ref["to_user_id"] == "ac6479a5-d7a6-4018-84be-c29bfc00000"
    desk.stored_once()


def test_douyin_tampered_and_malformed_pushes(desk: Desk) -> None:
    headers, body = douyin_signed(douyin_im(desk.now), secret="wrong-secret")
    assert douyin(desk, headers, body).status_code == 401
    headers, body = douyin_signed(douyin_im(desk.now))
    assert douyin(desk, headers, body.replace("补办".encode(), "办理".encode())).status_code == 401
    headers, _ = douyin_signed(douyin_im(desk.now))
    raw = b'{"event": "im_receive_msg", '
    import hashlib

    headers["X-Douyin-Signature"] = hashlib.sha1(DOUYIN["client_secret"].encode() + raw).hexdigest()
    assert douyin(desk, headers, raw).status_code == 400
    big = douyin_im(desk.now, text="长" * 100_000)
    headers, body = douyin_signed(big)
    assert douyin(desk, headers, body).status_code == 413
    assert desk.count() == 0


def test_douyin_message_of_another_account_of_the_same_app_lands_on_that_account(
    desk: Desk, make_account
) -> None:  # type: ignore[no-untyped-def]
    other = make_account("b", "douyin", external_id="bbb-second-account", secrets=DOUYIN)["id"]
    headers, body = douyin_signed(douyin_im(desk.now, account="bbb-second-account"))
    assert douyin(desk, headers, body).status_code == 200
    [message] = desk.messages()
    assert message.account_id == other and message.unit_code == "b"
    stranger = douyin_im(desk.now, account="ccc-not-registered", server_message_id="@other")
    headers, body = douyin_signed(stranger, msg_id="msg-2")
    assert douyin(desk, headers, body).status_code == 200  # acknowledged, so Douyin stops retrying
    assert desk.count() == 1


def test_douyin_echo_of_our_own_message_is_not_a_new_message(desk: Desk) -> None:
    headers, body = douyin_signed(
        douyin_im(desk.now, name="im_send_msg", text="您好，请携带身份证到政务中心办理")
    )
    assert douyin(desk, headers, body).status_code == 200
    assert douyin(desk, headers, body).status_code == 200
    assert desk.count() == 0
    with session_scope() as session:
        echoes = session.exec(select(ChannelEcho)).all()
    assert len(echoes) == 1
    assert echoes[0].account_id == desk.accounts["douyin"]


# --- website / app ---------------------------------------------------------------------------------------


MESSAGE: dict[str, object] = {
    "external_id": "web-20260302-001",
    "kind": "comment",
    "author": {"id": "u1001", "name": "市民"},
    "content": "小区门口路灯不亮，请尽快维修",
    "received_at": "2026-03-02T08:30:00+08:00",
}


def generic(desk: Desk, headers: dict[str, str], body: bytes, key: str = "generic"):  # type: ignore[no-untyped-def]
    return desk.client.post(f"/api/v1/webhooks/generic/{desk.accounts[key]}", headers=headers, content=body)


def test_generic_signed_message_201_then_200_with_the_same_id(desk: Desk) -> None:
    headers, body = generic_signed(MESSAGE, at=desk.now)
    first = generic(desk, headers, body)
    second = generic(desk, headers, body)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["duplicate"] is True
    got = desk.client.get(f"/api/v1/messages/{first.json()['id']}", headers=desk.admin).json()
    assert got["content"] == "小区门口路灯不亮，请尽快维修"
    assert got["received_at"].startswith("2026-03-02T00:30:00")
    desk.stored_once()


def test_generic_bad_signature_replay_and_malformed(desk: Desk) -> None:
    headers, body = generic_signed(MESSAGE, at=desk.now, secret="wrong")
    assert generic(desk, headers, body).status_code == 401
    headers, body = generic_signed(MESSAGE, at=desk.now)
    assert generic(desk, headers, body.replace("路灯".encode(), "水管".encode())).status_code == 401
    assert generic(desk, {}, body).status_code == 401
    old = desk.now - timedelta(minutes=5, seconds=1)
    headers, body = generic_signed(MESSAGE, at=old)
    replay = generic(desk, headers, body)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "replay"
    for raw in (b"{broken", orjson.dumps({**MESSAGE, "kind": "letter"}), orjson.dumps([1, 2])):
        headers, body = generic_signed(raw, at=desk.now)
        assert generic(desk, headers, body).status_code == 400, raw
    headers, body = generic_signed({**MESSAGE, "content": "长" * 100_000}, at=desk.now)
    assert generic(desk, headers, body).status_code == 413
    assert desk.count() == 0


def test_generic_unknown_account_404_and_wrong_platform_400(desk: Desk) -> None:
    headers, body = generic_signed(MESSAGE, at=desk.now)
    assert (
        desk.client.post("/api/v1/webhooks/generic/424242", headers=headers, content=body).status_code == 404
    )
    # Finding 8: an account of another platform is named as such, not "does not exist".
    wrong_platform = f"/api/v1/webhooks/generic/{desk.accounts['weibo']}"
    answer = desk.client.post(wrong_platform, headers=headers, content=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "wrong_platform"
    assert "不是网站/APP账号" in answer.json()["error"]["message"]
    assert "微博" in answer.json()["error"]["message"]
    assert desk.count() == 0


def test_generic_anonymous_post_without_kind_is_stored_as_anonymous_once(desk: Desk) -> None:
    anonymous = {k: v for k, v in MESSAGE.items() if k not in ("kind", "author")}
    headers, body = generic_signed(anonymous, at=desk.now)
    first = generic(desk, headers, body)
    second = generic(desk, headers, body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]  # still deduplicated by external_id
    got = desk.client.get(f"/api/v1/messages/{first.json()['id']}", headers=desk.admin).json()
    assert got["kind"] == "comment"
    assert got["author"]["name"] == "匿名" and got["author"]["id"] == ""
    desk.stored_once()
