"""The report's fast reply timer counts exactly like the SLA calendar's working_days_between and
working_hours_between: random pairs over the 2025 holidays, plus the edge cases by hand."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.calendar.timing import ReplyTimer
from app.calendar.workdays import DayOverride, WorkCalendar, working_days_between, working_hours_between

TZ = ZoneInfo("Asia/Shanghai")


def local(*parts: int, micro: int = 0) -> datetime:
    return datetime(*parts, microsecond=micro, tzinfo=TZ).astimezone(UTC)  # type: ignore[misc]


EDGES = [
    (local(2025, 3, 3, 9), local(2025, 3, 3, 18)),  # same day
    (local(2025, 3, 1, 10), local(2025, 3, 3, 23, 59, 59)),  # received Saturday, answered Monday night
    (local(2025, 3, 1, 10), local(2025, 3, 4, 0, 0)),
    (local(2025, 3, 3, 9), local(2025, 3, 3, 23, 59, 59, micro=500_000)),  # after the last second
    (local(2025, 3, 7, 17), local(2025, 3, 8, 11)),  # answered on Saturday
    (local(2025, 9, 30, 9), local(2025, 10, 9, 9)),  # across National Day
    (local(2025, 9, 27, 9), local(2025, 9, 28, 9)),  # Sunday 28 September 2025 is a working day
    (local(2025, 3, 3, 9), local(2025, 3, 3, 8)),  # reply before receipt
]


@pytest.mark.parametrize("start,end", EDGES)
def test_edges_match_the_calendar(start, end):
    calendar = WorkCalendar()
    timer = ReplyTimer(calendar, TZ, [start, end])
    assert timer.working_days(start, end) == working_days_between(start, end, calendar=calendar, tz=TZ)
    assert timer.working_hours(start, end) == pytest.approx(
        working_hours_between(start, end, calendar=calendar, tz=TZ)
    )


def test_random_pairs_match_the_calendar_with_overrides():
    calendar = WorkCalendar.from_overrides([DayOverride(date(2025, 6, 3), "holiday", "演练")])
    rng = random.Random(20250320)
    pairs = []
    for _ in range(3000):
        start = local(2025, 1, 1) + timedelta(minutes=rng.randrange(0, 360 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(-600, 40 * 24 * 60))
        pairs.append((start, end))
    timer = ReplyTimer(calendar, TZ, [m for pair in pairs for m in pair])
    for start, end in pairs:
        assert timer.working_days(start, end) == working_days_between(start, end, calendar=calendar, tz=TZ)
        assert timer.working_hours(start, end) == pytest.approx(
            working_hours_between(start, end, calendar=calendar, tz=TZ)
        )


def test_custom_working_hours():
    calendar = WorkCalendar()
    start, end = local(2025, 3, 3, 7), local(2025, 3, 5, 20)
    timer = ReplyTimer(calendar, TZ, [start, end], day_start=time(9), day_end=time(17))
    expected = working_hours_between(
        start, end, calendar=calendar, tz=TZ, day_start=time(9), day_end=time(17)
    )
    assert timer.working_hours(start, end) == pytest.approx(expected) == 24.0
