"""Deadlines of messages — the functions other domains call: `apply_deadline`, `mark_replied`,
`sensitive_alert`, `prohibited_alert`, `rumour_alert` — and recomputing open deadlines after a
calendar change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.auth import Principal
from app.calendar.service import load_calendar
from app.calendar.timing import ReplyTimer, reply_time, stored_hours
from app.calendar.workdays import Deadline, RecomputeWindow, deadline
from app.config import get_settings
from app.db import is_postgres
from app.messages.models import OPEN_STATUSES, Message, SlaState
from app.notifications.models import (
    CONTENT_ALERT_STEPS,
    PROHIBITED_LEADERS_STEP,
    PROHIBITED_SUPERVISOR_STEP,
    RUMOUR_STEP,
    SENSITIVE_STEP,
    NotificationState,
    SlaNotification,
)
from app.notifications.records import NOTIFICATIONS, notification_row, unit_directory
from app.sla import notices
from app.sla.escalation import (
    due_soon_time,
    first_check,
    load_settings,
    reply_window,
    state_at,
)
from app.units.models import Unit

_UNIT_LIMITS_KEY = "sla.unit_limits"
_DIRECTORY_KEY = "sla.unit_directory"


# ---------------------------------------------------------------- deadlines


def reply_limit(*, session: Session, unit_code: str | None) -> int:
    """Working days a unit has to reply: its own `reply_working_days`, else the service default."""
    limits: dict[str, int | None] | None = session.info.get(_UNIT_LIMITS_KEY)
    if limits is None:  # all units at once: a session (a pipeline batch) meets most of them
        limits = dict(session.exec(select(Unit.code, Unit.reply_working_days)).all())
        session.info[_UNIT_LIMITS_KEY] = limits
    own = limits.get(unit_code) if unit_code is not None else None
    return own if own is not None else get_settings().reply_working_days


def compute_deadline(*, session: Session, received_at: datetime, working_days: int) -> Deadline:
    """The deadline under the current calendar (raises ValueError for a naive time)."""
    settings = get_settings()
    return deadline(
        received_at, working_days=working_days, calendar=load_calendar(session=session), tz=settings.tz
    )


def apply_deadline(
    *, session: Session, message: Message, working_days: int | None = None, now: datetime | None = None
) -> None:
    """Sets the message's deadline and SLA fields from its `received_at` (never from a transfer).

    `working_days` None: 0 if the message is out of scope, else the unit's `reply_working_days` or the
    service default; 0 = the out-of-scope rule (same working day). Sets working_days, due_at,
    provisional, deadline_basis (the explanation), sla_state, due_soon_at, next_check_at and, for a
    private message on a platform with a reply window, platform_window_closes_at."""
    now = now or clock.now()
    if working_days is None:
        working_days = (
            0 if message.out_of_scope else reply_limit(session=session, unit_code=message.unit_code)
        )
    settings = load_settings(session=session)
    calendar = load_calendar(session=session)
    tz = get_settings().tz
    result = deadline(message.received_at, working_days=working_days, calendar=calendar, tz=tz)
    message.working_days = working_days
    message.due_at = result.due_at
    message.provisional = result.provisional
    message.deadline_basis = result.to_dict()
    message.due_soon_at = due_soon_time(result.due_at, settings=settings, calendar=calendar, tz=tz)
    window = reply_window(kind=message.kind, platform=message.platform)
    if window is not None:
        _open_window(session, message, window)
    if message.first_replied_at is not None:
        message.sla_state = _verdict(message.first_replied_at, result.due_at)
        message.next_check_at = None
    else:
        message.sla_state = state_at(now, due_at=result.due_at, due_soon=message.due_soon_at)
        message.next_check_at = first_check(
            due_soon=message.due_soon_at,
            window_closes_at=message.platform_window_closes_at,
            settings=settings,
        )
    if message not in session:  # (adding a row the session holds already walks its cascades for nothing)
        session.add(message)


def _open_window(session: Session, message: Message, window: timedelta) -> None:
    """The window runs from the citizen's newest message (48 hours on WeChat), so a new message also
    reopens it for the same citizen's earlier open messages on the account."""
    closes = message.received_at + window
    if not message.author_id:
        message.platform_window_closes_at = closes
        return
    same_citizen = (
        Message.account_id == message.account_id,
        Message.author_id == message.author_id,
        Message.kind == message.kind,
    )
    newest = session.exec(
        select(Message.received_at).where(*same_citizen).order_by(col(Message.received_at).desc()).limit(1)
    ).first()
    if newest is not None and newest + window > closes:
        closes = newest + window
    message.platform_window_closes_at = closes
    settings = load_settings(session=session)
    earlier = session.exec(
        select(Message).where(
            *same_citizen,
            col(Message.id) != message.id,
            col(Message.status).in_(list(OPEN_STATUSES)),
            col(Message.first_replied_at).is_(None),
            col(Message.platform_window_closes_at) < closes,
        )
    )
    for other in earlier:
        other.platform_window_closes_at = closes
        if other.due_soon_at is not None:
            check = first_check(due_soon=other.due_soon_at, window_closes_at=closes, settings=settings)
            if other.next_check_at is None or check < other.next_check_at:
                other.next_check_at = check
        session.add(other)


def fill_reply_times(*, session: Session, batch: int = 5_000) -> int:
    """Stores the reply time of every answered message that has none yet (rows written before reply
    times were stored, or copied in SQL), measured as `mark_replied` measures it; returns how many.
    Runs in the caller's transaction."""
    missing = (
        col(Message.first_replied_at).is_not(None),
        col(Message.reply_working_days).is_(None),
    )
    bounds = session.exec(
        select(
            func.min(Message.received_at),
            func.min(Message.first_replied_at),
            func.max(Message.received_at),
            func.max(Message.first_replied_at),
        ).where(*missing)
    ).one()
    moments = [m for m in bounds if m is not None]
    first, last = min(moments, default=None), max(moments, default=None)
    if first is None or last is None:
        return 0
    settings = load_settings(session=session)
    calendar, tz = load_calendar(session=session), get_settings().tz
    timer = ReplyTimer(calendar, tz, [first, last], day_start=settings.work_start, day_end=settings.work_end)
    table = Message.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values(reply_working_days=bindparam("_days"), reply_working_hours=bindparam("_hours"))
    )
    done, after = 0, 0
    while True:
        rows = session.exec(
            select(Message.id, Message.received_at, Message.first_replied_at)
            .where(*missing, col(Message.id) > after)
            .order_by(col(Message.id))
            .limit(batch)
        ).all()
        if not rows:
            return done
        values = []
        for message_id, received_at, replied_at in rows:
            assert replied_at is not None
            days, hours = timer.measure(received_at, replied_at)
            values.append({"_id": message_id, "_days": days, "_hours": stored_hours(hours)})
        session.execute(statement, values)
        done += len(values)
        after = int(rows[-1][0] or 0)


def _verdict(replied_at: datetime, due_at: datetime | None) -> SlaState:
    return SlaState.met if due_at is None or replied_at <= due_at else SlaState.missed


def mark_replied(*, session: Session, message: Message, replied_at: datetime) -> None:
    """Records the first reply: `first_replied_at` (kept if already set) with the reply time in working
    days and hours, sla_state met or missed by `due_at`, no more checks, and cancels deadline notices
    still waiting to go out."""
    if message.first_replied_at is None:
        message.first_replied_at = replied_at
        settings = load_settings(session=session)
        days, hours = reply_time(
            load_calendar(session=session),
            get_settings().tz,
            message.received_at,
            replied_at,
            day_start=settings.work_start,
            day_end=settings.work_end,
        )
        message.reply_working_days, message.reply_working_hours = days, hours
    before = message.sla_state
    message.sla_state = _verdict(message.first_replied_at, message.due_at)
    message.next_check_at = None
    session.add(message)
    if message.id is not None:
        session.execute(
            update(SlaNotification)
            .where(
                col(SlaNotification.message_id) == message.id,
                col(SlaNotification.state) == NotificationState.pending,
                col(SlaNotification.step).not_in(CONTENT_ALERT_STEPS),
            )
            .values(state=NotificationState.cancelled, last_error="留言已答复", updated_at=clock.now())
        )
    if before != message.sla_state:
        record(
            session=session,
            actor=None,
            action="message.sla_state",
            entity_type="message",
            entity_id=message.id,
            unit_code=message.unit_code,
            before={"sla_state": before},
            after={"sla_state": message.sla_state, "first_replied_at": message.first_replied_at.isoformat()},
        )


def facts_of(message: Message, unit_name: str | None) -> notices.MessageFacts:
    assert message.id is not None
    return notices.MessageFacts(
        id=message.id,
        unit_code=message.unit_code,
        unit_name=unit_name,
        platform=message.platform,
        kind=message.kind,
        content=message.content,
        received_at=message.received_at,
        due_at=message.due_at,
        provisional=message.provisional,
        window_closes_at=message.platform_window_closes_at,
    )


# The row comes as parameters: one statement per dialect, compiled once (values in the statement would
# make a new cache key for every alert).
_ALERT_INSERT = {
    name: dialect.insert(NOTIFICATIONS).on_conflict_do_nothing().returning(NOTIFICATIONS.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _directory(session: Session) -> dict[str, tuple[str, str | None]]:
    units: dict[str, tuple[str, str | None]] | None = session.info.get(_DIRECTORY_KEY)
    if units is None:  # once per session: a pipeline batch may raise several alerts
        units = session.info[_DIRECTORY_KEY] = unit_directory(session)
    return units


def _office(session: Session, message: Message) -> str | None:
    """The supervising office of the message: `SlaSettings.sensitive_unit_code`, else the unit's
    supervisor unit (None if neither)."""
    settings = load_settings(session=session)
    return settings.sensitive_unit_code or _directory(session).get(message.unit_code or "", (None, None))[1]


def _alert(
    *,
    session: Session,
    message: Message,
    step: str,
    target: str,
    unit_code: str | None,
    note: Callable[..., tuple[str, str]],
    action: str,
    now: datetime,
) -> bool:
    """Records one immediate alert (once per message and step; sent at once, working hours or not)."""
    if message.id is None:
        session.flush()
    assert message.id is not None
    units = _directory(session)
    own_name = units.get(message.unit_code or "", (None, None))[0]
    target_name = units.get(unit_code or "", (None, None))[0]
    title, text = note(facts_of(message, own_name), target_name=target_name, tz=get_settings().tz)
    row = notification_row(
        message_id=message.id,
        step=step,
        target=target,
        unit_code=unit_code,
        title=title,
        text=text,
        urgent=True,
        working_hours_only=False,
        send_at=now,
        now=now,
    )
    # One statement decides: the unique (message, step) keeps an alert recorded before, and then nothing
    # is returned and nothing audited.
    added = session.execute(_ALERT_INSERT["postgresql" if is_postgres(session) else "sqlite"], row).first()
    if added is None:
        return False
    record(
        session=session,
        actor=None,
        action=action,
        entity_type="message",
        entity_id=message.id,
        unit_code=message.unit_code,
        after={"notify_unit": unit_code, "target": target, "step": step},
        at=now,
    )
    return True


def _office_alert(
    *, session: Session, message: Message, step: str, note: Callable[..., tuple[str, str]], now: datetime
) -> bool:
    """One alert to the supervising office, else to the unit's own leaders (False: already recorded)."""
    office = _office(session, message)
    return _alert(
        session=session,
        message=message,
        step=step,
        target="supervisor" if office else "leaders",
        unit_code=office or message.unit_code,
        note=note,
        action=f"sla.{step}_alert",
        now=now,
    )


def sensitive_alert(*, session: Session, message: Message, now: datetime | None = None) -> bool:
    """Records an immediate alert to the supervising office about a sensitive message (once per
    message; the notification job sends it at once, working hours or not). Returns False if it was
    already recorded. The supervising office is `SlaSettings.sensitive_unit_code`, else the unit's
    supervisor unit, else the unit's own leaders."""
    return _office_alert(
        session=session,
        message=message,
        step=SENSITIVE_STEP,
        note=notices.sensitive_note,
        now=now or clock.now(),
    )


def prohibited_alert(*, session: Session, message: Message, now: datetime | None = None) -> int:
    """Records the immediate alerts about illegal and harmful content: to the leaders of the message's
    unit and to the supervising office (each once). Returns how many were newly recorded."""
    now = now or clock.now()
    added = 0
    office = _office(session, message)
    for step, target, unit_code in (
        (PROHIBITED_LEADERS_STEP, "leaders", message.unit_code),
        (PROHIBITED_SUPERVISOR_STEP, "supervisor", office),
    ):
        if unit_code is None:
            continue
        added += _alert(
            session=session,
            message=message,
            step=step,
            target=target,
            unit_code=unit_code,
            note=partial(notices.content_note, "prohibited"),
            action="sla.prohibited_alert",
            now=now,
        )
    return added


def rumour_alert(*, session: Session, message: Message, now: datetime | None = None) -> bool:
    """Records the alert asking the information office (the supervising office, else the unit's
    leaders) to confirm or clarify what the message asserts; once per message."""
    note = partial(notices.content_note, "rumour")
    return _office_alert(
        session=session, message=message, step=RUMOUR_STEP, note=note, now=now or clock.now()
    )


# ---------------------------------------------------------------- recompute after a calendar change

RECOMPUTE_PAGE = 500


def recompute_open(
    *,
    session: Session,
    actor: Principal | None,
    window: RecomputeWindow,
    note: str,
    now: datetime | None = None,
) -> int:
    """Recomputes the deadline of every open, unanswered message whose deadline the change of the days
    in `window` can move (and no other); audits each one whose due time or provisional mark changed.
    Returns the number of messages changed."""
    now = now or clock.now()
    changed, last_id = 0, 0
    while True:
        page = list(
            session.exec(
                select(Message)
                .where(
                    col(Message.status).in_(list(OPEN_STATUSES)),
                    col(Message.first_replied_at).is_(None),
                    col(Message.due_at) >= window.due_from,
                    col(Message.received_at) < window.received_before,
                    col(Message.id) > last_id,
                )
                .order_by(col(Message.id))
                .limit(RECOMPUTE_PAGE)
            )
        )
        if not page:
            return changed
        events: list[dict[str, Any]] = []
        for message in page:
            assert message.id is not None
            last_id = message.id
            before = (message.due_at, message.provisional)
            apply_deadline(session=session, message=message, working_days=message.working_days, now=now)
            if (message.due_at, message.provisional) != before:
                changed += 1
                events.append(
                    {
                        "message": message,
                        "before": {"due_at": _iso(before[0]), "provisional": before[1]},
                        "after": {"due_at": _iso(message.due_at), "provisional": message.provisional},
                    }
                )
        for event in events:
            msg: Message = event["message"]
            record(
                session=session,
                actor=actor,
                action="message.deadline_recomputed",
                entity_type="message",
                entity_id=msg.id,
                unit_code=msg.unit_code,
                before=event["before"],
                after=event["after"],
                note=note,
                at=now,
            )
        session.flush()
        for message in page:
            session.expunge(message)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def list_notifications(
    *,
    session: Session,
    units: frozenset[str] | None,
    state: str | None = None,
    message_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[SlaNotification]:
    """The notification records, newest first; `units` limits to those about these units' messages
    (None = all)."""
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
