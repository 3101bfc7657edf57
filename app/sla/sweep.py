"""The SLA sweep: reads only messages whose `next_check_at` has come (indexed), moves them
on_track → due_soon → overdue, records the escalation steps that are due (once each), and sets the
next check time. Sending is the notification job's (`app.notifications.delivery`); both run under the lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, select
from sqlmodel import Session, col

from app import clock
from app.audit.models import AuditEvent
from app.calendar.service import load_calendar
from app.calendar.workdays import WorkCalendar, next_working_time
from app.config import get_settings
from app.db import get_engine, is_postgres
from app.messages.models import OPEN_STATUSES, Message, SlaState
from app.notifications.models import WINDOW_STEP, NotificationState
from app.notifications.records import (
    NOTIFICATIONS,
    bulk_insert,
    bulk_update,
    existing_steps,
    notification_row,
    unit_directory,
)
from app.sla import notices
from app.sla.escalation import (
    OVERDUE_AFTER,
    load_settings,
    reply_window,
    state_at,
    step_time,
    window_alert_time,
)
from app.sla.models import LadderStep, SlaSettings

SENSITIVE_FLAG = "sensitive"
MESSAGES: Table = Message.__table__  # type: ignore[attr-defined]
AUDIT_EVENTS: Table = AuditEvent.__table__  # type: ignore[attr-defined]
_COLUMNS: tuple[Any, ...] = tuple(
    col(c)
    for c in (
        Message.id,
        Message.unit_code,
        Message.status,
        Message.kind,
        Message.platform,
        Message.content,
        Message.received_at,
        Message.due_at,
        Message.due_soon_at,
        Message.provisional,
        Message.sla_state,
        Message.escalation_level,
        Message.flags,
        Message.first_replied_at,
        Message.platform_window_closes_at,
    )
)


@dataclass
class SweepResult:
    checked: int = 0
    due_soon: int = 0
    overdue: int = 0
    steps: int = 0
    escalated: int = 0


@dataclass
class _Context:
    now: datetime
    settings: SlaSettings
    calendar: WorkCalendar
    tz: Any
    units: dict[str, tuple[str, str | None]]


def sweep(
    *,
    now: datetime | None = None,
    engine: Engine | None = None,
    batch_size: int = 1000,
    max_batches: int = 100,
) -> SweepResult:
    """Processes every message whose check time has come, in batches (each its own transaction)."""
    now = now or clock.now()
    engine = engine or get_engine()
    result = SweepResult()
    for _ in range(max_batches):
        with Session(engine, expire_on_commit=False) as session:
            seen = _sweep_batch(session, now, batch_size, result)
            session.commit()
        if seen < batch_size:
            break
    return result


def _sweep_batch(session: Session, now: datetime, limit: int, result: SweepResult) -> int:
    query = (
        select(*_COLUMNS)
        .where(col(Message.next_check_at) <= now)
        .order_by(col(Message.next_check_at))
        .limit(limit)
    )
    if is_postgres(session):
        # A second sweeper (or a reply being saved) holds some rows: take the others.
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return 0
    ctx = _Context(
        now=now,
        settings=load_settings(session=session),
        calendar=load_calendar(session=session),
        tz=get_settings().tz,
        units=unit_directory(session),
    )
    done = existing_steps(session, [row.id for row in rows])
    updates: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for row in rows:
        updates.append(_check(row, done.get(row.id, set()), ctx, records, events, result))
    bulk_update(session, MESSAGES, updates)
    bulk_insert(session, NOTIFICATIONS, records, ignore_duplicates=True)
    bulk_insert(session, AUDIT_EVENTS, events)
    result.checked += len(rows)
    result.steps += len(records)
    return len(rows)


def _check(
    row: Any,
    done: set[str],
    ctx: _Context,
    records: list[dict[str, Any]],
    events: list[dict[str, Any]],
    result: SweepResult,
) -> dict[str, Any]:
    """The new SLA fields of one message; appends the steps that fire and the audit event."""
    now = ctx.now
    if (
        row.status not in OPEN_STATUSES
        or row.first_replied_at is not None
        or row.due_at is None
        or row.due_soon_at is None
    ):
        return {
            "id": row.id,
            "sla_state": row.sla_state,
            "next_check_at": None,
            "escalation_level": row.escalation_level,
        }
    state = state_at(now, due_at=row.due_at, due_soon=row.due_soon_at)
    upcoming: list[datetime] = []
    if state == SlaState.on_track:
        upcoming.append(row.due_soon_at)
    if state != SlaState.overdue:
        upcoming.append(row.due_at + OVERDUE_AFTER)
    level = row.escalation_level
    fired: list[str] = []
    sensitive = SENSITIVE_FLAG in (row.flags or [])
    facts: notices.MessageFacts | None = None
    for step in ctx.settings.ladder:
        if step.name in done:
            continue
        at = step_time(step, due_at=row.due_at, due_soon=row.due_soon_at, calendar=ctx.calendar, tz=ctx.tz)
        if at > now:
            upcoming.append(at)
            continue
        facts = facts or _facts(row, ctx)
        records.append(_ladder_record(step, row, facts, state, sensitive, ctx))
        fired.append(step.name)
        if step.escalation_level is not None and step.escalation_level > level:
            level = step.escalation_level
    closes = row.platform_window_closes_at
    if (
        WINDOW_STEP not in done
        and closes is not None
        and now < closes
        and reply_window(kind=row.kind, platform=row.platform) is not None
    ):
        alert_at = window_alert_time(closes, settings=ctx.settings)
        if alert_at > now:
            upcoming.append(alert_at)
        else:
            facts = facts or _facts(row, ctx)
            title, text = notices.window_note(facts, tz=ctx.tz)
            # The window is a hard platform limit: this alert does not wait for working hours.
            records.append(
                notification_row(
                    message_id=row.id,
                    step=WINDOW_STEP,
                    target="unit",
                    unit_code=row.unit_code,
                    title=title,
                    text=text,
                    urgent=True,
                    working_hours_only=False,
                    send_at=now,
                    now=now,
                    state=NotificationState.pending if row.unit_code else NotificationState.skipped,
                    error=None if row.unit_code else "留言尚未分办",
                )
            )
            fired.append(WINDOW_STEP)
    if state != row.sla_state:
        if state == SlaState.due_soon:
            result.due_soon += 1
        elif state == SlaState.overdue:
            result.overdue += 1
    if level != row.escalation_level:
        result.escalated += 1
    if state != row.sla_state or fired or level != row.escalation_level:
        events.append(
            {
                "at": now,
                "actor_id": None,
                "actor_name": "system",
                "action": "message.sla",
                "entity_type": "message",
                "entity_id": str(row.id),
                "unit_code": row.unit_code,
                "before": {"sla_state": row.sla_state, "escalation_level": row.escalation_level},
                "after": {"sla_state": state.value, "escalation_level": level, "steps": fired},
                "note": None,
            }
        )
    return {
        "id": row.id,
        "sla_state": state.value,
        "next_check_at": min(upcoming) if upcoming else None,
        "escalation_level": level,
    }


def _facts(row: Any, ctx: _Context) -> notices.MessageFacts:
    return notices.MessageFacts(
        id=row.id,
        unit_code=row.unit_code,
        unit_name=ctx.units.get(row.unit_code or "", (None, None))[0],
        platform=row.platform,
        kind=row.kind,
        content=row.content,
        received_at=row.received_at,
        due_at=row.due_at,
        provisional=row.provisional,
        window_closes_at=row.platform_window_closes_at,
    )


def _ladder_record(
    step: LadderStep, row: Any, facts: notices.MessageFacts, state: SlaState, sensitive: bool, ctx: _Context
) -> dict[str, Any]:
    now = ctx.now
    target_unit: str | None = row.unit_code
    skip_reason: str | None = None
    if row.unit_code is None:
        skip_reason = "留言尚未分办，没有承办单位"
    elif step.notify == "supervisor":
        target_unit = ctx.units.get(row.unit_code, (None, None))[1]
        if target_unit is None:
            skip_reason = f"单位 {row.unit_code} 未设置主管单位"
    if step.at == "due_soon" and state == SlaState.overdue:
        # Found only after the deadline (e.g. an old import): a due-soon notice would mislead.
        skip_reason = "留言已超期，不再发送临期提醒"
    title, text = notices.ladder_note(
        step, facts, target_name=ctx.units.get(target_unit or "", (None, None))[0], tz=ctx.tz
    )
    # Sensitive messages are alerts, not routine: they go out at once, day or night.
    routine = step.working_hours_only and not sensitive
    send_at = (
        next_working_time(
            now, calendar=ctx.calendar, tz=ctx.tz, start=ctx.settings.work_start, end=ctx.settings.work_end
        )
        if routine
        else now
    )
    return notification_row(
        message_id=row.id,
        step=step.name,
        target=step.notify,
        unit_code=target_unit,
        title=title,
        text=text,
        urgent=step.urgent or sensitive,
        working_hours_only=routine,
        send_at=send_at,
        now=now,
        state=NotificationState.skipped if skip_reason else NotificationState.pending,
        error=skip_reason,
    )
