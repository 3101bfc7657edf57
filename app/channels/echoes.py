"""Echoes: the account's own replies coming back through a poll or a push. They are never taken in as
new messages; each is stored once and linked to the reply it is. Finding and settling that reply is the
replies domain's business (`app/replies/echoes.py`): replies publish through the channels, so the
channels do not import them — the link is installed at start-up (`app/wiring.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.audit.service import record
from app.channels.models import ChannelEcho
from app.channels.store import ChannelAccount, platform_actor
from connectors.base import InboundItem


class MatchFn(Protocol):
    def __call__(
        self, *, session: Session, account_id: int, item: InboundItem
    ) -> tuple[int | None, int | None, str | None]: ...


class ConfirmFn(Protocol):
    def __call__(
        self, *, session: Session, reply_id: int, platform_reply_id: str | None, at: datetime
    ) -> bool: ...


@dataclass(frozen=True)
class ReplyLinks:
    """How an echo finds its reply — (reply id, message id, how matched) or Nones — and settles a reply
    held after an unknown outcome (it is on the platform after all). Neither commits."""

    match: MatchFn
    confirm: ConfirmFn


_links: ReplyLinks | None = None


def install(links: ReplyLinks) -> None:
    """Sets how echoes are linked to replies (once, at start-up; idempotent)."""
    global _links
    _links = links


def _installed() -> ReplyLinks:
    if _links is None:
        raise RuntimeError("echo links not installed: call app.wiring.install() at start-up")
    return _links


def record_echo(*, session: Session, account: ChannelAccount, item: InboundItem, now: datetime) -> bool:
    """Stores the echo once, linked to its reply when one matches; True if it was new. No commit."""
    links = _installed()
    reply_id, message_id, matched_by = links.match(session=session, account_id=account.id, item=item)
    values = {
        "account_id": account.id,
        "external_id": item.external_id[:128],
        "content": item.content,
        "reply_id": reply_id,
        "message_id": message_id,
        "matched_by": matched_by,
        "received_at": item.received_at,
        "created_at": now,
    }
    table = ChannelEcho.__table__  # type: ignore[attr-defined]
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
    inserted = session.execute(
        insert.values(**values)
        .on_conflict_do_nothing(index_elements=["account_id", "external_id"])
        .returning(table.c.id)
    ).first()
    if inserted is None:  # seen before
        return False
    if reply_id is not None:
        # A reply held after an unknown outcome is on the platform after all.
        links.confirm(session=session, reply_id=reply_id, platform_reply_id=item.external_id, at=now)
    record(
        session=session,
        actor=platform_actor(account.platform),
        action="channel.echo",
        entity_type="reply" if reply_id else "account",
        entity_id=reply_id or account.id,
        unit_code=account.unit_code,
        after={
            "account_id": account.id,
            "external_id": item.external_id,
            "reply_id": reply_id,
            "message_id": message_id,
            "matched_by": matched_by,
        },
        note="平台回传的本账号答复，未作为新留言入库",
        at=now,
    )
    return True
