"""Platform pushes, one path for every platform: find the account, let its connector's `Webhook`
(`connectors/registry.py`) verify and parse the push, store the message (idempotently) before
answering, record events and echoes. The signature is the authentication: a push that fails it is
refused with 401 and nothing is stored."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from sqlmodel import Session

from app.channels import health, replay
from app.channels.echoes import record_echo
from app.channels.events import record_event
from app.channels.store import ChannelAccount, find_account, load_account, prepare_item
from app.errors import BadRequest, NotFound, Unauthorized
from app.messages.group_commit import group_commit
from app.security import constant_time_equals
from connectors import registry
from connectors.base import (
    EMPTY_ANSWER,
    Answer,
    Handshake,
    InboundItem,
    MissingSecret,
    PayloadError,
    PlatformEvent,
    ReplayError,
    SignatureError,
    TokenExpired,
    Webhook,
)
from connectors.posts import Post

log = logging.getLogger(__name__)


@contextmanager
def _refusals() -> Iterator[None]:
    """Connector errors as HTTP errors: bad signature or replay 401, malformed 400."""
    try:
        yield
    except ReplayError as exc:
        raise Unauthorized(exc.message, code="replay") from exc
    except SignatureError as exc:
        raise Unauthorized(exc.message, code="bad_signature") from exc
    except MissingSecret as exc:
        raise Unauthorized(exc.message, code="not_configured") from exc
    except TokenExpired as exc:  # a secret missing from the account: nothing can be verified
        raise Unauthorized(f"无法验证签名：{exc.message}", code="not_configured") from exc
    except PayloadError as exc:
        raise BadRequest(exc.message, code="malformed") from exc


def _webhook(platform: str) -> Webhook:
    connector = registry.CONNECTORS.get(platform)
    if connector is None or connector.webhook is None:
        raise NotFound(f"平台 {platform} 不接收推送")
    return connector.webhook


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


def handshake(*, session: Session, platform: str, account_id: int, query: Mapping[str, str]) -> Answer:
    """The address verification (GET) of WeChat and Weibo: the `echostr` echoed when its signature holds."""
    account = load_account(session=session, account_id=account_id, platform=platform)
    verify = _webhook(platform).handshake
    if verify is None:
        raise NotFound(f"平台 {platform} 没有地址验证")
    with _refusals():
        return Answer(verify(secrets=account.secrets, query=query))


async def push(
    *,
    session: Session,
    platform: str,
    account_id: int,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> Answer:
    """One push of any platform: verified, stored (or recorded), then answered as the platform expects
    (WeChat `success`, an empty 200, the generic push's id with 201 new / 200 repeated). A verification
    challenge in a POST (Douyin `verify_webhook`) is echoed; a message for another account of the same
    app (Douyin sends them all to one address) is stored on that account."""
    account = load_account(session=session, account_id=account_id, platform=platform)
    hook = _webhook(platform)
    with _refusals():
        parsed = hook.receive(
            secrets=account.secrets,
            external_id=account.external_id,
            query=query,
            headers=headers,
            body=body,
            now=now,
        )
        if hook.unsigned_body is not None and hook.unsigned_body(account.secrets):
            # The signature does not cover the body: remember it, so that it cannot carry another one.
            replay.remember_push(
                session=session,
                account_id=account.id,
                timestamp=query.get("timestamp", ""),
                nonce=query.get("nonce", ""),
                body=body,
                now=now,
            )
    if isinstance(parsed, Handshake):
        return Answer(parsed.body, media_type=parsed.media_type)
    if hook.owner is not None and isinstance(parsed, InboundItem):
        owner = hook.owner(parsed)
        if owner and owner != account.external_id:
            routed = find_account(session=session, platform=platform, external_id=owner)
            if routed is None or not constant_time_equals(
                routed.secrets.get(hook.same_app, ""), account.secrets[hook.same_app]
            ):
                log.warning("%s push for unregistered account %s ignored", platform, owner)
                return EMPTY_ANSWER
            account = routed
    message_id, created = await _take(session, account, parsed, now=now)
    return hook.answer(secrets=account.secrets, message_id=message_id, created=created, now=now)


def receive_post(
    *,
    session: Session,
    platform: str,
    account_id: int,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> Post:
    """A signed push telling that the account published something (website/app `post` events);
    returns the parsed post for the caller to record."""
    account = load_account(session=session, account_id=account_id, platform=platform)
    receive = _webhook(platform).receive_post
    if receive is None:
        raise NotFound(f"平台 {platform} 不推送发布内容")
    with _refusals():
        return receive(secrets=account.secrets, headers=headers, body=body, now=now)
