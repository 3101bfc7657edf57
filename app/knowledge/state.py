"""The KB version row: bumped in the transaction of every KB change, read by each process's index."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.knowledge.models import KnowledgeState

SINGLE_ROW = 1

StateKey = tuple[int, str]


def bump(*, session: Session, now: datetime) -> None:
    """Marks the KB changed, in the caller's transaction (an upsert: the row appears with the first change)."""
    table: Table = KnowledgeState.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stamp = secrets.token_hex(16)
    session.execute(
        insert(table)
        .values(id=SINGLE_ROW, version=1, stamp=stamp, updated_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.id],
            set_={"version": table.c.version + 1, "stamp": stamp, "updated_at": now},
        )
    )


def read(*, session: Session) -> StateKey | None:
    """(version, stamp) of the KB, or None before its first change."""
    row = session.execute(
        select(KnowledgeState.version, KnowledgeState.stamp).where(KnowledgeState.id == SINGLE_ROW)
    ).first()
    return (int(row[0]), str(row[1])) if row is not None else None
