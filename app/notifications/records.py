"""Notification records — inserted at most once per (message, step), whoever tries first and however
often — and the bulk statements the sweep writes them (and its message updates) with."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Table, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.notifications.models import NotificationPublic, NotificationState, SlaNotification
from app.units.models import Unit

NOTIFICATIONS: Table = SlaNotification.__table__  # type: ignore[attr-defined]


def bulk_insert(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], *, ignore_duplicates: bool = False
) -> None:
    """Inserts many rows (all with the same keys) in one statement per call.

    `ignore_duplicates`: ON CONFLICT DO NOTHING, so a row that already exists stays as it is. SQLite
    runs an in-process executemany; PostgreSQL gets one INSERT … SELECT FROM unnest(arrays), because a
    round trip per row costs more than the row, and a huge multi-row VALUES costs as much to compile."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        statement = sqlite.insert(table)
        session.execute(statement.on_conflict_do_nothing() if ignore_duplicates else statement, list(rows))
        return
    names = list(rows[0])
    arrays = ", ".join(f"CAST(:p{i} AS {_pg_type(table, name)}[])" for i, name in enumerate(names))
    # Identifiers are the table's own column names (`_pg_type` refuses any other), never input.
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"  # noqa: S608
    if ignore_duplicates:
        sql += " ON CONFLICT DO NOTHING"
    params = {f"p{i}": [_pg_value(table, name, row[name]) for row in rows] for i, name in enumerate(names)}
    session.execute(text(sql), params)


def bulk_update(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Updates many rows by primary key `id` (each dict: id and the same other columns)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(
            table.update().where(table.c.id == bindparam("b_id")),
            [{"b_id": row["id"], **{k: v for k, v in row.items() if k != "id"}} for row in rows],
        )
        return
    names = [name for name in rows[0] if name != "id"]
    arrays = ", ".join(
        [f"CAST(:id AS {_pg_type(table, 'id')}[])"]
        + [f"CAST(:p{i} AS {_pg_type(table, name)}[])" for i, name in enumerate(names)]
    )
    assignments = ", ".join(f"{name} = v.c{i}" for i, name in enumerate(names))
    columns = ", ".join(["id"] + [f"c{i}" for i in range(len(names))])
    sql = f"UPDATE {table.name} SET {assignments} FROM unnest({arrays}) AS v({columns}) WHERE {table.name}.id = v.id"  # noqa: S608
    params: dict[str, Any] = {"id": [row["id"] for row in rows]}
    params.update(
        {f"p{i}": [_pg_value(table, name, row[name]) for row in rows] for i, name in enumerate(names)}
    )
    session.execute(text(sql), params)


def _pg_type(table: Table, name: str) -> str:
    return str(table.c[name].type.compile(dialect=postgresql.dialect()))


def _pg_value(table: Table, name: str, value: Any) -> Any:
    # JSON goes in as its text (cast to json[] by the statement).
    if value is not None and isinstance(table.c[name].type, JSON):
        return json.dumps(value, ensure_ascii=False)
    return value


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


def public(item: SlaNotification) -> NotificationPublic:
    """The API view of a notification record."""
    return NotificationPublic.model_validate(item, from_attributes=True)


def for_message(session: Session, message_id: int) -> list[SlaNotification]:
    return list(
        session.exec(
            select(SlaNotification)
            .where(SlaNotification.message_id == message_id)
            .order_by(col(SlaNotification.id))
        )
    )
