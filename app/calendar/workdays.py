"""Working-day calendar and the deadline rule built on it (pure: no database, no HTTP).

Official arrangement from `chinesecalendar`, overrides from the database, a provisional fallback otherwise.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

import chinese_calendar

from app.calendar.holidays import statutory_holidays
from app.config import DEFAULT_REPLY_WORKING_DAYS

Source = Literal["official", "override", "provisional", "standard"]
DayKind = Literal["holiday", "workday"]
DueSoonPolicy = Literal["due_day_start", "hours_before", "working_days_before"]

SOURCE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "official": "国务院放假安排",
        "override": "管理员设置",
        "provisional": "暂定（当年放假安排未录入）",
        "standard": "常规作息（周一至周五上班）",
    }
)

# A year without the State Council arrangement is provisional: weekends and the statutory holidays
# (fixed-date and lunar, with their make-up weekdays) rest; see app.calendar.holidays.
DAY_END = time(23, 59, 59)
WORKING_HOURS_START = time(8, 30)
WORKING_HOURS_END = time(17, 30)
# No real arrangement rests longer than a few weeks; a year of rest days means a broken calendar,
# and without this bound a deadline search would never end.
MAX_CONSECUTIVE_REST_DAYS = 366

_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class DayOverride:
    """One day set by an administrator; it wins over every other source."""

    day: date
    kind: DayKind
    note: str = ""
    source: Literal["override"] = "override"


@dataclass(frozen=True)
class DayInfo:
    """Whether one date is a working day, and which source says so."""

    day: date
    workday: bool
    source: Source
    name: str | None = None

    @property
    def provisional(self) -> bool:
        return self.source == "provisional"

    @property
    def standard(self) -> bool:
        """True when the day follows the plain pattern: Monday–Friday work, weekend rest."""
        return self.workday == (self.day.weekday() < 5)

    @property
    def label(self) -> str:
        """Short Chinese description, e.g. `调休上班（春节）`, `放假（国庆节）`, `周末`."""
        weekend = self.day.weekday() >= 5
        if self.workday:
            base = "调休上班" if weekend else "工作日"
        else:
            base = "周末" if weekend and not self.name else "放假"
        return f"{base}（{self.name}）" if self.name else base

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "weekday": _WEEKDAYS[self.day.weekday()],
            "workday": self.workday,
            "source": self.source,
            "source_label": SOURCE_LABELS[self.source],
            "name": self.name,
            "label": self.label,
        }


def _official_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return str(chinese_calendar.Holiday(raw).chinese)
    except ValueError:
        return raw


class WorkCalendar:
    """Answers "is this date a working day?" with the source of the answer.

    Precedence: an override; else the official arrangement (`chinesecalendar`, holidays and
    adjusted working weekends); else, for a year in `complete_years` (its whole arrangement was
    entered as overrides), plain Monday–Friday; else the provisional fallback: weekends and the
    statutory holidays (元旦, 春节 除夕–初三, 清明, 1–2 May, 端午, 中秋, 1–3 Oct, with 补休) rest. `complete_years` only matters for years
    the package does not cover.
    """

    def __init__(
        self,
        overrides: Mapping[date, DayOverride] | None = None,
        complete_years: Iterable[int] = (),
    ) -> None:
        own = dict(overrides or {})
        for day, override in own.items():
            if override.day != day:
                raise ValueError(f"override for {day} is keyed under {override.day}")
        self._overrides: Mapping[date, DayOverride] = MappingProxyType(own)
        self._complete_years = frozenset(complete_years)
        # Each instance is immutable, so per-instance memoisation is safe; it matters when a
        # calendar change recomputes thousands of open deadlines against one calendar.
        self._cache: dict[date, DayInfo] = {}
        # Per year, the sorted ordinals of its working days: counts and "the n-th working day after"
        # become bisections instead of walks day by day (see `workdays_after`, `next_workday`).
        self._workdays: dict[int, list[int]] = {}

    @classmethod
    def from_overrides(
        cls, overrides: Iterable[DayOverride], complete_years: Iterable[int] = ()
    ) -> WorkCalendar:
        return cls({o.day: o for o in overrides}, complete_years)

    @property
    def overrides(self) -> Mapping[date, DayOverride]:
        return self._overrides

    @property
    def complete_years(self) -> frozenset[int]:
        return self._complete_years

    @staticmethod
    def covers_officially(year: int) -> bool:
        """True if the installed `chinesecalendar` has the State Council arrangement for `year`."""
        try:
            chinese_calendar.get_holiday_detail(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    def is_provisional_year(self, year: int) -> bool:
        """True if days of `year` without an override are guessed (no data, not marked complete)."""
        return year not in self._complete_years and not self.covers_officially(year)

    def day_info(self, d: date) -> DayInfo:
        cached = self._cache.get(d)
        if cached is None:
            cached = self._cache[d] = self._resolve(d)
        return cached

    def is_workday(self, d: date) -> bool:
        return self.day_info(d).workday

    def year_workdays(self, year: int) -> list[int]:
        """The ordinals (`date.toordinal`) of `year`'s working days, ascending (computed once per year)."""
        found = self._workdays.get(year)
        if found is None:
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            found = [o for o in range(first, last + 1) if self.is_workday(date.fromordinal(o))]
            self._workdays[year] = found
        return found

    def workdays_after(self, start: date, end: date) -> int:
        """How many working days d satisfy start < d <= end (0 when end <= start)."""
        if end <= start:
            return 0
        lo, hi = start.toordinal(), end.toordinal()
        count = 0
        for year in range(start.year, end.year + 1):
            days = self.year_workdays(year)
            count += bisect_right(days, hi) - bisect_right(days, lo)
        return count

    def next_workday(self, d: date, n: int = 1) -> date:
        """The `n`-th working day after `d` (`n` >= 1; `d` itself not counted)."""
        return self._step(d, n, forward=True)

    def previous_workday(self, d: date, n: int = 1) -> date:
        """The `n`-th working day before `d` (`n` >= 1; `d` itself not counted)."""
        return self._step(d, n, forward=False)

    def _step(self, d: date, n: int, *, forward: bool) -> date:
        if n < 1:
            raise ValueError("n must be >= 1")
        at = d.toordinal()
        for _ in range(n):
            found = self._adjacent(at, forward=forward)
            if abs(found - at) - 1 > MAX_CONSECUTIVE_REST_DAYS:
                raise ValueError(f"{date.fromordinal(at).year}年前后连续一年多没有工作日，请检查日历设置")
            at = found
        return date.fromordinal(at)

    def _adjacent(self, at: int, *, forward: bool) -> int:
        """The nearest working day's ordinal after (or before) ordinal `at`, looking a year and a bit at
        most beyond `at` (a longer rest means a broken calendar; `_step` then reports it)."""
        year = date.fromordinal(at).year
        limit = MAX_CONSECUTIVE_REST_DAYS + 2
        while True:
            days = self.year_workdays(year)
            if forward:
                i = bisect_right(days, at)
                if i < len(days):
                    return days[i]
                year += 1
                if date(year, 1, 1).toordinal() - at > limit:
                    return at + limit
            else:
                i = bisect_left(days, at)
                if i > 0:
                    return days[i - 1]
                year -= 1
                if at - date(year, 12, 31).toordinal() > limit:
                    return at - limit

    def nonstandard_days(self, year: int) -> list[DayInfo]:
        """Every day of `year` that departs from Monday–Friday work, plus every override (even a
        redundant one, so an administrator can see and delete it), in date order."""
        day, end = date(year, 1, 1), date(year, 12, 31)
        found: list[DayInfo] = []
        while day <= end:
            info = self.day_info(day)
            if not info.standard or info.source == "override":
                found.append(info)
            day += timedelta(days=1)
        return found

    def _resolve(self, d: date) -> DayInfo:
        override = self._overrides.get(d)
        if override is not None:
            return DayInfo(d, override.kind == "workday", "override", override.note or None)
        try:
            rest, raw_name = chinese_calendar.get_holiday_detail(d)
        except NotImplementedError:
            pass
        else:
            return DayInfo(d, not rest, "official", _official_name(raw_name))
        if d.year in self._complete_years:
            return DayInfo(d, d.weekday() < 5, "standard")
        name = statutory_holidays(d.year).get(d)
        return DayInfo(d, name is None and d.weekday() < 5, "provisional", name)


# Deadline explanations by (receipt date, rule, days consulted): a pipeline batch shares a few dates.
_DATE_PARTS: dict[tuple[Any, ...], dict[str, Any]] = {}
_DATE_PARTS_MAX = 512


@dataclass(frozen=True)
class Deadline:
    """A computed deadline and how it was worked out (days counted and skipped, with sources)."""

    due_at: datetime
    provisional: bool
    counted: list[DayInfo]
    skipped: list[DayInfo]
    received_at: datetime
    received_on: date
    due_on: date
    working_days: int
    timezone: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready explanation for the API and the message view (ISO dates, Chinese labels).

        Everything but `received_at` follows from the receipt date and the days consulted, so that part
        is worked out once per receipt date and shared (treat the nested lists as read-only)."""
        key = (self.received_on, self.working_days, self.timezone, tuple(self.counted), tuple(self.skipped))
        part = _DATE_PARTS.get(key)
        if part is None:
            if len(_DATE_PARTS) >= _DATE_PARTS_MAX:
                _DATE_PARTS.clear()
            part = _DATE_PARTS[key] = self._date_part()
        # The placeholder keeps "received_at" in its place: replacing a key's value keeps the order.
        return {**part, "received_at": _iso_utc(self.received_at)}

    def _date_part(self) -> dict[str, Any]:
        """`to_dict` without the receipt time (a placeholder holds its place in the order)."""
        tz = ZoneInfo(self.timezone)
        # `n` is the ordinal of each counted working day; the out-of-scope rule's single day is 0.
        first = 0 if self.working_days == 0 else 1
        counted = [{"n": n, **info.to_dict()} for n, info in enumerate(self.counted, start=first)]
        return {
            "due_at": _iso_utc(self.due_at),
            "due_at_local": self.due_at.astimezone(tz).isoformat(),
            "due_on": self.due_on.isoformat(),
            "provisional": self.provisional,
            "received_at": None,
            "received_on": self.received_on.isoformat(),
            "working_days": self.working_days,
            "timezone": self.timezone,
            "rule": _rule_text(self.working_days),
            "counted": counted,
            "skipped": [info.to_dict() for info in self.skipped],
            "explanation": self.explanation(),
        }

    def explanation(self) -> str:
        """One Chinese paragraph a unit can check by hand."""
        parts = [f"{_cn_date(self.received_on)}收到。{_rule_text(self.working_days)}。"]
        if self.counted:
            parts.append(f"计入的工作日：{_cn_days(self.counted, self.received_on.year)}。")
        if self.skipped:
            parts.append(f"跳过的休息日：{_cn_days(self.skipped, self.received_on.year)}。")
        parts.append(f"截止时间：{_cn_date(self.due_on)} 23:59:59（{self.timezone}）。")
        if self.provisional:
            years = sorted({info.day.year for info in (*self.counted, *self.skipped) if info.provisional})
            listed = "、".join(f"{y}年" for y in years)
            parts.append(
                f"其中{listed}放假安排尚未录入，暂按周末及元旦、劳动节、国庆节固定日期计算，录入后将重新计算。"
            )
        return "".join(parts)


def _iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _cn_day(d: date, year: int) -> str:
    prefix = f"{d.year}年" if d.year != year else ""
    return f"{prefix}{d.month}月{d.day}日"


def _cn_days(days: list[DayInfo], year: int) -> str:
    """Dates in Chinese, consecutive days with the same description merged into one range."""
    runs: list[list[DayInfo]] = []
    for info in days:
        last = runs[-1][-1] if runs else None
        same = last is not None and (last.label, last.source) == (info.label, info.source)
        if same and last is not None and info.day - last.day == timedelta(days=1) and info.label != "工作日":
            runs[-1].append(info)
        else:
            runs.append([info])
    texts = []
    for run in runs:
        first, last = run[0], run[-1]
        text = _cn_day(first.day, year) + _WEEKDAYS[first.day.weekday()]
        if len(run) > 1:
            text += f"至{_cn_day(last.day, year)}{_WEEKDAYS[last.day.weekday()]}"
        if not first.standard or first.name:
            text += f" {first.label}"
        if first.provisional:
            text += "（暂定）"
        elif first.source == "override":
            text += "（管理员设置）"
        texts.append(text)
    return "、".join(texts)


def _rule_text(working_days: int) -> str:
    if working_days == 0:
        return "不属于受理范围的留言：收到当日为工作日的，当日 23:59:59 截止；否则顺延至下一个工作日"
    return f"收到当日不计入，自次日起算第 {working_days} 个工作日的 23:59:59 截止"


def _require_aware(at: datetime, name: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _at_local(d: date, t: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, t, tzinfo=tz).astimezone(UTC)


def deadline(
    received_at: datetime,
    *,
    working_days: int = DEFAULT_REPLY_WORKING_DAYS,
    calendar: WorkCalendar,
    tz: ZoneInfo,
) -> Deadline:
    """The deadline of a message received at `received_at` (aware; any offset, UTC expected).

    `working_days >= 1`: the local date of receipt is not counted; due at 23:59:59 local time of
    the N-th working day after it. `working_days == 0` (out-of-scope rule): due at 23:59:59 of the
    receipt date if it is a working day, else of the next working day. `provisional` is true if
    any day consulted (counted or skipped) came from the provisional fallback.
    """
    _require_aware(received_at, "received_at")
    if working_days < 0:
        raise ValueError("working_days must be >= 0")
    received_on = received_at.astimezone(tz).date()
    counted: list[DayInfo] = []
    skipped: list[DayInfo] = []
    needed = max(working_days, 1)
    # The out-of-scope rule consults the receipt day itself; the N-day rule starts the day after.
    day = received_on if working_days == 0 else received_on + timedelta(days=1)
    rest_run = 0
    while True:
        info = calendar.day_info(day)
        if info.workday:
            counted.append(info)
            rest_run = 0
            if len(counted) == needed:
                break
        else:
            skipped.append(info)
            rest_run += 1
            if rest_run > MAX_CONSECUTIVE_REST_DAYS:
                raise ValueError(f"{day.year}年前后连续 {rest_run} 天没有工作日，请检查日历设置")
        day += timedelta(days=1)
    return Deadline(
        due_at=_at_local(day, DAY_END, tz),
        provisional=any(i.provisional for i in (*counted, *skipped)),
        counted=counted,
        skipped=skipped,
        received_at=received_at.astimezone(UTC),
        received_on=received_on,
        due_on=day,
        working_days=working_days,
        timezone=tz.key,
    )


def due_soon_at(
    due_at: datetime,
    *,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    policy: DueSoonPolicy = "due_day_start",
    hours: float | None = None,
    working_days: int = 1,
) -> datetime:
    """When a message becomes `due_soon` (UTC).

    - `due_day_start` (default): 00:00 local time of the due day;
    - `hours_before`: `hours` before `due_at`;
    - `working_days_before`: 00:00 local time of the working day `working_days` working days
      before the due day (0 = the due day itself).
    """
    _require_aware(due_at, "due_at")
    due_on = due_at.astimezone(tz).date()
    if policy == "due_day_start":
        return _at_local(due_on, time(0), tz)
    if policy == "hours_before":
        if hours is None or hours < 0:
            raise ValueError("hours_before needs hours >= 0")
        return due_at.astimezone(UTC) - timedelta(hours=hours)
    if policy == "working_days_before":
        if working_days < 0:
            raise ValueError("working_days must be >= 0")
        day = calendar.previous_workday(due_on, working_days) if working_days else due_on
        return _at_local(day, time(0), tz)
    raise ValueError(f"unknown due-soon policy {policy!r}")


def working_days_after(start: date, end: date, *, calendar: WorkCalendar) -> int:
    """Working days d with start < d <= end (0 when end <= start): e.g. how many working days a
    deadline on `start` is overdue on `end`."""
    return calendar.workdays_after(start, end)


def working_days_between(start: datetime, end: datetime, *, calendar: WorkCalendar, tz: ZoneInfo) -> int:
    """Whole working days from `start` (receipt) to `end` (e.g. the first reply), for reports.

    Defined as the smallest N >= 0 such that `end <= deadline(start, working_days=N).due_at`, so
    `working_days_between(r, a) <= N` exactly when `a` meets the N-working-day limit. In practice:
    a reply on the receipt day (or before the first working day, if received on a rest day) = 0;
    on the k-th working day after the receipt date = k; on a rest day after the k-th working
    day = k + 1 (it is already late for a k-day limit). `end <= start` gives 0.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        return 0
    received_on = start.astimezone(tz).date()
    # The out-of-scope (0-day) deadline: the end of the first working day on or after the receipt date.
    first = received_on if calendar.is_workday(received_on) else calendar.next_workday(received_on)
    if end <= _at_local(first, DAY_END, tz):
        return 0
    end_local = end.astimezone(tz)
    count = calendar.workdays_after(received_on, end_local.date())
    # A reply on a rest day, or in the last fraction of a second after 23:59:59, falls after the
    # deadline of the count so far and inside the next one.
    after_day_end = end_local.time() > DAY_END
    if not calendar.is_workday(end_local.date()) or after_day_end:
        count += 1
    return count


def working_hours_between(
    start: datetime,
    end: datetime,
    *,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    day_start: time = WORKING_HOURS_START,
    day_end: time = WORKING_HOURS_END,
) -> float:
    """Hours of [start, end) that fall inside working hours (`day_start`–`day_end` local) on working days."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if day_start >= day_end:
        raise ValueError("day_start must be before day_end")
    if end <= start:
        return 0.0
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()

    def part(day: date) -> timedelta:
        if not calendar.is_workday(day):
            return timedelta()
        lo = max(start, _at_local(day, day_start, tz))
        hi = min(end, _at_local(day, day_end, tz))
        return hi - lo if hi > lo else timedelta()

    total = part(first)
    if last > first:
        # The days strictly between are whole: each working one adds its full window (daytime, so the
        # same length every day wherever clocks change at night, as they do in every zone in use).
        window = datetime.combine(first, day_end) - datetime.combine(first, day_start)
        total += part(last) + window * calendar.workdays_after(first, last - timedelta(days=1))
    return total.total_seconds() / 3600


def next_working_time(
    at: datetime,
    *,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    start: time = WORKING_HOURS_START,
    end: time = WORKING_HOURS_END,
) -> datetime:
    """The earliest moment at or after `at` within [start, end) local time on a working day (UTC).

    Routine notices wait for it; `at` itself is returned when it is already inside working hours.
    """
    _require_aware(at, "at")
    if start >= end:
        raise ValueError("start must be before end")
    local = at.astimezone(tz)
    day = local.date()
    if calendar.is_workday(day):
        if local.time() < start:
            return _at_local(day, start, tz)
        if local.time() < end:
            return at.astimezone(UTC)
    return _at_local(calendar.next_workday(day), start, tz)


@dataclass(frozen=True)
class RecomputeWindow:
    """The deadlines a calendar change in [first, last] can move, as two indexable bounds.

    A deadline depends only on the days from its local receipt date to its local due date, so it
    can move iff that window meets [first, last]: `received_at < received_before` and
    `due_at >= due_from`. Any deadline made provisional by a day in the range satisfies both.
    """

    first: date
    last: date
    received_before: datetime
    due_from: datetime

    def contains(self, *, received_at: datetime, due_at: datetime) -> bool:
        _require_aware(received_at, "received_at")
        _require_aware(due_at, "due_at")
        return received_at < self.received_before and due_at >= self.due_from


def recompute_window(first: date, last: date | None = None, *, tz: ZoneInfo) -> RecomputeWindow:
    """Bounds selecting open deadlines to recompute after the days `first`..`last` changed
    (one day: omit `last`; a whole year entered or marked complete: 1 Jan..31 Dec)."""
    last = first if last is None else last
    if last < first:
        raise ValueError("last must not be before first")
    return RecomputeWindow(
        first=first,
        last=last,
        received_before=_at_local(last + timedelta(days=1), time(0), tz),
        due_from=_at_local(first, time(0), tz),
    )


def deadline_may_move(*, received_at: datetime, due_at: datetime, changed: date, tz: ZoneInfo) -> bool:
    """True if changing the working-day status of `changed` can move this deadline."""
    return recompute_window(changed, tz=tz).contains(received_at=received_at, due_at=due_at)
