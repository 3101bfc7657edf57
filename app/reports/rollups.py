"""Report roll-ups: the counts and reply-time histograms of whole local days and calendar months, built once
by a background job, so that a report over a year or all time sums a few thousand stored cells instead of
counting a million messages.

- A *span* (`report_spans`) is a local day, week (from Monday) or calendar month of the service's zone; its *cells* (`report_cells`)
  hold, per unit, account and platform, the figures the reports count of its messages that are **not
  waiting for a first reply**, with reply times as histograms. A waiting message becomes overdue as time
  passes without changing, so the reports always count those live, from their partial index.
- Database triggers on `messages` (migration 0017) write the receipt time of every counted message that is
  inserted, deleted or changed in a column the reports read to `report_changes`, in the writer's own
  transaction. A report reads a span only if no change falls in its range; the others, and today, it
  counts live. So a report never depends on when the job last ran.
- The job (`refresh`) retires the spans its changes fall in and removes the changes it has seen (by id:
  one committed meanwhile stays for the next run), then builds the missing spans from the messages, each
  chunk in its own transaction. It runs under the scheduler's lease, one runner at a time.
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, delete, exists, func, insert, literal_column, or_, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.config import get_settings
from app.db import session_scope
from app.messages.models import Message
from app.reports.counting import ROLLED_FIELDS, answered_unmeasured, not_waiting, rolled_columns
from app.reports.models import ReportCell, ReportChange, ReportSpan
from app.reports.periods import Period, local_midnight, next_start, period_start
from app.reports.stats import encode_histogram
from app.sla.service import fill_reply_times

log = logging.getLogger(__name__)

# Span kinds: the report periods of the same name.
DAY, WEEK, MONTH = Period.day.value, Period.week.value, Period.month.value
# Retired spans are deleted this long after, so that a report reading them meanwhile still finds their cells.
RETIRED_KEPT = timedelta(hours=1)
# Spans built per run of the job (the first runs on an existing database build its history).
MAX_SPANS_PER_RUN = 400
CHANGES_PER_BATCH = 10_000
# Changes a report reads itself to tell which spans they void (beyond, the database does).
CHANGES_READ = 2_000
DAYS_PER_QUERY = 31


@dataclass(frozen=True)
class Span:
    id: int
    kind: str
    start: date
    start_at: datetime
    end_at: datetime


@dataclass
class Plan:
    """How a report covers its range: spans to read (span id -> bucket), and UTC intervals to count live."""

    spans: dict[int, int | None] = field(default_factory=dict)
    live: list[tuple[datetime, datetime]] = field(default_factory=list)


# --- reading ---------------------------------------------------------------------------------------------


def readable_spans(session: Session, *, zone: str, lo: date, hi: date) -> dict[tuple[str, date], Span]:
    """The live spans of `zone` starting from `lo` to `hi` whose range holds no logged change."""
    s = ReportSpan
    conditions = [col(s.retired_at).is_(None), col(s.zone) == zone, col(s.start) >= lo, col(s.start) <= hi]
    bounds = session.execute(sa_select(func.min(s.start_at), func.max(s.end_at)).where(*conditions)).one()
    if bounds[0] is None:
        return {}
    # The changes the job has not seen yet are few: read them and drop the spans they fall in here, or,
    # when there are many, leave that to the database.
    changes = session.exec(
        select(col(ReportChange.received_at))
        .where(col(ReportChange.received_at) >= bounds[0], col(ReportChange.received_at) < bounds[1])
        .order_by(col(ReportChange.received_at))
        .limit(CHANGES_READ)
    ).all()
    if len(changes) >= CHANGES_READ:
        conditions.append(
            ~exists().where(
                col(ReportChange.received_at) >= col(s.start_at),
                col(ReportChange.received_at) < col(s.end_at),
            )
        )
        changes = []
    rows = session.execute(
        sa_select(col(s.id), col(s.kind), col(s.start), col(s.start_at), col(s.end_at)).where(*conditions)
    )
    return {
        (kind, start): Span(int(i or 0), kind, start, a, b)
        for i, kind, start, a, b in rows
        if bisect.bisect_left(changes, a) == bisect.bisect_left(changes, b)
    }


def plan(session: Session, *, tz: ZoneInfo, ranges: Sequence[tuple[date, date, int | None]]) -> Plan:
    """Covers each (first day, last day, bucket) range with readable whole months, then whole weeks (from
    Monday), then days; what is left is counted live. Ranges do not overlap."""
    out = Plan()
    if not ranges:
        return out
    spans = readable_spans(session, zone=tz.key, lo=min(r[0] for r in ranges), hi=max(r[1] for r in ranges))
    runs: list[tuple[date, date]] = []
    for first, last, bucket in ranges:
        day = first
        while day <= last:
            if day.day == 1:
                following = next_start(day, Period.month)
                month = spans.get((MONTH, day))
                if month is not None and following - timedelta(days=1) <= last:
                    out.spans[month.id] = bucket
                    day = following
                    continue
            if day.weekday() == 0:
                week = spans.get((WEEK, day))
                if week is not None and day + timedelta(days=6) <= last:
                    out.spans[week.id] = bucket
                    day += timedelta(days=7)
                    continue
            one = spans.get((DAY, day))
            if one is not None:
                out.spans[one.id] = bucket
            elif runs and runs[-1][1] == day:
                runs[-1] = (runs[-1][0], day + timedelta(days=1))
            else:
                runs.append((day, day + timedelta(days=1)))
            day += timedelta(days=1)
    out.live = [(local_midnight(a, tz), local_midnight(b, tz)) for a, b in runs]
    return out


def cells(
    session: Session, span_buckets: dict[int, int | None], scope: Sequence[Any]
) -> Iterator[tuple[Any, ...]]:
    """(bucket, unit_code, account_id, platform, *ROLLED_FIELDS, days_hist, hours_hist) of the spans' cells
    matching `scope` (conditions on ReportCell's unit_code and platform)."""
    ids = sorted(span_buckets)
    c = ReportCell.__table__.c  # type: ignore[attr-defined]
    columns = [c.span_id, c.unit_code, c.account_id, c.platform, *(c[n] for n in ROLLED_FIELDS)]
    for i in range(0, len(ids), 5_000):
        query = sa_select(*columns, c.days_hist, c.hours_hist).where(
            c.span_id.in_(ids[i : i + 5_000]), *scope
        )
        for row in session.execute(query).all():
            yield (span_buckets[row[0]], *row[1:])


# --- the job ---------------------------------------------------------------------------------------------


def refresh(
    *, session: Session, now: datetime, tz: ZoneInfo, max_spans: int | None = MAX_SPANS_PER_RUN
) -> int:
    """Retires the spans that changed, deletes long-retired ones, builds missing ones (at most `max_spans`;
    None: all). Commits as it goes; returns how many spans it built."""
    retire_changed(session=session, now=now, zone=tz.key)
    purge_retired(session=session, now=now)
    session.commit()
    return build_missing(session=session, now=now, tz=tz, max_spans=max_spans)


def _live_index(session: Session) -> dict[str, tuple[list[datetime], list[tuple[datetime, int]]]]:
    by_kind: dict[str, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    for span_id, kind, zone, start_at, end_at in session.execute(
        sa_select(
            col(ReportSpan.id),
            col(ReportSpan.kind),
            col(ReportSpan.zone),
            col(ReportSpan.start_at),
            col(ReportSpan.end_at),
        ).where(col(ReportSpan.retired_at).is_(None))
    ):
        by_kind[f"{zone}/{kind}"].append((start_at, end_at, int(span_id or 0)))
    index = {}
    for key, spans in by_kind.items():
        spans.sort()
        index[key] = ([a for a, _, _ in spans], [(b, i) for _, b, i in spans])
    return index


def retire_changed(*, session: Session, now: datetime, zone: str) -> int:
    """Retires every live span holding a logged change, and every span of another zone; deletes the changes
    read (only those: one committed meanwhile, whatever its id, stays for the next run)."""
    retired = 0
    others = session.execute(
        update(ReportSpan)
        .where(col(ReportSpan.retired_at).is_(None), col(ReportSpan.zone) != zone)
        .values(retired_at=now)
    )
    retired += others.rowcount or 0  # type: ignore[attr-defined]
    top = session.exec(select(func.max(ReportChange.id))).one()
    if top is None:
        return retired
    index = _live_index(session)
    if not index:
        # No live span for a change to void (and none is built before this returns: one runner).
        session.execute(delete(ReportChange).where(col(ReportChange.id) <= top))
        return retired
    after = 0
    while True:
        batch = session.exec(
            select(ReportChange.id, ReportChange.received_at)
            .where(col(ReportChange.id) > after, col(ReportChange.id) <= top)
            .order_by(col(ReportChange.id))
            .limit(CHANGES_PER_BATCH)
        ).all()
        if not batch:
            return retired
        hit: set[int] = set()
        for _, at in batch:
            for starts, ends in index.values():
                i = bisect.bisect_right(starts, at) - 1
                if i >= 0 and at < ends[i][0]:
                    hit.add(ends[i][1])
        if hit:
            session.execute(
                update(ReportSpan).where(col(ReportSpan.id).in_(sorted(hit))).values(retired_at=now)
            )
            retired += len(hit)
            index = _live_index(session)
        ids = [int(i or 0) for i, _ in batch]
        if ids[-1] - ids[0] + 1 == len(ids):
            # Every id of the interval was read: none can be missing from it.
            session.execute(delete(ReportChange).where(col(ReportChange.id).between(ids[0], ids[-1])))
        else:
            session.execute(delete(ReportChange).where(col(ReportChange.id).in_(ids)))
        after = ids[-1]


def purge_retired(*, session: Session, now: datetime) -> None:
    old = select(ReportSpan.id).where(col(ReportSpan.retired_at) < now - RETIRED_KEPT)
    session.execute(delete(ReportCell).where(col(ReportCell.span_id).in_(old)))
    session.execute(delete(ReportSpan).where(col(ReportSpan.retired_at) < now - RETIRED_KEPT))


def missing_spans(*, session: Session, now: datetime, tz: ZoneInfo) -> list[tuple[str, date]]:
    """Days, weeks (from Monday) and months before today (local) from the first message on that have no
    live span; newest first, days, then weeks, then months."""
    first = session.exec(select(func.min(Message.received_at))).one()
    if first is None:
        return []
    start, today = first.astimezone(tz).date(), now.astimezone(tz).date()
    live = {
        (kind, day)
        for kind, day in session.exec(
            select(col(ReportSpan.kind), col(ReportSpan.start)).where(
                col(ReportSpan.retired_at).is_(None), ReportSpan.zone == tz.key
            )
        )
    }
    days = [start + timedelta(days=i) for i in range((today - start).days)]
    out = [(DAY, d) for d in reversed(days) if (DAY, d) not in live]
    for period in (Period.week, Period.month):
        whole: list[date] = []
        begins = period_start(start, period)
        while next_start(begins, period) <= today:
            whole.append(begins)
            begins = next_start(begins, period)
        out += [(period.value, d) for d in reversed(whole) if (period.value, d) not in live]
    return out


def build_missing(*, session: Session, now: datetime, tz: ZoneInfo, max_spans: int | None) -> int:
    todo = missing_spans(session=session, now=now, tz=tz)
    if max_spans is not None:
        todo = todo[:max_spans]
    built = 0
    for chunk in _chunks(todo):
        spans = [_bounds(kind, day, tz) for kind, day in chunk]
        try:
            done, unmeasured = build(session=session, spans=spans, zone=tz.key, now=now)
            session.commit()
        except IntegrityError:
            # Another runner built one of them meanwhile (the live-span index is unique).
            session.rollback()
            continue
        built += done
        if unmeasured:
            # Answers written without their reply time: store it (as the first reply does); the spans
            # holding them are built on the next run.
            fill_reply_times(session=session)
            session.commit()
    return built


def _chunks(todo: Sequence[tuple[str, date]]) -> Iterable[list[tuple[str, date]]]:
    """Weeks and months one by one; days in runs of consecutive days (newest first), at most
    DAYS_PER_QUERY a run."""
    run: list[tuple[str, date]] = []
    for kind, day in todo:
        if kind != DAY:
            if run:
                yield run
                run = []
            yield [(kind, day)]
            continue
        if run and (run[-1][1] - day != timedelta(days=1) or len(run) >= DAYS_PER_QUERY):
            yield run
            run = []
        run.append((kind, day))
    if run:
        yield run


def _bounds(kind: str, day: date, tz: ZoneInfo) -> tuple[str, date, datetime, datetime]:
    return kind, day, local_midnight(day, tz), local_midnight(next_start(day, Period(kind)), tz)


@dataclass
class _Acc:
    counts: Counter[str] = field(default_factory=Counter)
    days: Counter[float] = field(default_factory=Counter)
    hours: Counter[float] = field(default_factory=Counter)


def build(
    *, session: Session, spans: Sequence[tuple[str, date, datetime, datetime]], zone: str, now: datetime
) -> tuple[int, bool]:
    """Counts the spans' messages (not waiting for a first reply) in one grouped query and stores them,
    except a span holding answers without a stored reply time. Returns (spans stored, any skipped)."""
    ordered = sorted(spans, key=lambda s: s[2])
    received = col(Message.received_at)
    bucket = case(*[(received < end, i) for i, (_, _, _, end) in enumerate(ordered)], else_=-1).label(
        "bucket"
    )
    group = [
        bucket,
        col(Message.unit_code).label("unit_code"),
        col(Message.account_id).label("account_id"),
        col(Message.platform).label("platform"),
        col(Message.reply_working_days).label("d"),
        col(Message.reply_working_hours).label("h"),
    ]
    query = (
        sa_select(*group, *rolled_columns(), answered_unmeasured())
        .where(
            received >= ordered[0][2],
            received < ordered[-1][3],
            or_(*[and_(received >= a, received < b) for _, _, a, b in ordered])
            if len(ordered) > 1
            else true(),
            not_waiting(),
        )
        # By the output names: PostgreSQL would see the CASE's bound parameters as another expression.
        .group_by(*(literal_column(g.name) for g in group))
    )
    accs: dict[int, dict[tuple[Any, ...], _Acc]] = defaultdict(dict)
    skipped: set[int] = set()
    for row in session.execute(query):
        m = row._mapping
        if m["unmeasured"]:
            skipped.add(int(m["bucket"]))
        key = (m["unit_code"], m["account_id"], m["platform"])
        acc = accs[int(m["bucket"])].setdefault(key, _Acc())
        for name in ROLLED_FIELDS:
            acc.counts[name] += int(m[name] or 0)
        if m["d"] is not None and m["h"] is not None:
            acc.days[float(m["d"])] += int(m["answered"] or 0)
            acc.hours[float(m["h"])] += int(m["answered"] or 0)
    stored = 0
    for i, (kind, day, start_at, end_at) in enumerate(ordered):
        if i in skipped:
            continue
        rows: list[dict[str, Any]] = []
        for (unit_code, account_id, platform), acc in accs.get(i, {}).items():
            days, hours = encode_histogram(acc.days), encode_histogram(acc.hours)
            if days is None or hours is None:
                break  # a reply time written another way than in tenths: the span is counted live
            rows.append(
                {
                    "unit_code": unit_code,
                    "account_id": account_id,
                    "platform": platform,
                    **{name: acc.counts[name] for name in ROLLED_FIELDS},
                    "days_hist": days,
                    "hours_hist": hours,
                }
            )
        if len(rows) != len(accs.get(i, {})):
            continue
        span = ReportSpan(zone=zone, kind=kind, start=day, start_at=start_at, end_at=end_at, built_at=now)
        session.add(span)
        session.flush()
        for values in rows:
            values["span_id"] = span.id
        if rows:
            session.execute(insert(ReportCell.__table__), rows)  # type: ignore[attr-defined]
        stored += 1
    return stored, bool(skipped)


def run(*, now: datetime | None = None) -> int:
    """The scheduler's entry."""
    with session_scope() as session:
        return refresh(session=session, now=now or clock.now(), tz=get_settings().tz)
