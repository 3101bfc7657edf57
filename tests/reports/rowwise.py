"""The reports as they were computed before the stored reply times and SQL aggregation: every answered
row read back and measured with `ReplyTimer`, every overdue row walked in Python. Used only by the test
that compares them with `app.reports.service` on random data."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal_column
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.auth import Principal
from app.calendar.timing import ReplyTimer
from app.calendar.workdays import WORKING_HOURS_END, WORKING_HOURS_START, WorkCalendar, working_days_after
from app.errors import Invalid
from app.messages.models import OPEN_STATUSES, Message
from app.reports.counting import COUNT_FIELDS, count_columns, flag
from app.reports.models import Dimension, OverdueBucket, OverdueItem, OverdueReport, Report, ReportRow
from app.reports.periods import Bucket, Period, buckets
from app.reports.service import (
    OVERDUE_BUCKETS,
    UNROUTED_LABEL,
    _cell_key,
    _excerpt,
    _filters,
    _key_column,
    _label_total,
    _limit_notes,
    _rows,
    _unit_names,
    columns_for,
    local_range,
    unit_limits,
)
from app.reports.stats import nearest_rank, rate
from app.routing.transfers import transfers_out
from app.supervision import extensions


@dataclass
class _Cell:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_FIELDS, 0))
    days: list[float] = field(default_factory=list)
    hours: list[float] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        c = self.counts
        hours_median = nearest_rank(self.hours, 0.5)
        hours_p90 = nearest_rank(self.hours, 0.9)
        return {
            **c,
            "on_time_rate": rate(
                c["answered_on_time"],
                c["answered_on_time"] + c["answered_late"] + c["overdue_now"] + c["closed_late"],
            ),
            "reply_days_median": nearest_rank(self.days, 0.5),
            "reply_days_p90": nearest_rank(self.days, 0.9),
            "reply_hours_median": None if hours_median is None else round(hours_median, 1),
            "reply_hours_p90": None if hours_p90 is None else round(hours_p90, 1),
        }

    def add(self, other: _Cell) -> None:
        for key in COUNT_FIELDS:
            self.counts[key] += other.counts[key]
        self.days.extend(other.days)
        self.hours.extend(other.hours)


def build_report_rowwise(
    *,
    session: Session,
    principal: Principal,
    dimension: Dimension,
    period: Period | None,
    date_from: date | None,
    date_to: date | None,
    now: datetime,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    unit_code: str | None = None,
    platform: str | None = None,
    work_hours: tuple[time, time] = (WORKING_HOURS_START, WORKING_HOURS_END),
) -> Report:
    """Counts and reply times of the messages received from `date_from` to `date_to` (local dates,
    both included; None = unbounded), one row per `dimension` value (and per `period` bucket).
    Working hours count the time inside `work_hours` (local) on working days."""
    if dimension == Dimension.period and period is None:
        period = Period.week
    start, end = local_range(date_from, date_to, tz=tz)
    filters = _filters(principal, start, end, unit_code, platform)
    first, last = session.exec(
        select(func.min(Message.received_at), func.max(Message.received_at)).where(*filters)
    ).one()

    spans: list[Bucket] = []
    if period is not None:
        lo = date_from or (first.astimezone(tz).date() if first else None)
        hi = date_to or (last.astimezone(tz).date() if last else None)
        if lo is not None and hi is not None:
            try:
                spans = buckets(lo, hi, period, tz=tz)
            except ValueError as exc:
                raise Invalid("时间范围内的周期过多，请缩小时间范围或改用更长的周期") from exc

    keys: list[Any] = []
    key_col = _key_column(dimension)
    if key_col is not None:
        keys.append(key_col.label("k"))
    if spans:
        bucket = case(*[(col(Message.received_at) < b.end_at, i) for i, b in enumerate(spans)], else_=-1)
        keys.append(bucket.label("bucket"))

    # Group by the output names: PostgreSQL would see the CASE's bound parameters as a different expression.
    group_by: list[Any] = [literal_column(k.name) for k in keys]
    cells: dict[tuple[Any, int | None], _Cell] = defaultdict(_Cell)
    count_query = sa_select(*keys, *count_columns(now)).where(*filters)
    if group_by:
        count_query = count_query.group_by(*group_by)
    for row in session.execute(count_query):
        mapping = row._mapping
        cell = cells[_cell_key(mapping, key_col is not None, bool(spans))]
        for name in COUNT_FIELDS:
            cell.counts[name] = int(mapping[name] or 0)

    duration_query = sa_select(*keys, col(Message.received_at), col(Message.first_replied_at)).where(
        *filters, col(Message.first_replied_at).is_not(None)
    )
    answered = [row._mapping for row in session.execute(duration_query)]
    # The timer's tables cover the dates involved; a reply stamped before its receipt must fit too.
    span: list[datetime] = []
    if answered:
        received = [m["received_at"] for m in answered]
        replied = [m["first_replied_at"] for m in answered]
        span = [min(min(received), min(replied)), max(max(received), max(replied))]
    timer = ReplyTimer(
        calendar,
        tz,
        span,
        day_start=work_hours[0],
        day_end=work_hours[1],
    )
    for mapping in answered:
        received_at, replied_at = mapping["received_at"], mapping["first_replied_at"]
        cell = cells[_cell_key(mapping, key_col is not None, bool(spans))]
        days, hours = timer.measure(received_at, replied_at)
        cell.days.append(float(days))
        cell.hours.append(hours)

    rows = _rows(session, principal, dimension, spans, cells, unit_code, platform)
    total = _Cell()
    for cell in cells.values():
        total.add(cell)
    total_row = ReportRow(**total.metrics())
    if dimension == Dimension.unit and period is None:
        scope = (
            [unit_code]
            if unit_code is not None
            else (sorted(principal.units) if principal.units is not None else None)
        )
        outs = transfers_out(session=session, start=start, end=end, units=scope)
        for line in rows:
            line.transfers_out = outs.get(line.unit_code or "", 0)
        total_row.transfers_out = sum(line.transfers_out or 0 for line in rows)
        granted = extensions.approved_by_unit(session=session, start=start, end=end, units=scope)
        for line in rows:
            line.extensions = granted.get(line.unit_code or "", 0)
        total_row.extensions = sum(line.extensions or 0 for line in rows)
    limits = unit_limits(session=session)
    for line in rows:
        if line.unit_code is not None and line.unit_code in limits:
            line.reply_working_days = limits[line.unit_code]
    _label_total(total_row, dimension, period)
    return Report(
        dimension=dimension,
        period=period.value if period else None,
        date_from=date_from,
        date_to=date_to,
        generated_at=now,
        timezone=tz.key,
        first_received_at=first,
        last_received_at=last,
        columns=columns_for(dimension, period),
        rows=rows,
        total=total_row,
        notes=_limit_notes(session, filters, rows, limits, _unit_names(session, principal, None)),
    )


def overdue_report_rowwise(
    *,
    session: Session,
    principal: Principal,
    now: datetime,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    unit_code: str | None = None,
    limit: int = 20,
) -> OverdueReport:
    """Unanswered open messages: the overdue ones grouped by how long past their deadline, by unit,
    the oldest few, and how many fall due today and within three working days."""
    scope = _filters(principal, None, None, unit_code, None)
    waiting = and_(
        col(Message.first_replied_at).is_(None),
        col(Message.status).in_([s.value for s in OPEN_STATUSES]),
        col(Message.due_at).is_not(None),
    )
    today = now.astimezone(tz).date()
    counts: Counter[str] = Counter()
    per_unit: Counter[str | None] = Counter()
    overdue: list[tuple[int, int]] = []
    rows = session.exec(
        select(Message.id, Message.unit_code, Message.due_at).where(
            *scope, waiting, col(Message.due_at) < now
        )
    )
    # Overdue rows share few due dates (a day's intake falls due together): count each date once.
    late_by_date: dict[date, int] = {}
    for message_id, code, due_at in rows:
        assert due_at is not None and message_id is not None
        due_on = due_at.astimezone(tz).date()
        late = late_by_date.get(due_on)
        if late is None:
            late = late_by_date[due_on] = working_days_after(due_on, today, calendar=calendar)
        for key, _label, low, high in OVERDUE_BUCKETS:
            if late >= low and (high is None or late <= high):
                counts[key] += 1
        per_unit[code] += 1
        overdue.append((late, message_id))
    overdue.sort(key=lambda item: (-item[0], item[1]))
    chosen = {mid: late for late, mid in overdue[:limit]}
    unit_names = _unit_names(session, principal, None)
    oldest: list[OverdueItem] = []
    if chosen:
        for message in session.exec(select(Message).where(col(Message.id).in_(chosen))):
            assert message.id is not None and message.due_at is not None
            oldest.append(
                OverdueItem(
                    id=message.id,
                    unit_code=message.unit_code,
                    unit_name=unit_names.get(message.unit_code or "", None),
                    platform=message.platform,
                    received_at=message.received_at,
                    due_at=message.due_at,
                    working_days_overdue=chosen[message.id],
                    escalation_level=message.escalation_level,
                    excerpt=_excerpt(message.content),
                )
            )
        oldest.sort(key=lambda item: (-item.working_days_overdue, item.id))

    # Upcoming: due later today, and within the next three working days (today included).
    end_today = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    horizon = calendar.next_workday(today, 3)
    end_horizon = datetime.combine(horizon + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    due_today, due_soon = session.exec(
        select(
            flag(col(Message.due_at) < end_today),
            flag(col(Message.due_at) < end_horizon),
        ).where(*scope, waiting, col(Message.due_at) >= now)
    ).one()
    return OverdueReport(
        generated_at=now,
        total=len(overdue),
        buckets=[OverdueBucket(key=k, label=label, count=counts[k]) for k, label, _, _ in OVERDUE_BUCKETS],
        upcoming=[
            OverdueBucket(key="today", label="今天到期", count=int(due_today or 0)),
            OverdueBucket(key="3wd", label="3个工作日内到期", count=int(due_soon or 0)),
        ],
        by_unit=[
            OverdueBucket(key=code or "", label=unit_names.get(code or "", UNROUTED_LABEL), count=n)
            for code, n in per_unit.most_common()
        ],
        oldest=oldest,
    )
