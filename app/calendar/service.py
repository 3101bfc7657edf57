"""The working-day calendar in force — the official arrangement plus the database's overrides and
complete years — cached per process and reloaded when another process changes it; and a year's view
for the administrators."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from app import versioning
from app.calendar.models import (
    CalendarDay,
    CalendarDayPublic,
    CalendarVersion,
    CalendarYear,
    CalendarYearPublic,
)
from app.calendar.workdays import DayInfo, DayOverride, WorkCalendar
from app.errors import Invalid
from app.versioning import VersionedCache, VersionKey

VERSION_ID = 1
MIN_YEAR, MAX_YEAR = 2000, 2100

_calendar_cache: VersionedCache[VersionKey, WorkCalendar] = VersionedCache("calendar")


def _calendar_version(session: Session) -> VersionKey | None:
    return versioning.read(CalendarVersion, session=session, row_id=VERSION_ID)


def _build_calendar(session: Session, _key: VersionKey | None) -> WorkCalendar:
    overrides = [
        DayOverride(row.day, "workday" if row.kind == "workday" else "holiday", row.note)
        for row in session.exec(select(CalendarDay))
    ]
    years = list(session.exec(select(CalendarYear.year)))
    return WorkCalendar.from_overrides(overrides, complete_years=years)


def load_calendar(*, session: Session) -> WorkCalendar:
    """The working-day calendar: official arrangement + the database's overrides and complete years.

    Cached in the process and checked against the database's version row once per session, so a
    change made by another process is seen by the next request or job."""
    return _calendar_cache.get(session, key=_calendar_version, build=_build_calendar)


def calendar_changed(*, session: Session, now: datetime) -> None:
    """Bumps the calendar version (in the caller's transaction) so that every process reloads."""
    versioning.bump(CalendarVersion, session=session, row_id=VERSION_ID, now=now)
    _calendar_cache.forget(session)


def check_year(year: int) -> None:
    """Raises Invalid for a year outside MIN_YEAR–MAX_YEAR."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid(f"年份应在 {MIN_YEAR}–{MAX_YEAR} 之间")


def day_public(info: DayInfo, override: CalendarDay | None = None) -> CalendarDayPublic:
    data = info.to_dict()
    return CalendarDayPublic(
        date=info.day,
        weekday=data["weekday"],
        workday=info.workday,
        source=info.source,
        source_label=data["source_label"],
        name=info.name,
        label=info.label,
        note=override.note if override else None,
        updated_by=override.updated_by if override else None,
        updated_at=override.updated_at if override else None,
    )


def list_year(*, session: Session, year: int) -> CalendarYearPublic:
    """Every day of `year` that is not plain Monday–Friday work, plus every override, with its source."""
    check_year(year)
    calendar = load_calendar(session=session)
    overrides = {
        row.day: row
        for row in session.exec(
            select(CalendarDay).where(
                col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31)
            )
        )
    }
    return CalendarYearPublic(
        year=year,
        official=calendar.covers_officially(year),
        complete=year in calendar.complete_years,
        provisional=calendar.is_provisional_year(year),
        days=[day_public(info, overrides.get(info.day)) for info in calendar.nonstandard_days(year)],
    )
