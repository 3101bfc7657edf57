"""The ingest hot path in plain SQL on the driver connection of the session's transaction.

Every channel's messages come through here, and the ORM's unit of work costs several times what the
three inserts do, so this one flow speaks SQL directly — on SQLite and PostgreSQL alike — while the
transaction (and SQLite's write gate) stays the session's. Values are converted as the ORM's column
types convert them (JSON text by the engine's serializer, naive-UTC text and integer booleans on SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from app.db import for_writing, json_dumps

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
JSON_COLUMNS = frozenset(
    {"thread_ref", "flags", "suggestions", "routing", "moderation", "deadline_basis", "after"}
)
AUDIT_COLUMNS = ("at", "actor_id", "actor_name", "action", "entity_type", "entity_id", "unit_code", "after")
INBOUND_COLUMNS = ("message_id", "state", "attempts", "available_at", "created_at", "updated_at")


def _sql(table: str, columns: tuple[str, ...], postgres: bool, suffix: str = "") -> str:
    if postgres:
        marks = ", ".join("%s::json" if c in JSON_COLUMNS else "%s" for c in columns)
    else:
        marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){suffix}"  # noqa: S608 (fixed names)


_STATEMENTS = {
    postgres: (
        _sql(
            "messages",
            MESSAGE_COLUMNS,
            postgres,
            " ON CONFLICT (account_id, external_id) DO NOTHING RETURNING id",
        ),
        _sql("inbound_items", INBOUND_COLUMNS, postgres),
        _sql("audit_events", AUDIT_COLUMNS, postgres),
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
    """Inserts the message, its inbound item and its audit event; returns the new id, or None when
    (account_id, external_id) is already stored. Does not commit."""
    connection = session.connection()
    for_writing(connection)  # the driver cursor below bypasses the events that take the write gate
    postgres = connection.dialect.name == "postgresql"
    insert_msg, insert_inbound, insert_audit = _STATEMENTS[postgres]
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(insert_msg, [_param(message[c], c, postgres) for c in MESSAGE_COLUMNS])
        row = cursor.fetchone()
        if row is None:
            return None
        message_id = int(row[0])
        inbound = {
            "message_id": message_id,
            "state": "pending",
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
