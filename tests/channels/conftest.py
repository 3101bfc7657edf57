"""Fixtures for the channel tests: a unit with one account per platform (real-looking secrets), the
frozen clock, counters over the stored rows, and pushes signed the way each platform signs them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from app.channels import health
from app.db import session_scope
from app.messages.models import IntakeItem, Message
from connectors import generic
from connectors.base import sorted_sha1

WECHAT_TOKEN = "huiyingToken2026"
WECHAT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECHAT_APP_ID = "wx5823bf96d3bd56c7"
WECHAT_SAFE = {
    "app_id": WECHAT_APP_ID,
    "app_secret": "wechat-app-secret",
    "token": WECHAT_TOKEN,
    "encoding_aes_key": WECHAT_AES_KEY,
}
WECHAT_PLAIN = {k: v for k, v in WECHAT_SAFE.items() if k != "encoding_aes_key"}
WEIBO_UID = "5861234567"
WEIBO = {"app_key": "2949572520", "app_secret": "xyz123xyz", "access_token": "2.00TOKEN"}
DOUYIN_OPEN_ID = "aaa-7ae0-4399-914a-5eb1df5861ba"
DOUYIN = {
    "client_key": "tt10abc",
    "client_secret": "7802f4e6f243e659d51135445fe",
    "access_token": "act.first",
    "refresh_token": "rft.first",
}
GENERIC = {"hmac_secret": "board-hmac-secret", "reply_url": "https://board.example.gov.cn/api/replies"}


@pytest.fixture(autouse=True)
def _forget_push_throttle() -> Iterator[None]:
    health.forget_touches()
    yield
    health.forget_touches()


@dataclass
class Desk:
    client: TestClient
    admin: dict[str, str]
    accounts: dict[str, int]
    now: datetime

    def count(self, model: type = Message) -> int:
        with session_scope() as session:
            return int(session.exec(select(func.count()).select_from(model)).one())

    def messages(self) -> list[Message]:
        with session_scope() as session:
            return list(session.exec(select(Message).order_by(Message.id)))  # type: ignore[arg-type]

    def stored_once(self) -> None:
        assert self.count(Message) == self.count(IntakeItem)


@pytest.fixture
def desk(
    client: TestClient,
    admin_headers: dict[str, str],
    make_unit: Callable[..., Any],
    make_account: Callable[..., Any],
    frozen_clock: Any,
) -> Desk:
    make_unit("a", "青禾县政务服务中心")
    make_unit("b", "青禾县交通运输局")
    accounts = {
        "wechat": make_account("a", "wechat", external_id="gh_7f083739789a", secrets=WECHAT_SAFE)["id"],
        "wechat_plain": make_account("a", "wechat", external_id="gh_plain000001", secrets=WECHAT_PLAIN)["id"],
        "weibo": make_account("a", "weibo", external_id=WEIBO_UID, secrets=WEIBO)["id"],
        "douyin": make_account("a", "douyin", external_id=DOUYIN_OPEN_ID, secrets=DOUYIN)["id"],
        "generic": make_account("a", "generic", external_id="board", secrets=GENERIC)["id"],
        "generic_b": make_account("b", "generic", external_id="board-b", secrets=GENERIC)["id"],
    }
    return Desk(client=client, admin=admin_headers, accounts=accounts, now=frozen_clock.at)


# --- WeChat ------------------------------------------------------------------------------------------


def wechat_sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def wechat_text(
    *, at: datetime, msg_id: str = "23456789012345678", content: str = "您好，我想咨询医保报销"
) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>"
        "<FromUserName><![CDATA[oAbC-openid-123]]></FromUserName>"
        f"<CreateTime>{int(at.timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def wechat_safe(xml: str, *, at: datetime, nonce: str = "461512385") -> tuple[dict[str, str], bytes]:
    """Query and body of a safe-mode push, encrypted and signed by wechatpy (a real client library)."""
    timestamp = str(int(at.timestamp()))
    envelope = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APP_ID).encrypt_message(
        xml, nonce, timestamp
    )
    encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", envelope).group(1)  # type: ignore[union-attr]
    msg_signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", envelope).group(1)  # type: ignore[union-attr]
    body = f"<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = {
        "signature": wechat_sign(WECHAT_TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": "oAbC-openid-123",
        "encrypt_type": "aes",
        "msg_signature": msg_signature,
    }
    return query, body.encode()


def wechat_plain(xml: str, *, at: datetime, nonce: str = "1320562132") -> tuple[dict[str, str], bytes]:
    timestamp = str(int(at.timestamp()))
    query = {"signature": wechat_sign(WECHAT_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    return query, xml.encode()


# --- Weibo -------------------------------------------------------------------------------------------


def weibo_time(at: datetime) -> str:
    return at.astimezone(timezone(timedelta(hours=8))).strftime("%a %b %d %H:%M:%S +0800 %Y")


def weibo_push(
    event: dict[str, object], *, at: datetime, secret: str = WEIBO["app_secret"]
) -> tuple[dict[str, str], bytes]:
    timestamp, nonce = str(int(at.timestamp() * 1000)), "57155157"
    query = {"signature": sorted_sha1(secret, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    return query, orjson.dumps(event)


def weibo_text(
    at: datetime, *, text: str = "请问公积金怎么提取？", sender: str = "2489518277"
) -> dict[str, object]:
    return {
        "type": "text",
        "receiver_id": int(WEIBO_UID),
        "sender_id": int(sender),
        "created_at": weibo_time(at),
        "text": text,
        "data": {},
    }


# --- Douyin ------------------------------------------------------------------------------------------


def douyin_signed(
    event: dict[str, object], *, msg_id: str = "msg-1", secret: str = DOUYIN["client_secret"]
) -> tuple[dict[str, str], bytes]:
    body = orjson.dumps(event)
    signature = hashlib.sha1(secret.encode() + body).hexdigest()
    return {"X-Douyin-Signature": signature, "Msg-Id": msg_id, "Content-Type": "application/json"}, body


def douyin_im(
    at: datetime,
    *,
    name: str = "im_receive_msg",
    account: str = DOUYIN_OPEN_ID,
    citizen: str = "ac6479a5-d7a6-4018-84be-c29bfc00000",
    text: str = "请问社保卡在哪里补办？",
    server_message_id: str = "@c29bfc000+MNggFhRkwGuX1ntuc0RPc0VH",
) -> dict[str, object]:
    sender, receiver = (citizen, account) if name == "im_receive_msg" else (account, citizen)
    content = {
        "conversation_short_id": "@c29bfc000+MNggFhRkwGuX1ntuc0QfA0VnmRejrzWUBwDdDYrU9MpJSYEVV6",
        "server_message_id": server_message_id,
        "conversation_type": 1,
        "message_type": "text",
        "text": text,
        "create_time": int(at.timestamp() * 1000),
        "user_infos": [
            {"open_id": citizen, "nick_name": "青禾居民", "avatar": "https://p3.douyinpic.com/a.jpeg"}
        ],
    }
    return {
        "event": name,
        "client_key": DOUYIN["client_key"],
        "from_user_id": sender,
        "to_user_id": receiver,
        "log_id": "2023429834752345783",
        "content": orjson.dumps(content).decode(),  # Douyin sends this one as a JSON string
    }


# --- website / app -----------------------------------------------------------------------------------


def generic_signed(
    body: Mapping[str, object] | bytes, *, at: datetime, secret: str = GENERIC["hmac_secret"]
) -> tuple[dict[str, str], bytes]:
    raw = body if isinstance(body, bytes) else orjson.dumps(dict(body))
    return {**generic.signed_headers(secret, raw, now=at), "Content-Type": "application/json"}, raw
