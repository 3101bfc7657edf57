"""Platform events (subscribe, menu click, authorisation changes…): recorded once in the audit log,
never turned into messages."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.audit.models import AuditEvent
from app.audit.service import record
from app.channels.store import ChannelAccount, platform_actor
from connectors.base import PlatformEvent

ENTITY = "channel_event"


def event_id(account_id: int, dedupe_key: str) -> str:
    """A short stable id for (account, platform dedupe key): repeated deliveries share it."""
    return hashlib.sha256(f"{account_id}\x1f{dedupe_key}".encode()).hexdigest()[:40]


def record_event(*, session: Session, account: ChannelAccount, event: PlatformEvent, now: datetime) -> bool:
    """Audits the event unless this delivery was seen before; True if recorded. No commit."""
    entity_id = event_id(account.id, event.dedupe_key)
    seen = session.execute(
        select(col(AuditEvent.id))
        .where(col(AuditEvent.entity_type) == ENTITY, col(AuditEvent.entity_id) == entity_id)
        .limit(1)
    ).first()
    if seen is not None:
        return False
    record(
        session=session,
        actor=platform_actor(account.platform),
        action=f"channel.event.{event.name or 'unknown'}"[:64],
        entity_type=ENTITY,
        entity_id=entity_id,
        unit_code=account.unit_code,
        after={
            "account_id": account.id,
            "event": event.name,
            "author_id": event.author_id,
            "occurred_at": event.occurred_at.isoformat(),
            "dedupe_key": event.dedupe_key,
        },
        at=now,
    )
    return True
