"""Notification records: inserted at most once per (message, step), whoever tries first and however often."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.messages.models import Message
from app.sla.models import NotificationState, SlaNotification
from app.units.models import Unit

NOTIFICATIONS: Table = SlaNotification.__table__  # type: ignore[attr-defined]


def insert_ignoring_duplicates(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL): a row that already exists stays as it is."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for chunk in chunks(rows, _rows_per_statement(table)):
        # One multi-row statement per chunk: a round trip per row costs more than the row on PostgreSQL.
        session.execute(insert(table).values(chunk).on_conflict_do_nothing())


# Bound parameters per statement stay well under SQLite's 32,766 and PostgreSQL's 65,535.
MAX_PARAMETERS = 30_000


def _rows_per_statement(table: Table) -> int:
    return max(1, MAX_PARAMETERS // len(table.columns))


def chunks(rows: Sequence[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [list(rows[i : i + size]) for i in range(0, len(rows), size)]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Plain multi-row INSERTs (every row carries every column)."""
    for chunk in chunks(rows, _rows_per_statement(table)):
        session.execute(table.insert().values(chunk))


def notification_row(
    *,
    message_id: int,
    step: str,
    target: str,
    unit_code: str | None,
    title: str,
    text: str,
    urgent: bool,
    working_hours_only: bool,
    send_at: datetime,
    now: datetime,
    state: NotificationState = NotificationState.pending,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "step": step,
        "target": target,
        "unit_code": unit_code,
        "title": title[:200],
        "text": text,
        "urgent": urgent,
        "working_hours_only": working_hours_only,
        "state": state.value,
        "attempts": 0,
        "next_attempt_at": send_at,
        "last_error": error,
        "deliveries": {},
        "triggered_at": now,
        "sent_at": None,
        "created_at": now,
        "updated_at": now,
    }


def existing_steps(session: Session, message_ids: Sequence[int]) -> dict[int, set[str]]:
    """The steps already recorded for each message."""
    found: dict[int, set[str]] = {}
    if not message_ids:
        return found
    rows = session.execute(
        select(SlaNotification.message_id, SlaNotification.step).where(
            col(SlaNotification.message_id).in_(list(message_ids))
        )
    )
    for message_id, step in rows:
        found.setdefault(message_id, set()).add(step)
    return found


def unit_directory(session: Session) -> dict[str, tuple[str, str | None]]:
    """code -> (name, supervisor code) for every unit (a small table, read once per sweep batch)."""
    rows = session.execute(select(Unit.code, Unit.name, Unit.supervisor_code))
    return {code: (name, supervisor) for code, name, supervisor in rows}


def for_message(session: Session, message_id: int) -> list[SlaNotification]:
    return list(
        session.exec(
            select(SlaNotification)
            .where(SlaNotification.message_id == message_id)
            .order_by(col(SlaNotification.id))
        )
    )


def list_notifications(
    *,
    session: Session,
    units: frozenset[str] | None,
    state: str | None = None,
    message_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[SlaNotification]:
    """Newest first; `units` limits to notifications about those units' messages (None = all)."""
    query = select(SlaNotification).order_by(col(SlaNotification.id).desc()).limit(limit)
    if units is not None:
        query = query.join(Message, col(Message.id) == col(SlaNotification.message_id)).where(
            col(Message.unit_code).in_(units)
        )
    if state is not None:
        query = query.where(SlaNotification.state == state)
    if message_id is not None:
        query = query.where(SlaNotification.message_id == message_id)
    if before_id is not None:
        query = query.where(col(SlaNotification.id) < before_id)
    return list(session.exec(query))
