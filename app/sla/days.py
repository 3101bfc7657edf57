"""Calendar administration: override single days, enter a whole year's arrangement. Every change bumps
the calendar version, recomputes the open deadlines it can move, and is audited."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.auth import Principal
from app.calendar.models import CalendarChangePublic, CalendarDay, CalendarYear, DayPut, YearPut
from app.calendar.service import calendar_changed, check_year, day_public, load_calendar
from app.calendar.workdays import recompute_window
from app.config import get_settings
from app.errors import Invalid, NotFound
from app.sla.service import recompute_open
from app.users.models import Role


def _get_override(session: Session, day: date) -> CalendarDay | None:
    return session.exec(select(CalendarDay).where(CalendarDay.day == day)).first()


def _view(row: CalendarDay | None) -> dict[str, str] | None:
    return None if row is None else {"kind": row.kind, "note": row.note}


def set_day(*, session: Session, actor: Principal, day: date, data: DayPut) -> CalendarChangePublic:
    """Sets (or replaces) the override for one date (admin only)."""
    actor.require(Role.admin)
    check_year(day.year)
    now = clock.now()
    row = _get_override(session, day)
    before = _view(row)
    if row is None:
        row = CalendarDay(day=day, kind=data.kind, note=data.note, updated_by=actor.name, updated_at=now)
    else:
        row.kind, row.note, row.updated_by, row.updated_at = data.kind, data.note, actor.name, now
    session.add(row)
    session.flush()
    return _finish(
        session,
        actor,
        action="calendar.day_set",
        entity_id=day.isoformat(),
        before=before,
        after=_view(row),
        first=day,
        last=day,
        note=f"{day.isoformat()} 设为{'上班' if data.kind == 'workday' else '放假'}"
        + (f"（{data.note}）" if data.note else ""),
        result_day=day,
        override=row,
    )


def clear_day(*, session: Session, actor: Principal, day: date) -> CalendarChangePublic:
    """Removes the override for one date (admin only); the official or default rule applies again."""
    actor.require(Role.admin)
    row = _get_override(session, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} 没有管理员设置")
    before = _view(row)
    session.delete(row)
    session.flush()
    return _finish(
        session,
        actor,
        action="calendar.day_clear",
        entity_id=day.isoformat(),
        before=before,
        after=None,
        first=day,
        last=day,
        note=f"{day.isoformat()} 取消管理员设置",
        result_day=day,
        override=None,
    )


def set_year(*, session: Session, actor: Principal, year: int, data: YearPut) -> CalendarChangePublic:
    """Replaces a year's overrides with `data.days` and marks the year complete (or not), in one
    transaction (admin only)."""
    actor.require(Role.admin)
    check_year(year)
    outside = [d.date.isoformat() for d in data.days if d.date.year != year]
    if outside:
        raise Invalid(f"不属于 {year} 年的日期：{'、'.join(outside[:5])}")
    now = clock.now()
    first, last = date(year, 1, 1), date(year, 12, 31)
    in_year = (col(CalendarDay.day) >= first, col(CalendarDay.day) <= last)
    old = {row.day.isoformat(): row.kind for row in session.exec(select(CalendarDay).where(*in_year))}
    marker = session.get(CalendarYear, year)
    session.execute(delete(CalendarDay).where(*in_year))
    session.flush()
    for item in data.days:
        session.add(
            CalendarDay(day=item.date, kind=item.kind, note=item.note, updated_by=actor.name, updated_at=now)
        )
    if data.complete and marker is None:
        session.add(CalendarYear(year=year, note=data.note, updated_by=actor.name, updated_at=now))
    elif data.complete and marker is not None:
        marker.note, marker.updated_by, marker.updated_at = data.note, actor.name, now
        session.add(marker)
    elif marker is not None:
        session.delete(marker)
    session.flush()
    holidays = sum(1 for d in data.days if d.kind == "holiday")
    result = _finish(
        session,
        actor,
        action="calendar.year_set",
        entity_id=str(year),
        before={"complete": marker is not None, "days": old},
        after={"complete": data.complete, "days": {d.date.isoformat(): d.kind for d in data.days}},
        first=first,
        last=last,
        note=f"录入 {year} 年放假安排：放假 {holidays} 天、调休上班 {len(data.days) - holidays} 天"
        + ("，已标记为完整" if data.complete else "")
        + (f"（{data.note}）" if data.note else ""),
        result_day=None,
        override=None,
        entity_type="calendar_year",
    )
    result.year, result.overrides, result.complete = year, len(data.days), data.complete
    return result


def _finish(
    session: Session,
    actor: Principal,
    *,
    action: str,
    entity_id: str,
    before: object,
    after: object,
    first: date,
    last: date,
    note: str,
    result_day: date | None,
    override: CalendarDay | None,
    entity_type: str = "calendar_day",
) -> CalendarChangePublic:
    now = clock.now()
    calendar_changed(session=session, now=now)
    recomputed = recompute_open(
        session=session,
        actor=actor,
        window=recompute_window(first, last, tz=get_settings().tz),
        note=f"日历调整：{note}",
        now=now,
    )
    record(
        session=session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before if isinstance(before, dict) else None,
        after=after if isinstance(after, dict) else None,
        note=f"{note}；重新计算 {recomputed} 条未办结留言的答复时限",
        at=now,
    )
    session.commit()
    day_view = None
    if result_day is not None:
        day_view = day_public(load_calendar(session=session).day_info(result_day), override)
    return CalendarChangePublic(day=day_view, recomputed=recomputed)
