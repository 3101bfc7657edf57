"""Calendar arithmetic by bisection over per-year working-day arrays gives exactly what walking the
calendar day by day gives: random instants and spans over 2000–2100 (official years, provisional years,
administrator overrides, years marked complete), in Beijing time and in a zone that changes its clocks."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.calendar.workdays import (
    DAY_END,
    WORKING_HOURS_END,
    WORKING_HOURS_START,
    DayOverride,
    WorkCalendar,
    deadline,
    due_soon_at,
    next_working_time,
    working_days_after,
    working_days_between,
    working_hours_between,
)

ZONES = [ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")]
FIRST, LAST = date(2000, 1, 1), date(2100, 12, 31)


# The day-by-day definitions these functions had before (the oracle).
def walk_days_after(start: date, end: date, cal: WorkCalendar) -> int:
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += cal.is_workday(day)
    return count


def walk_days_between(start: datetime, end: datetime, cal: WorkCalendar, tz: ZoneInfo) -> int:
    if end <= start or end <= deadline(start, working_days=0, calendar=cal, tz=tz).due_at:
        return 0
    end_local = end.astimezone(tz)
    count = walk_days_after(start.astimezone(tz).date(), end_local.date(), cal)
    if not cal.is_workday(end_local.date()) or end_local.time() > DAY_END:
        count += 1
    return count


def at(d: date, t: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, t, tzinfo=tz).astimezone(UTC)


def walk_hours(start: datetime, end: datetime, cal: WorkCalendar, tz: ZoneInfo) -> float:
    if end <= start:
        return 0.0
    total = timedelta()
    day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    while day <= last:
        if cal.is_workday(day):
            lo, hi = max(start, at(day, WORKING_HOURS_START, tz)), min(end, at(day, WORKING_HOURS_END, tz))
            total += max(hi - lo, timedelta())
        day += timedelta(days=1)
    return total.total_seconds() / 3600


def walk_next_working_time(moment: datetime, cal: WorkCalendar, tz: ZoneInfo) -> datetime:
    local = moment.astimezone(tz)
    day = local.date()
    if cal.is_workday(day) and local.time() < WORKING_HOURS_END:
        return max(moment, at(day, WORKING_HOURS_START, tz))
    day += timedelta(days=1)
    while not cal.is_workday(day):
        day += timedelta(days=1)
    return at(day, WORKING_HOURS_START, tz)


def walk_previous(day: date, n: int, cal: WorkCalendar) -> date:
    found = 0
    while found < n:
        day -= timedelta(days=1)
        found += cal.is_workday(day)
    return day


def random_calendar(rng: random.Random) -> WorkCalendar:
    """Overrides scattered over the century (including whole weeks off), some years marked complete."""
    overrides: dict[date, DayOverride] = {}
    for _ in range(rng.randrange(0, 400)):
        first = FIRST + timedelta(days=rng.randrange((LAST - FIRST).days))
        kind = rng.choice(["holiday", "workday"])
        for k in range(rng.choice([1, 1, 1, 3, 7, 12])):
            day = first + timedelta(days=k)
            overrides[day] = DayOverride(day=day, kind=kind)
    complete = rng.sample(range(2000, 2101), rng.randrange(0, 20))
    return WorkCalendar(overrides, complete)


def random_instant(rng: random.Random, tz: ZoneInfo, near: datetime | None = None, span: int = 0) -> datetime:
    if near is None:
        day = FIRST + timedelta(days=rng.randrange((LAST - FIRST).days))
    else:
        day = near.astimezone(tz).date() + timedelta(days=rng.randrange(span + 1))
    moment = datetime.combine(day, time(rng.randrange(24), rng.randrange(60), rng.randrange(60)), tzinfo=tz)
    if rng.random() < 0.05:
        moment = datetime.combine(day, DAY_END, tzinfo=tz) + timedelta(microseconds=rng.randrange(1, 999_999))
    return moment.astimezone(UTC)


@pytest.mark.parametrize("seed", range(4))
def test_spans_agree_with_the_day_by_day_walk(seed: int) -> None:
    rng = random.Random(seed)
    cal = random_calendar(rng)
    for tz in ZONES:
        for _ in range(100):
            span = rng.choice([0, 1, 3, 10, 40, 400, 3000])
            start = random_instant(rng, tz)
            end = random_instant(rng, tz, near=start, span=span)
            if end.year > 2100:
                continue
            s_day, e_day = start.astimezone(tz).date(), end.astimezone(tz).date()
            assert working_days_after(s_day, e_day, calendar=cal) == walk_days_after(s_day, e_day, cal)
            assert working_days_after(e_day, s_day, calendar=cal) == 0
            assert working_days_between(start, end, calendar=cal, tz=tz) == walk_days_between(
                start, end, cal, tz
            )
            assert working_hours_between(start, end, calendar=cal, tz=tz) == pytest.approx(
                walk_hours(start, end, cal, tz), abs=1e-9
            )
            assert next_working_time(start, calendar=cal, tz=tz) == walk_next_working_time(start, cal, tz)


@pytest.mark.parametrize("seed", range(3))
def test_working_days_before_a_due_day_agree(seed: int) -> None:
    rng = random.Random(100 + seed)
    cal = random_calendar(rng)
    tz = ZONES[0]
    for _ in range(300):
        due_at = random_instant(rng, tz)
        n = rng.randrange(0, 12)
        expected_day = walk_previous(due_at.astimezone(tz).date(), n, cal)
        got = due_soon_at(due_at, calendar=cal, tz=tz, policy="working_days_before", working_days=n)
        assert got == at(expected_day, time(0), tz)
        if n:
            assert cal.previous_workday(due_at.astimezone(tz).date(), n) == expected_day


def test_whole_century_counts() -> None:
    cal = WorkCalendar()
    assert working_days_after(FIRST, LAST, calendar=cal) == walk_days_after(FIRST, LAST, cal)
    days_2025 = cal.year_workdays(2025)
    assert len(days_2025) == walk_days_after(date(2024, 12, 31), date(2025, 12, 31), cal)
    assert cal.next_workday(date(2024, 12, 31), len(days_2025)) == date.fromordinal(days_2025[-1])
    assert cal.previous_workday(date(2026, 1, 1), len(days_2025)) == date.fromordinal(days_2025[0])


def test_a_year_without_working_days_is_reported_not_searched_forever() -> None:
    rest = {date(2031, 1, 1) + timedelta(days=k): None for k in range(400)}
    cal = WorkCalendar({d: DayOverride(day=d, kind="holiday") for d in rest})
    with pytest.raises(ValueError, match="没有工作日"):
        cal.next_workday(date(2030, 12, 31))
    with pytest.raises(ValueError, match="没有工作日"):
        cal.previous_workday(date(2032, 2, 5))
    assert working_days_after(date(2030, 12, 31), date(2032, 12, 31), calendar=cal) == walk_days_after(
        date(2030, 12, 31), date(2032, 12, 31), cal
    )
