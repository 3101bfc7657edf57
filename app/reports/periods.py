"""Report periods: local-time day, week, month and quarter buckets as UTC boundaries, so SQL can
group by them on any database without time-zone functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

MAX_BUCKETS = 400


class Period(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"


@dataclass(frozen=True)
class Bucket:
    key: str  # 2020-01-06 / 2020-W02 / 2020-01 / 2020-Q1
    label: str  # Chinese, for files and charts
    start: date  # first local date
    end: date  # first local date of the next bucket
    start_at: datetime  # UTC
    end_at: datetime  # UTC


def local_midnight(d: date, tz: ZoneInfo) -> datetime:
    """The UTC instant local date `d` begins in `tz`."""
    return datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)


def period_start(d: date, period: Period) -> date:
    """The first local date of the bucket holding `d`."""
    if period == Period.day:
        return d
    if period == Period.week:
        return d - timedelta(days=d.weekday())
    if period == Period.month:
        return d.replace(day=1)
    return d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)


def next_start(d: date, period: Period) -> date:
    """The first local date of the bucket after the one starting on `d`."""
    if period == Period.day:
        return d + timedelta(days=1)
    if period == Period.week:
        return d + timedelta(days=7)
    months = 1 if period == Period.month else 3
    month = d.month - 1 + months
    return date(d.year + month // 12, month % 12 + 1, 1)


def _key_and_label(d: date, period: Period) -> tuple[str, str]:
    if period == Period.day:
        return d.isoformat(), f"{d.month}月{d.day}日"
    if period == Period.week:
        year, week, _ = d.isocalendar()
        end = d + timedelta(days=6)
        return f"{year}-W{week:02d}", f"{d.month}月{d.day}日–{end.month}月{end.day}日"
    if period == Period.month:
        return f"{d.year}-{d.month:02d}", f"{d.year}年{d.month}月"
    quarter = (d.month - 1) // 3 + 1
    return f"{d.year}-Q{quarter}", f"{d.year}年第{quarter}季度"


def buckets(first: date, last: date, period: Period, *, tz: ZoneInfo) -> list[Bucket]:
    """Every bucket from the one holding local date `first` to the one holding `last`, in order."""
    if last < first:
        return []
    out: list[Bucket] = []
    start = period_start(first, period)
    while start <= last:
        if len(out) >= MAX_BUCKETS:
            raise ValueError(f"too many {period.value} buckets")
        end = next_start(start, period)
        key, label = _key_and_label(start, period)
        out.append(Bucket(key, label, start, end, local_midnight(start, tz), local_midnight(end, tz)))
        start = end
    return out
