"""Reply times: working days and working hours from receipt to first reply, counted exactly as
`app.calendar.workdays.working_days_between` / `working_hours_between` do, but from per-day tables built once
for the dates involved, so that filling the stored reply times of many messages stays quick."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.calendar.workdays import DAY_END, WORKING_HOURS_END, WORKING_HOURS_START, WorkCalendar

# Stored working hours keep the one decimal the reports show: rounding commutes with taking a
# percentile, so the reports' medians and p90s are the same whether taken before or after it.
HOURS_DIGITS = 1

# A receipt on a long holiday looks ahead to the next working day: leave room for it.
LOOKAHEAD_DAYS = 60


class ReplyTimer:
    """Counts working time between pairs of aware datetimes whose local dates lie in a known span."""

    def __init__(
        self,
        calendar: WorkCalendar,
        tz: ZoneInfo,
        moments: Iterable[datetime],
        *,
        day_start: time = WORKING_HOURS_START,
        day_end: time = WORKING_HOURS_END,
    ) -> None:
        if day_start >= day_end:
            raise ValueError("day_start must be before day_end")
        self.tz = tz
        days = [m.astimezone(tz).date() for m in moments]
        first = min(days, default=date(2000, 1, 1))
        last = max(days, default=first) + timedelta(days=LOOKAHEAD_DAYS)
        self._base = first.toordinal()
        size = last.toordinal() - self._base + 1

        def at(d: date, t: time) -> datetime:
            return datetime.combine(d, t, tzinfo=tz).astimezone(UTC)

        dates = [first + timedelta(days=i) for i in range(size)]
        self._workday = [calendar.is_workday(d) for d in dates]
        self._cum: list[int] = []  # working days in [first, first + i]
        count = 0
        for work in self._workday:
            count += int(work)
            self._cum.append(count)
        self._opens = [at(d, day_start) for d in dates]
        self._closes = [at(d, day_end) for d in dates]
        # The out-of-scope (0-day) deadline of a receipt on day i: the end of the first working day >= i.
        self._zero_due: list[datetime | None] = [None] * size
        following: datetime | None = None
        for i in range(size - 1, -1, -1):
            if self._workday[i]:
                following = at(dates[i], DAY_END)
            self._zero_due[i] = following
        self._day_ends = [at(d, DAY_END) for d in dates]
        self._window = datetime.combine(first, day_end) - datetime.combine(first, day_start)

    def _index(self, moment: datetime) -> int:
        i = moment.astimezone(self.tz).date().toordinal() - self._base
        if not 0 <= i < len(self._cum):
            raise ValueError(f"{moment} is outside the timer's span")
        return i

    def measure(self, start: datetime, end: datetime) -> tuple[int, float]:
        """(working days as `working_days_between`, working hours as `working_hours_between`)."""
        if end <= start:
            return 0, 0.0
        i, j = self._index(start), self._index(end)
        zero_due = self._zero_due[i]
        if zero_due is None:
            raise ValueError("no working day within the timer's span")
        if end <= zero_due:
            days = 0
        else:
            days = self._cum[j] - self._cum[i]
            if not self._workday[j] or end > self._day_ends[j]:
                days += 1
        if i == j:
            hours = self._part(i, start, end)
        else:
            hours = self._part(i, start, end) + self._part(j, start, end)
            # Working hours are daytime, so a day's window has the same length on every day.
            hours += self._window * (self._cum[j - 1] - self._cum[i])
        return days, hours.total_seconds() / 3600

    def _part(self, k: int, start: datetime, end: datetime) -> timedelta:
        if not self._workday[k]:
            return timedelta()
        lo = max(start, self._opens[k])
        hi = min(end, self._closes[k])
        return hi - lo if hi > lo else timedelta()

    def working_days(self, start: datetime, end: datetime) -> int:
        return self.measure(start, end)[0]

    def working_hours(self, start: datetime, end: datetime) -> float:
        return self.measure(start, end)[1]


def stored_hours(hours: float) -> float:
    """Working hours as stored on a message and counted by the reports."""
    return round(hours, HOURS_DIGITS)


def reply_time(
    calendar: WorkCalendar,
    tz: ZoneInfo,
    received_at: datetime,
    replied_at: datetime,
    *,
    day_start: time = WORKING_HOURS_START,
    day_end: time = WORKING_HOURS_END,
) -> tuple[int, float]:
    """(working days, stored working hours) from `received_at` to `replied_at`."""
    timer = ReplyTimer(calendar, tz, [received_at, replied_at], day_start=day_start, day_end=day_end)
    days, hours = timer.measure(received_at, replied_at)
    return days, stored_hours(hours)
