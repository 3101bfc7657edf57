"""Supervision reports from the messages table: counts grouped in SQL (per unit, account, platform,
period), reply-time percentiles in working days and hours in Python, and the overdue view."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal_column, or_, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.auth import Principal
from app.calendar.timing import ReplyTimer, stored_hours
from app.calendar.workdays import WORKING_HOURS_END, WORKING_HOURS_START, WorkCalendar, working_days_after
from app.config import DEFAULT_REPLY_WORKING_DAYS, get_settings
from app.errors import Invalid
from app.messages.models import (
    OTHER_LIMIT_SQL,
    Message,
)
from app.messages.present import masked
from app.registry.models import PLATFORM_LABELS, AccountCheck
from app.reports import rollups
from app.reports.counting import (
    COUNT_FIELDS,
    ROLLED_FIELDS,
    NoIndex,
    answered_unmeasured,
    count_columns,
    flag,
    not_waiting,
    waiting,
    waiting_columns,
)
from app.reports.models import (
    ColumnInfo,
    Dimension,
    OverdueBucket,
    OverdueItem,
    OverdueReport,
    Report,
    ReportCell,
    ReportRow,
)
from app.reports.periods import Bucket, Period, buckets, local_midnight
from app.reports.stats import nearest_rank_merged, rate
from app.routing.transfers import transfers_out
from app.supervision import extensions
from app.supervision.models import DeadlineExtension, ExtensionState
from app.units.models import Unit

METRIC_LABELS: dict[str, str] = {
    "received": "收到留言",
    "answered": "已答复",
    "answered_on_time": "按时答复",
    "answered_late": "超期答复",
    "overdue_now": "超期未答复",
    "open_now": "办理中（未超期）",
    "out_of_scope": "非受理范围",
    "transferred": "转办留言",
    "transfers": "转办次数",
    "transfers_out": "转出次数",
    "extensions": "批准延期",
    "escalated": "督办留言",
    "closed_without_reply": "未答复即关闭",
    "closed_late": "超期后关闭（计为未按时答复）",
    "on_time_rate": "按时答复率（%）",
    "reply_days_median": "答复用时中位数（工作日）",
    "reply_days_p90": "答复用时P90（工作日）",
    "reply_hours_median": "答复用时中位数（工作小时）",
    "reply_hours_p90": "答复用时P90（工作小时）",
}

ID_LABELS: dict[str, str] = {
    "unit_code": "单位代码",
    "unit_name": "单位名称",
    "reply_working_days": "答复时限（工作日）",
    "account_id": "账号ID",
    "account_name": "账号名称",
    "platform_label": "平台",
    "zombie": "僵尸账号",
    "period": "周期",
    "period_label": "时间段",
}

ID_COLUMNS: dict[Dimension, tuple[str, ...]] = {
    Dimension.unit: ("unit_code", "unit_name", "reply_working_days"),
    Dimension.account: (
        "account_id",
        "account_name",
        "platform_label",
        "unit_code",
        "unit_name",
        "reply_working_days",
        "zombie",
    ),
    Dimension.platform: ("platform_label",),
    Dimension.period: (),
}

UNIT_ONLY = ("transfers_out", "extensions")
UNROUTED_LABEL = "未分办"
TOTAL_LABEL = "合计"


@dataclass
class _Cell:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_FIELDS, 0))
    # Reply times as histograms: working days -> answers, stored working hours -> answers.
    days: Counter[float] = field(default_factory=Counter)
    hours: Counter[float] = field(default_factory=Counter)
    # The same from roll-ups, as stored (app.reports.stats.encode_histogram).
    days_stored: list[bytes] = field(default_factory=list)
    hours_stored: list[bytes] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        c = self.counts
        hours_median = nearest_rank_merged(self.hours, self.hours_stored, 0.5)
        hours_p90 = nearest_rank_merged(self.hours, self.hours_stored, 0.9)
        return {
            **c,
            "on_time_rate": rate(
                c["answered_on_time"],
                c["answered_on_time"] + c["answered_late"] + c["overdue_now"] + c["closed_late"],
            ),
            "reply_days_median": nearest_rank_merged(self.days, self.days_stored, 0.5),
            "reply_days_p90": nearest_rank_merged(self.days, self.days_stored, 0.9),
            "reply_hours_median": None if hours_median is None else round(hours_median, 1),
            "reply_hours_p90": None if hours_p90 is None else round(hours_p90, 1),
        }

    def add(self, other: _Cell) -> None:
        for key in COUNT_FIELDS:
            self.counts[key] += other.counts[key]
        self.days.update(other.days)
        self.hours.update(other.hours)
        self.days_stored += other.days_stored
        self.hours_stored += other.hours_stored


def columns_for(dimension: Dimension, period: Period | None) -> list[ColumnInfo]:
    """The report's columns in file order: identity, period, then the metrics."""
    keys = list(ID_COLUMNS[dimension])
    if period is not None:
        keys += ["period", "period_label"]
    # Transfers out and extensions are counted per unit from their own tables: only the plain unit report
    # has them.
    plain_unit = dimension == Dimension.unit and period is None
    keys += [k for k in METRIC_LABELS if k not in UNIT_ONLY or plain_unit]
    return [ColumnInfo(key=k, label=ID_LABELS.get(k) or METRIC_LABELS[k]) for k in keys]


def local_range(
    date_from: date | None, date_to: date | None, *, tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """[start, end) in UTC for local dates `date_from`..`date_to`, both included."""
    if date_from and date_to and date_from > date_to:
        raise Invalid("起始日期不能晚于截止日期")
    start = datetime.combine(date_from, time(0), tzinfo=tz).astimezone(UTC) if date_from else None
    end = (
        datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC) if date_to else None
    )
    return start, end


def _filters(
    principal: Principal,
    start: datetime | None,
    end: datetime | None,
    unit_code: str | None,
    platform: str | None,
) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    # The unit filters go through NoIndex: SQLite would otherwise walk the unit's messages by deadline
    # (ix_messages_unit_due_id) rather than read a range of receipts or the waiting messages' index.
    unit = NoIndex(col(Message.unit_code))
    if principal.units is not None:
        out.append(unit.in_(principal.units))
    if start is not None:
        out.append(col(Message.received_at) >= start)
    if end is not None:
        out.append(col(Message.received_at) < end)
    if unit_code is not None:
        out.append(unit == unit_code)
    if platform is not None:
        out.append(col(Message.platform) == platform)
    return out


def _key_column(dimension: Dimension) -> Any:
    if dimension == Dimension.unit:
        return NoIndex(col(Message.unit_code))
    if dimension == Dimension.account:
        return NoIndex(col(Message.account_id))
    if dimension == Dimension.platform:
        return NoIndex(col(Message.platform))
    return None


def build_report(
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

    lo = date_from or (first.astimezone(tz).date() if first else None)
    hi = date_to or (last.astimezone(tz).date() if last else None)
    spans: list[Bucket] = []
    if period is not None and lo is not None and hi is not None:
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
    has_key, has_bucket = key_col is not None, bool(spans)
    cells: dict[tuple[Any, int | None], _Cell] = defaultdict(_Cell)

    # Whole days and months of the range come from the roll-ups where they are up to date, the messages
    # waiting for a first reply from their partial index, and the rest from the messages.
    cover = rollups.Plan()
    if lo is not None and hi is not None and first is not None:
        # Unbounded below, the range may start on its first month's first day: nothing came before.
        low = lo if date_from is not None else lo.replace(day=1)
        ranges: list[tuple[date, date, int | None]] = []
        if spans:
            for i, span in enumerate(spans):
                a, z = max(low, span.start), min(hi, span.end - timedelta(days=1))
                if a <= z:
                    ranges.append((a, z, i))
        else:
            ranges.append((low, hi, None))
        cover = rollups.plan(session, tz=tz, ranges=ranges)
        if len(cover.live) > MAX_LIVE_RUNS:
            cover = rollups.Plan(live=[(start or first, end or last + timedelta(seconds=1))])
    _add_stored(session, cover, dimension, principal, unit_code, platform, cells)

    # Group by the output names: PostgreSQL would see the CASE's bound parameters as a different expression.
    group_by: list[Any] = [literal_column(k.name) for k in keys]
    received = col(Message.received_at)
    live = or_(*[and_(received >= a, received < z) for a, z in cover.live])
    unmeasured = 0
    if cover.live:
        # One pass: the counts per cell and reply time as stored with each first reply, so that reply-time
        # histograms come with the counts; a few hundred rows per cell.
        days_col, hours_col = col(Message.reply_working_days), col(Message.reply_working_hours)
        query = sa_select(
            *keys, days_col.label("d"), hours_col.label("h"), *count_columns(now), answered_unmeasured()
        ).where(*filters, live, not_waiting())
        for row in session.execute(query.group_by(*group_by, days_col, hours_col)):
            mapping = row._mapping
            cell = cells[_cell_key(mapping, has_key, has_bucket)]
            for name in COUNT_FIELDS:
                cell.counts[name] += int(mapping[name] or 0)
            unmeasured += int(mapping["unmeasured"] or 0)
            if mapping["d"] is not None and mapping["h"] is not None:
                cell.days[float(mapping["d"])] += int(mapping["answered"] or 0)
                cell.hours[float(mapping["h"])] += int(mapping["answered"] or 0)
    # The messages waiting for a first reply (overdue or not as of `now`), from ix_messages_waiting_report.
    counted = waiting_columns(now)
    waiting_query = sa_select(*keys, *counted).where(*filters, waiting())
    for row in session.execute(waiting_query.group_by(*group_by) if group_by else waiting_query):
        mapping = row._mapping
        if not mapping["received"]:
            continue
        cell = cells[_cell_key(mapping, has_key, has_bucket)]
        for column in counted:
            cell.counts[column.name] += int(mapping[column.name] or 0)
    if unmeasured:
        _measure_unstored(
            session, keys, [*filters, live], cells, has_key, has_bucket, calendar, tz, work_hours
        )

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


MAX_LIVE_RUNS = 40


def _add_stored(
    session: Session,
    cover: rollups.Plan,
    dimension: Dimension,
    principal: Principal,
    unit_code: str | None,
    platform: str | None,
    cells: dict[tuple[Any, int | None], _Cell],
) -> None:
    """Adds the roll-up cells the plan reads, in the report's scope."""
    if not cover.spans:
        return
    c = ReportCell.__table__.c  # type: ignore[attr-defined]
    scope: list[Any] = []
    if principal.units is not None:
        scope.append(c.unit_code.in_(principal.units))
    if unit_code is not None:
        scope.append(c.unit_code == unit_code)
    if platform is not None:
        scope.append(c.platform == platform)
    pick = {Dimension.unit: 1, Dimension.account: 2, Dimension.platform: 3}.get(dimension)
    first, last = 4, 4 + len(ROLLED_FIELDS)
    for row in rollups.cells(session, cover.spans, scope):
        cell = cells[(row[pick] if pick is not None else None, row[0])]
        counts = cell.counts
        for name, value in zip(ROLLED_FIELDS, row[first:last], strict=True):
            counts[name] += value
        if row[last]:
            cell.days_stored.append(row[last])
            cell.hours_stored.append(row[last + 1])


def _measure_unstored(
    session: Session,
    keys: list[Any],
    filters: list[ColumnElement[bool]],
    cells: dict[tuple[Any, int | None], _Cell],
    has_key: bool,
    has_bucket: bool,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    work_hours: tuple[time, time],
) -> None:
    """Measures the answers without a stored reply time (written by another path than the first reply
    and not yet filled by `fill_reply_times`) as the first reply would have stored it."""
    query = sa_select(*keys, col(Message.received_at), col(Message.first_replied_at)).where(
        *filters, col(Message.first_replied_at).is_not(None), col(Message.reply_working_days).is_(None)
    )
    answered = [row._mapping for row in session.execute(query)]
    moments = [m["received_at"] for m in answered] + [m["first_replied_at"] for m in answered]
    timer = ReplyTimer(
        calendar, tz, [min(moments), max(moments)], day_start=work_hours[0], day_end=work_hours[1]
    )
    for mapping in answered:
        days, hours = timer.measure(mapping["received_at"], mapping["first_replied_at"])
        cell = cells[_cell_key(mapping, has_key, has_bucket)]
        cell.days[float(days)] += 1
        cell.hours[stored_hours(hours)] += 1


def unit_limits(*, session: Session) -> dict[str, int]:
    """Each unit's reply limit in working days (its own, else the service default)."""
    default = get_settings().reply_working_days
    return {
        code: own if own is not None else default
        for code, own in session.exec(select(Unit.code, Unit.reply_working_days))
    }


def _limit_notes(
    session: Session,
    filters: list[ColumnElement[bool]],
    rows: Sequence[ReportRow],
    limits: dict[str, int],
    names: dict[str, str],
) -> list[str]:
    """Where a limit other than the standard (DEFAULT_REPLY_WORKING_DAYS) applies: the units shown whose limit differs
    now, and the messages of the range whose deadline was computed with another limit."""
    notes: list[str] = []
    shown = sorted({line.unit_code for line in rows if line.unit_code is not None})
    for code in shown:
        if limits.get(code, DEFAULT_REPLY_WORKING_DAYS) != DEFAULT_REPLY_WORKING_DAYS:
            notes.append(
                f"{names.get(code, code)}（{code}）当前答复时限为{limits[code]}个工作日，"
                f"不是通常的{DEFAULT_REPLY_WORKING_DAYS}个工作日"
            )
    unit = NoIndex(col(Message.unit_code))
    other = session.exec(
        select(unit, Message.working_days, func.count())
        .where(
            *filters,
            col(Message.out_of_scope).is_(False),
            # Written as the partial index ix_messages_other_limit's condition, so that only those rows are read.
            text(OTHER_LIMIT_SQL),
            # An approved extension is counted as such, not as another limit.
            col(Message.id).not_in(
                select(DeadlineExtension.message_id).where(DeadlineExtension.state == ExtensionState.approved)
            ),
        )
        .group_by(unit, col(Message.working_days))
        .order_by(unit, col(Message.working_days))
    )
    for unit, days, count in other:
        label = UNROUTED_LABEL if unit is None else f"{names.get(unit, unit)}（{unit}）"
        notes.append(f"{label}有{count}条留言按{days}个工作日的时限计算截止时间")
    return notes


def _cell_key(mapping: Any, has_key: bool, has_bucket: bool) -> tuple[Any, int | None]:
    return (mapping["k"] if has_key else None, int(mapping["bucket"]) if has_bucket else None)


def _label_total(row: ReportRow, dimension: Dimension, period: Period | None) -> None:
    if dimension == Dimension.unit:
        row.unit_name = TOTAL_LABEL
    elif dimension == Dimension.account:
        row.account_name = TOTAL_LABEL
    elif dimension == Dimension.platform:
        row.platform_label = TOTAL_LABEL
    if period is not None:
        row.period_label = TOTAL_LABEL


def _rows(
    session: Session,
    principal: Principal,
    dimension: Dimension,
    spans: Sequence[Bucket],
    cells: dict[tuple[Any, int | None], _Cell],
    unit_code: str | None,
    platform: str | None,
) -> list[ReportRow]:
    keys = set(cells)
    if not spans:
        # Without periods every unit / account in scope gets a row, even with nothing received.
        if dimension == Dimension.unit:
            keys |= {(code, None) for code in _unit_names(session, principal, unit_code)}
        elif dimension == Dimension.account:
            keys |= {(a.id, None) for a in _accounts(session, principal, unit_code, platform)}
    elif dimension == Dimension.period:
        keys |= {(None, i) for i in range(len(spans))}
    keys.discard((None, -1))

    unit_names = _unit_names(session, principal, None)
    accounts: dict[int, Account] = {}
    checks: dict[int, AccountCheck] = {}
    if dimension == Dimension.account:
        ids = [k for k, _ in keys if k is not None]
        accounts = {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(ids))) if a.id}
        checks = {
            c.account_id: c
            for c in session.exec(select(AccountCheck).where(col(AccountCheck.account_id).in_(ids)))
        }

    def sort_key(item: tuple[Any, int | None]) -> tuple[Any, ...]:
        key, bucket = item
        return (key is None, str(key) if dimension != Dimension.account else int(key or 0), bucket or 0)

    rows: list[ReportRow] = []
    for key, bucket in sorted(keys, key=sort_key):
        cell = cells.get((key, bucket)) or _Cell()
        row = ReportRow(**cell.metrics())
        if dimension == Dimension.unit:
            row.unit_code = key
            row.unit_name = unit_names.get(key, key) if key is not None else UNROUTED_LABEL
        elif dimension == Dimension.account:
            account = accounts.get(int(key))
            row.account_id = int(key)
            if account is not None:
                row.account_name, row.platform = account.name, account.platform
                row.platform_label = PLATFORM_LABELS.get(account.platform, account.platform)
                row.unit_code, row.unit_name = account.unit_code, unit_names.get(account.unit_code)
            check = checks.get(int(key))
            row.zombie = check.zombie if check is not None else None
            row.zombie_reasons = list(check.reasons) if check is not None else None
        elif dimension == Dimension.platform:
            row.platform = key
            row.platform_label = PLATFORM_LABELS.get(key, key)
        if bucket is not None and 0 <= bucket < len(spans):
            span = spans[bucket]
            row.period, row.period_label, row.period_start = span.key, span.label, span.start
        rows.append(row)
    return rows


def _unit_names(session: Session, principal: Principal, unit_code: str | None) -> dict[str, str]:
    query = select(Unit.code, Unit.name).order_by(col(Unit.code))
    if principal.units is not None:
        query = query.where(col(Unit.code).in_(principal.units))
    if unit_code is not None:
        query = query.where(Unit.code == unit_code)
    return {code: name for code, name in session.exec(query)}


def _accounts(
    session: Session, principal: Principal, unit_code: str | None, platform: str | None
) -> list[Account]:
    query = select(Account).order_by(col(Account.id))
    if principal.units is not None:
        query = query.where(col(Account.unit_code).in_(principal.units))
    if unit_code is not None:
        query = query.where(Account.unit_code == unit_code)
    if platform is not None:
        query = query.where(Account.platform == platform)
    return list(session.exec(query))


OVERDUE_BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    ("lt1", "超期不足1个工作日", 0, 0),
    ("1-2", "超期1–2个工作日", 1, 2),
    ("3-5", "超期3–5个工作日", 3, 5),
    ("6-10", "超期6–10个工作日", 6, 10),
    ("gt10", "超期10个工作日以上", 11, None),
)


def overdue_report(
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
    # The condition of the partial index ix_messages_waiting_due, as its text.
    waiting_dated = (*scope, waiting(), col(Message.due_at).is_not(None))
    today = now.astimezone(tz).date()
    late_by_date: dict[date, int] = {}

    def late_of(due_at: datetime) -> int:
        due_on = due_at.astimezone(tz).date()
        late = late_by_date.get(due_on)
        if late is None:
            late = late_by_date[due_on] = working_days_after(due_on, today, calendar=calendar)
        return late

    def late_at_least(days: int) -> datetime:
        """The instant before which a deadline is at least `days` (>= 1) working days overdue today: the
        local midnight of the `days`-th latest working day up to today (working days after the deadline's
        local date, up to today, are then `days` or more)."""
        return local_midnight(calendar.previous_workday(today + timedelta(days=1), days), tz)

    # "Working days late" falls as the deadline's local date rises, so each bucket is a range of
    # deadlines: one pass over the waiting messages' index counts them per unit, with the upcoming ones.
    due = col(Message.due_at)
    end_today = local_midnight(today + timedelta(days=1), tz)
    end_horizon = local_midnight(calendar.next_workday(today, 3) + timedelta(days=1), tz)
    edges = [low for _key, _label, low, _high in OVERDUE_BUCKETS if low > 0]
    rows = session.execute(
        sa_select(
            NoIndex(col(Message.unit_code)),
            flag(due < now),
            *(flag(due < late_at_least(low)) for low in edges),
            flag(and_(due >= now, due < end_today)),
            flag(and_(due >= now, due < end_horizon)),
        )
        .where(*waiting_dated)
        .group_by(NoIndex(col(Message.unit_code)))
    ).all()
    per_unit: Counter[str | None] = Counter()
    at_least: Counter[int] = Counter()  # overdue messages at least `low` working days late, per bucket edge
    due_today = due_soon = 0
    for code, overdue, *later, today_n, soon_n in rows:
        if overdue:
            per_unit[code] += int(overdue)
        at_least[0] += int(overdue)
        for low, n in zip(edges, later, strict=True):
            at_least[low] += int(n)
        due_today += int(today_n)
        due_soon += int(soon_n)
    counts = {
        key: at_least[low] - (at_least[high + 1] if high is not None else 0)
        for key, _label, low, high in OVERDUE_BUCKETS
    }
    total = at_least[0]

    # The oldest `limit`, most working days late first (ties by id): the `limit`-th earliest deadline is
    # `floor` working days late; every message as late or later is due before the matching edge.
    chosen: dict[int, int] = {}
    if total and limit > 0:
        nth = session.execute(
            sa_select(due)
            .where(*waiting_dated, due < now)
            .order_by(due)
            .offset(min(limit, total) - 1)
            .limit(1)
        ).scalar_one()
        floor = late_of(nth)
        candidates = [
            (late_of(due_at), message_id)
            for message_id, due_at in session.execute(
                sa_select(col(Message.id), due).where(
                    *waiting_dated, due < (late_at_least(floor) if floor > 0 else now)
                )
            )
        ]
        candidates.sort(key=lambda item: (-item[0], item[1]))
        chosen = {message_id: late for late, message_id in candidates[:limit]}
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

    return OverdueReport(
        generated_at=now,
        total=total,
        buckets=[OverdueBucket(key=k, label=label, count=counts[k]) for k, label, _, _ in OVERDUE_BUCKETS],
        upcoming=[
            OverdueBucket(key="today", label="今天到期", count=due_today),
            OverdueBucket(key="3wd", label="3个工作日内到期", count=due_soon),
        ],
        by_unit=[
            OverdueBucket(key=code or "", label=unit_names.get(code or "", UNROUTED_LABEL), count=n)
            for code, n in sorted(per_unit.items(), key=lambda item: (-item[1], item[0] or ""))
        ],
        oldest=oldest,
    )


def _excerpt(text: str, limit: int = 80) -> str:
    text = " ".join(masked(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
