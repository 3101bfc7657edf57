"""The KB version row: bumped in the transaction of every KB change, read by each process's index
(the shared version-row mechanism of `app.versioning`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app import versioning
from app.knowledge.models import KnowledgeState

SINGLE_ROW = 1

StateKey = versioning.VersionKey


def bump(*, session: Session, now: datetime) -> None:
    """Marks the KB changed, in the caller's transaction (an upsert: the row appears with the first change)."""
    versioning.bump(KnowledgeState, session=session, row_id=SINGLE_ROW, now=now)


def read(*, session: Session) -> StateKey | None:
    """(version, stamp) of the KB, or None before its first change."""
    return versioning.read(KnowledgeState, session=session, row_id=SINGLE_ROW)
