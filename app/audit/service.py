"""Writing and reading the audit log. `record` joins the caller's transaction, so a change and its
audit event commit together or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.audit.models import AuditEvent, AuditEventPublic
from app.auth import Principal
from app.identity import Role
from app.privacy import deep_masked, handles_cases, text_for
from app.spreadsheet import csv_bytes


def record(
    *,
    session: Session,
    actor: Principal | None,
    action: str,
    entity_type: str,
    entity_id: object,
    unit_code: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Adds one audit event to the session (committed with the change it describes)."""
    event = AuditEvent(
        at=at or clock.now(),
        actor_id=actor.user_id if actor else None,
        actor_name=actor.name if actor else "system",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        unit_code=unit_code,
        before=before,
        after=after,
        note=note[:500] if note else None,
    )
    session.add(event)
    return event


def list_events(
    *,
    session: Session,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actor_id: int | None = None,
    at_from: datetime | None = None,
    at_to: datetime | None = None,
    units: frozenset[str] | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """Newest first; `units` limits to events of those units (None = all); `action` ending in "."
    matches a family (e.g. "auth.")."""
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if at_from is not None:
        query = query.where(col(AuditEvent.at) >= at_from)
    if at_to is not None:
        query = query.where(col(AuditEvent.at) < at_to)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    if action and action.endswith("."):
        query = query.where(col(AuditEvent.action).startswith(action, autoescape=True))
    elif action:
        query = query.where(AuditEvent.action == action)
    if units is not None:
        query = query.where(col(AuditEvent.unit_code).in_(units))
    if before_id:
        query = query.where(col(AuditEvent.id) < before_id)
    return list(session.exec(query))


def public(event: AuditEvent, principal: Principal | None) -> AuditEventPublic:
    """An audit event as `principal` may read it: before/after and note masked for those who do not
    handle messages; what a remote system answered (`remote_detail`) for admins only."""
    before, after, note = event.before, event.after, event.note
    if not handles_cases(principal):
        before, after, note = deep_masked(before), deep_masked(after), text_for(note, principal)
    if after and "remote_detail" in after and (principal is None or principal.role != Role.admin):
        after = {k: v for k, v in after.items() if k != "remote_detail"}
    return AuditEventPublic.model_validate(
        event, from_attributes=True, update={"before": before, "after": after, "note": note}
    )


CSV_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "entity_type",
    "entity_id",
    "unit_code",
    "note",
)
CSV_HEADER = ("编号", "时间", "操作人ID", "操作人", "操作", "对象类型", "对象ID", "单位", "说明")


def to_csv(events: Sequence[AuditEvent | AuditEventPublic], *, tz: Any) -> bytes:
    """The events as CSV for Excel (the one spreadsheet writer: UTF-8 with BOM, formula cells
    neutralised); times in local time."""
    rows: list[list[Any]] = [list(CSV_HEADER)]
    for event in events:
        row: list[Any] = []
        for name in CSV_COLUMNS:
            value = getattr(event, name)
            if isinstance(value, datetime):
                value = value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
            row.append("" if value is None else str(value))
        rows.append(row)
    return csv_bytes(rows)
