"""Platform pushes: find the account, let its connector verify and parse the push, store the message
(idempotently) before answering, record events and echoes. The signature is the authentication: a
push that fails it is refused with 401 and nothing is stored."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlmodel import Session

from app.channels import health, replay
from app.channels.echoes import record_echo
from app.channels.events import record_event
from app.channels.store import ChannelAccount, find_account, load_account, prepare_item
from app.errors import BadRequest, Unauthorized
from app.messages.group_commit import group_commit
from app.security import constant_time_equals
from connectors import douyin, generic, wechat, weibo
from connectors.base import (
    Handshake,
    InboundItem,
    PayloadError,
    PlatformEvent,
    ReplayError,
    SignatureError,
    TokenExpired,
)
from connectors.posts import Post

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """What to send back to the platform."""

    body: str
    media_type: str = "text/plain"
    status: int = 200


@contextmanager
def _refusals() -> Iterator[None]:
    """Connector errors as HTTP errors: bad signature or replay 401, malformed 400."""
    try:
        yield
    except ReplayError as exc:
        raise Unauthorized(exc.message, code="replay") from exc
    except SignatureError as exc:
        raise Unauthorized(exc.message, code="bad_signature") from exc
    except TokenExpired as exc:  # a secret missing from the account: nothing can be verified
        raise Unauthorized(f"无法验证签名：{exc.message}", code="not_configured") from exc
    except PayloadError as exc:
        raise BadRequest(exc.message, code="malformed") from exc


async def _take(
    session: Session, account: ChannelAccount, parsed: InboundItem | PlatformEvent, *, now: datetime
) -> tuple[int | None, bool]:
    """Stores a message — durably, before the push is answered — or records an echo or an event;
    returns (message id, created). Messages of concurrent pushes share one commit (group commit)."""
    result: tuple[int | None, bool] = (None, False)
    if isinstance(parsed, PlatformEvent):
        record_event(session=session, account=account, event=parsed, now=now)
        session.commit()
    elif parsed.is_echo:
        record_echo(session=session, account=account, item=parsed, now=now)
        session.commit()
    else:
        prepared = prepare_item(session=session, account=account, item=parsed)
        session.rollback()  # end any read transaction before waiting for the writer (SQLite has one lock)
        result = await group_commit.store(prepared)
    health.touch_push(session=session, account_id=account.id, now=now)
    return result


def _handshake_fields(query: Mapping[str, str]) -> dict[str, str]:
    """The signed fields of a GET verification (WeChat and Weibo name them alike); missing ones empty."""
    return {name: query.get(name, "") for name in ("signature", "timestamp", "nonce", "echostr")}


def _secret(account: ChannelAccount, name: str) -> str:
    value = account.secrets.get(name, "")
    if not value:
        raise Unauthorized(f"账号未配置密钥 {name}，无法验证签名", code="not_configured")
    return value


# --- WeChat -------------------------------------------------------------------------------------------


def wechat_handshake(*, session: Session, account_id: int, query: Mapping[str, str]) -> Answer:
    """Server verification (GET): echo `echostr` when the signature over the token holds."""
    account = load_account(session=session, account_id=account_id, platform="wechat")
    with _refusals():
        echo = wechat.check_signature(token=_secret(account, "token"), **_handshake_fields(query))
    return Answer(echo)


async def wechat_push(
    *, session: Session, account_id: int, query: Mapping[str, str], body: bytes, now: datetime
) -> Answer:
    """A message or event pushed in plain or safe mode: stored, then `success` (the 5-second rule)."""
    account = load_account(session=session, account_id=account_id, platform="wechat")
    with _refusals():
        parsed = wechat.parse_push(secrets=account.secrets, query=query, body=body, now=now)
        if not account.secrets.get("encoding_aes_key"):
            # Plain mode: the signature does not cover the body (safe mode's does; it is recommended).
            replay.remember_push(
                session=session,
                account_id=account.id,
                timestamp=query.get("timestamp", ""),
                nonce=query.get("nonce", ""),
                body=body,
                now=now,
            )
    await _take(session, account, parsed, now=now)
    return Answer(wechat.passive_response(secrets=account.secrets, now=now))


# --- Weibo --------------------------------------------------------------------------------------------


def weibo_handshake(*, session: Session, account_id: int, query: Mapping[str, str]) -> Answer:
    """Fans-service URL verification (GET): echo `echostr` when the signature over the app secret holds."""
    account = load_account(session=session, account_id=account_id, platform="weibo")
    with _refusals():
        echo = weibo.check_signature(app_secret=_secret(account, "app_secret"), **_handshake_fields(query))
    return Answer(echo)


async def weibo_push(
    *, session: Session, account_id: int, query: Mapping[str, str], body: bytes, now: datetime
) -> Answer:
    """A fans-service push (private message, mention or event): stored, then an empty 200."""
    account = load_account(session=session, account_id=account_id, platform="weibo")
    with _refusals():
        parsed = weibo.parse_push(
            secrets=account.secrets, account_id=account.external_id, query=query, body=body, now=now
        )
    await _take(session, account, parsed, now=now)
    return Answer("")


# --- Douyin -------------------------------------------------------------------------------------------


async def douyin_push(
    *, session: Session, account_id: int, headers: Mapping[str, str], body: bytes, now: datetime
) -> Answer:
    """A Douyin webhook: the `verify_webhook` challenge echoed, messages stored, events recorded.

    Douyin sends every authorised account's events to the app's one URL, so a private message is
    stored on the account it names (`account_open_id`) when that account belongs to the same app.
    """
    account = load_account(session=session, account_id=account_id, platform="douyin")
    with _refusals():
        parsed = douyin.parse_webhook(
            client_secret=_secret(account, "client_secret"), headers=headers, body=body
        )
    if isinstance(parsed, Handshake):
        return Answer(parsed.body, media_type=parsed.media_type)
    if isinstance(parsed, InboundItem):
        owner = parsed.thread_ref.get("account_open_id", "")
        if owner and owner != account.external_id:
            routed = find_account(session=session, platform="douyin", external_id=owner)
            if routed is None or not constant_time_equals(
                routed.secrets.get("client_secret", ""), account.secrets["client_secret"]
            ):
                log.warning("douyin push for unregistered account %s ignored", owner)
                return Answer("", status=200)
            account = routed
    await _take(session, account, parsed, now=now)
    return Answer("")


# --- website / app and other sources ------------------------------------------------------------------


async def generic_push(
    *, session: Session, account_id: int, headers: Mapping[str, str], body: bytes, now: datetime
) -> Answer:
    """A signed message like `POST /messages`; answers like it: 201 new, 200 repeated, with the id."""
    account = load_account(session=session, account_id=account_id, platform="generic")
    with _refusals():
        generic.verify(_secret(account, "hmac_secret"), headers, body, now=now)
        item = generic.parse(body, now=now)
    message_id, created = await _take(session, account, item, now=now)
    payload = {"id": message_id, "status": "received", "duplicate": not created}
    return Answer(
        orjson.dumps(payload).decode(), media_type="application/json", status=201 if created else 200
    )


async def generic_post(
    *, session: Session, account_id: int, headers: Mapping[str, str], body: bytes, now: datetime
) -> Post:
    """A signed `post` event of a website/app account (signed like a message push): the account
    published something; returns the parsed post for the caller to record."""
    account = load_account(session=session, account_id=account_id, platform="generic")
    with _refusals():
        generic.verify(_secret(account, "hmac_secret"), headers, body, now=now)
        return generic.parse_post(body, now=now)
