"""The messages' bulk and plain-SQL storage: the one module where the hot paths trade the ORM's unit of
work for statements of their own, so that everything else can stay with the ORM.

- Ingest (`insert_message`): every channel's messages come through here, and the unit of work's
  bookkeeping would cost more than the three inserts themselves, so the message, its intake item and
  its audit event are written in plain SQL on the driver connection of the session's transaction — on
  SQLite and PostgreSQL alike, the transaction (and SQLite's write gate) staying the session's. Values
  are converted as the ORM's column types convert them (JSON text by the engine's serializer, naive-UTC
  text and integer booleans on SQLite). The statements are built once per dialect (figures:
  docs/scale.md). `existing_ids` finds what a repeated delivery already stored.
- Intake (`lease_due`, `write_back`, `mark_done`): the pipeline claims queue items with one UPDATE
  (`FOR UPDATE SKIP LOCKED` on PostgreSQL), saves a batch's changed columns with one executemany UPDATE
  instead of the unit of work's statement per distinct set of changed columns, and closes the batch's
  items with one UPDATE.

The column lists below are kept by hand for the plain SQL; `tests/foundation/test_storage_columns.py`
checks them against the models, so a column added to a model without a word here fails that test."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, inspect, update
from sqlmodel import Session, col, select

from app.db import for_writing, is_postgres, json_dumps
from app.messages.models import IntakeItem, IntakeState, Message

# The columns `insert_message` writes, in the order of its statement, and those it leaves to their
# default (NULL, or the id the database gives).
MESSAGE_COLUMNS = (
    "account_id",
    "platform",
    "external_id",
    "kind",
    "author_id",
    "author_name",
    "content",
    "thread_ref",
    "received_at",
    "created_at",
    "updated_at",
    "status",
    "unit_code",
    "out_of_scope",
    "transfer_count",
    "flags",
    "suggestions",
    "provisional",
    "escalation_level",
)
MESSAGE_COLUMNS_LEFT_UNSET = frozenset(
    {
        "id",
        "close_reason",
        "closed_at",
        "routing",
        "moderation",
        "working_days",
        "due_at",
        "deadline_basis",
        "sla_state",
        "due_soon_at",
        "next_check_at",
        "first_replied_at",
        "reply_working_days",
        "reply_working_hours",
        "platform_window_closes_at",
    }
)
INBOUND_COLUMNS = ("message_id", "state", "attempts", "available_at", "created_at", "updated_at")
INBOUND_COLUMNS_LEFT_UNSET = frozenset({"id", "last_error"})
AUDIT_COLUMNS = ("at", "actor_id", "actor_name", "action", "entity_type", "entity_id", "unit_code", "after")
AUDIT_COLUMNS_LEFT_UNSET = frozenset({"id", "before", "note"})
# The JSON columns of those three tables: their values go in as JSON text.
JSON_COLUMNS = frozenset(
    {"thread_ref", "flags", "suggestions", "routing", "moderation", "deadline_basis", "before", "after"}
)


def _insert_sql(table: str, columns: tuple[str, ...], postgres: bool, suffix: str = "") -> str:
    if postgres:
        marks = ", ".join("%s::json" if c in JSON_COLUMNS else "%s" for c in columns)
    else:
        marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){suffix}"  # noqa: S608 (fixed names)


# (message, intake item, audit event) inserts, by "is it PostgreSQL".
_INSERTS = {
    postgres: (
        _insert_sql(
            "messages",
            MESSAGE_COLUMNS,
            postgres,
            " ON CONFLICT (account_id, external_id) DO NOTHING RETURNING id",
        ),
        _insert_sql("inbound_items", INBOUND_COLUMNS, postgres),
        _insert_sql("audit_events", AUDIT_COLUMNS, postgres),
    )
    for postgres in (False, True)
}


def _param(value: Any, column: str, postgres: bool) -> Any:
    if column in JSON_COLUMNS:
        return json_dumps(value)
    if isinstance(value, datetime):
        # SQLite: the same naive-UTC text SQLAlchemy's DateTime stores; PostgreSQL: aware UTC.
        if postgres:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return value if postgres else int(value)
    if isinstance(value, str):
        return str(value)  # a StrEnum member as its value, as the ORM's String column writes it
    return value


def insert_message(
    session: Session, message: dict[str, Any], audit: dict[str, Any], now: datetime
) -> int | None:
    """Inserts the message (`MESSAGE_COLUMNS`), its intake item and its audit event (`AUDIT_COLUMNS`
    but the entity id); returns the new id, or None when (account_id, external_id) is already stored.
    Does not commit."""
    connection = session.connection()
    for_writing(connection)  # the driver cursor below bypasses the events that take the write gate
    postgres = connection.dialect.name == "postgresql"
    insert_msg, insert_inbound, insert_audit = _INSERTS[postgres]
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(insert_msg, [_param(message[c], c, postgres) for c in MESSAGE_COLUMNS])
        row = cursor.fetchone()
        if row is None:
            return None
        message_id = int(row[0])
        inbound = {
            "message_id": message_id,
            "state": IntakeState.pending.value,
            "attempts": 0,
            "available_at": now,
            "created_at": now,
            "updated_at": now,
        }
        cursor.execute(insert_inbound, [_param(inbound[c], c, postgres) for c in INBOUND_COLUMNS])
        audit = {**audit, "entity_id": str(message_id)}
        cursor.execute(insert_audit, [_param(audit[c], c, postgres) for c in AUDIT_COLUMNS])
        return message_id
    finally:
        cursor.close()


def existing_ids(*, session: Session, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The ids of the stored messages among (account_id, external_id) `keys`; absent keys are left out."""
    found: dict[tuple[int, str], int] = {}
    for account_id, external_id in keys:
        row = session.exec(
            select(Message.id).where(Message.account_id == account_id, Message.external_id == external_id)
        ).first()
        if row is not None:
            found[(account_id, external_id)] = row
    return found


def lease_due(*, session: Session, now: datetime, until: datetime, limit: int) -> list[int]:
    """Leases up to `limit` pending intake items due by `now` (oldest first) until `until`: their
    `available_at` moves there, so other workers skip them and a crashed worker's come back. On
    PostgreSQL the rows are locked `SKIP LOCKED`, so concurrent workers take different items. Returns
    their ids."""
    query = (
        select(IntakeItem.id)
        .where(IntakeItem.state == IntakeState.pending, col(IntakeItem.available_at) <= now)
        .order_by(col(IntakeItem.id))
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    ids = [i for i in session.exec(query) if i is not None]
    if ids:
        session.execute(
            update(IntakeItem).where(col(IntakeItem.id).in_(ids)).values(available_at=until, updated_at=now)
        )
    return ids


def write_back(*, session: Session, messages: Sequence[Message]) -> None:
    """Writes the messages as one executemany UPDATE of the columns changed on any of them, and takes
    them out of the unit of work, which would write one statement per distinct set of changed columns."""
    table = Message.__table__  # type: ignore[attr-defined]
    changed = set().union(*(inspect(m).committed_state.keys() for m in messages))
    keys = sorted(changed.intersection(table.columns.keys()) - {"id"})
    if keys:
        statement = (
            update(table).where(table.c.id == bindparam("_id")).values({k: bindparam(k) for k in keys})
        )
        session.execute(statement, [{"_id": m.id, **{k: getattr(m, k) for k in keys}} for m in messages])
    for message in messages:
        session.expunge(message)


def mark_done(*, session: Session, item_ids: Sequence[int], now: datetime) -> None:
    """Closes the intake items `item_ids` as done (one UPDATE)."""
    session.execute(
        update(IntakeItem)
        .where(col(IntakeItem.id).in_(item_ids))
        .values(state=IntakeState.done, updated_at=now, last_error=None)
    )
