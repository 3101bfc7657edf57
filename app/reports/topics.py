"""Hot topics (舆情热点): terms and clusters of messages whose volume in the latest window jumps against
the average of the windows before it. Terms are jieba words of the normalised text, stop-words out."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    func,
    insert,
    literal_column,
    or_,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.auth import Principal
from app.config import get_settings
from app.messages.models import Message
from app.messages.present import masked
from app.notifications.records import bulk_insert
from app.reports.counting import NoIndex
from app.reports.models import (
    MessageTerms,
    TopicCluster,
    TopicDay,
    TopicDayTerm,
    TopicDayUnit,
    TopicReport,
    TopicSample,
    TopicSpan,
    TopicSpanTerm,
    TopicTerm,
    TopicTermId,
    TopicUnit,
)
from app.reports.periods import local_midnight
from app.reports.stats import encode_counts, summed_counts
from app.units.models import Unit
from kb.normalise import normalise
from kb.segment import tokens

_TERMS: Table = MessageTerms.__table__  # type: ignore[attr-defined]
_COUNTS: Table = TopicDayTerm.__table__  # type: ignore[attr-defined]
_DAYS: Table = TopicDay.__table__  # type: ignore[attr-defined]
_DAY_UNITS: Table = TopicDayUnit.__table__  # type: ignore[attr-defined]
_SPAN_TERMS: Table = TopicSpanTerm.__table__  # type: ignore[attr-defined]
_SPANS: Table = TopicSpan.__table__  # type: ignore[attr-defined]
_TERM_IDS: Table = TopicTermId.__table__  # type: ignore[attr-defined]

# Bump when the term extraction changes: cached terms of an older version are recomputed.
TERMS_VERSION = 2
# Minimum specificity of a topic term: its inverse document frequency in jieba's general corpus. Words
# of every other text ("事情", "今天", "东西": IDF below 5) say nothing about what happened; words the corpus
# lacks (a new estate's name) are as specific as they come. The words below the bar are kept as data
# (scripts/topic_common_words.py writes them): loading the whole table takes seconds.
MIN_SPECIFICITY = 5.0
COMMON_WORDS_FILE = Path(__file__).resolve().parent / "data" / "topic_common_words.txt"


@cache
def _common_words() -> frozenset[str]:
    lines = COMMON_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w for line in lines if not line.startswith("#") for w in line.split())


def specific(word: str) -> bool:
    """True when `word` is specific enough to name a topic (see MIN_SPECIFICITY)."""
    return word not in _common_words()


_STOPWORDS_FILE = Path(__file__).resolve().parent / "data" / "topic_stopwords.txt"


@cache
def topic_stopwords() -> frozenset[str]:
    """Words that never make a topic, on top of the segmenter's own stop-words."""
    lines = _STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w for line in lines if not line.startswith("#") for w in line.split())


_CJK = re.compile(r"[\u3400-\u9fff]")
_DIGITS = re.compile(r"^[0-9.]+$")


def message_terms(text: str) -> list[str]:
    """The distinct topic terms of a message, in order of appearance."""
    seen: dict[str, None] = {}
    stop = topic_stopwords()
    for word in tokens(normalise(text)):
        if len(word) < 2 or word in stop or _DIGITS.match(word):
            continue
        if not _CJK.search(word) and len(word) < 3:
            continue
        if not specific(word):
            continue
        seen[word] = None
    return list(seen)


@dataclass(frozen=True)
class TopicSettings:
    """How hot topics are found: window length, how many earlier windows make the baseline, and
    the thresholds (at least `min_count` messages and `min_lift` × the baseline)."""

    window: timedelta = timedelta(hours=24)
    baseline_windows: int = 7
    min_count: int = 3
    min_lift: float = 3.0
    max_terms: int = 20
    max_clusters: int = 10
    samples: int = 3


@dataclass
class _Item:
    id: int
    received_at: datetime
    unit_code: str | None
    window: int  # 0 = the current window, 1.. = the baseline windows, newest first
    terms: frozenset[str]


def _scope(
    principal: Principal | None, start: datetime, end: datetime, unit_code: str | None
) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = [col(Message.received_at) >= start, col(Message.received_at) < end]
    if principal is not None and principal.units is not None:
        out.append(col(Message.unit_code).in_(principal.units))
    if unit_code is not None:
        out.append(col(Message.unit_code) == unit_code)
    return out


def _load(
    session: Session, filters: Sequence[ColumnElement[bool]], *, store: bool
) -> list[tuple[int, datetime, str | None, list[str]]]:
    rows = session.execute(
        sa_select(
            col(Message.id),
            col(Message.received_at),
            col(Message.unit_code),
            _TERMS.c.terms,
            _TERMS.c.version,
        )
        .outerjoin(_TERMS, _TERMS.c.message_id == col(Message.id))
        .where(*filters)
    ).all()
    out: list[tuple[int, datetime, str | None, list[str]]] = []
    missing: dict[int, tuple[datetime, str | None]] = {}
    stale: set[int] = set()
    for message_id, received_at, unit_code, terms, version in rows:
        if terms is not None and version == TERMS_VERSION:
            out.append((message_id, received_at, unit_code, list(terms)))
        else:
            missing[message_id] = (received_at, unit_code)
            if terms is not None:
                stale.add(message_id)
    ids = list(missing)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for message_id, content in session.execute(
            sa_select(col(Message.id), col(Message.content)).where(col(Message.id).in_(chunk))
        ):
            terms = message_terms(content)
            received_at, unit_code = missing[message_id]
            out.append((message_id, received_at, unit_code, terms))
            if store:
                _store(session, message_id, terms, message_id in stale)
    return out


def _store(session: Session, message_id: int, terms: list[str], stale: bool) -> None:
    if stale:
        row = session.get(MessageTerms, message_id)
        if row is not None:
            row.terms, row.version = terms, TERMS_VERSION
            session.add(row)
            return
    savepoint = session.begin_nested()
    try:
        session.add(MessageTerms(message_id=message_id, version=TERMS_VERSION, terms=terms))
        session.flush()
        savepoint.commit()
    except IntegrityError:
        # Stored meanwhile by another worker: theirs is as good as ours.
        savepoint.rollback()


def cache_terms(*, session: Session, since: datetime, until: datetime) -> int:
    """Computes and stores the terms of messages received in [since, until) that lack them; returns
    how many messages the window holds. The alert job calls it so that reads stay fast."""
    items = _load(session, _scope(None, since, until, None), store=True)
    session.commit()
    return len(items)


# How many subqueries one statement of per-day fingerprints holds (SQLite allows 500 in a compound).
_CHUNK = 300
# The alert job counts at most this many days a run, newest first (the first runs fill the history).
MAX_DAYS_PER_RUN = 60
# The alert job sums at most this many weeks and months a run, newest first.
MAX_SPANS_PER_RUN = 20
# Hot topics name these many of the terms most frequent among the messages read one by one whatever their
# stored counts (see _Windows.candidates).
_ALWAYS_SUMMED = 100
# Hot topics name at most this many candidate terms by their stored counts alone (see _Windows.candidates).
_NAMED_AT_ONCE = 500


def count_days(
    *, session: Session, now: datetime, tz: ZoneInfo, max_days: int | None = MAX_DAYS_PER_RUN
) -> int:
    """Brings the daily per-term counts up to date for every whole local day before today (in `tz`)
    since the first message: a day not counted yet, counted in another zone or term version, or whose
    messages changed since (added, removed, moved to another unit: its per-unit fingerprint differs) is
    counted again from its messages' terms (computing and storing the missing ones), newest first, at
    most `max_days` of them (None: all). Each day is replaced in its own transaction, so running it
    twice, or stopping it, leaves every day either counted or not; returns how many days it counted.

    Then it sums the counts of whole local weeks (from Monday) and calendar months over all units
    (`_roll_up`), for spans whose days are all counted and whose sums are missing or out of date, newest
    first, at most MAX_SPANS_PER_RUN of them (all when `max_days` is None)."""
    first = session.execute(sa_select(func.min(col(Message.received_at)))).scalar_one()
    today = local_midnight(now.astimezone(tz).date(), tz)
    if first is None or first >= today:
        return 0
    days = list(_local_days(first, today - timedelta(microseconds=1), tz))
    received = col(Message.received_at)
    live = _fingerprints(session, [[received >= d0, received < d1] for _, d0, d1 in days], [])
    stored = {
        row.day: row
        for row in session.execute(sa_select(_DAYS.c.day, _DAYS.c.zone, _DAYS.c.version, _DAYS.c.units))
    }
    todo = []
    for (day, d0, d1), fingerprint in zip(days, live, strict=True):
        row = stored.get(day)
        if (
            row is None
            or row.zone != tz.key
            or row.version != TERMS_VERSION
            or {code: (v[0], v[1]) for code, v in row.units.items()} != fingerprint
        ):
            todo.append((day, d0, d1))
    todo.reverse()
    left: set[date] = set()
    if max_days is not None:
        left = {day for day, _, _ in todo[max_days:]}
        todo = todo[:max_days]
    session.commit()
    for day, d0, d1 in todo:
        _count_day(session, day, d0, d1, tz, now)
    totals = {day: _total(fingerprint) for (day, _, _), fingerprint in zip(days, live, strict=True)}
    _roll_up(
        session,
        totals,
        left,
        tz,
        now,
        MAX_SPANS_PER_RUN if max_days is not None else None,
    )
    return len(todo)


def _total(fingerprint: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """A per-unit fingerprint summed over the units."""
    return sum(c for c, _ in fingerprint.values()), sum(t for _, t in fingerprint.values())


def _span_days(kind: str, start: date) -> list[date]:
    """The local days of a week (from its Monday) or a calendar month (from its first day)."""
    if kind == "week":
        end = start + timedelta(days=7)
    else:
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _spans_within(days: Collection[date]) -> list[tuple[str, date]]:
    """The months, then the weeks, whose every day is among `days` (they may overlap each other)."""
    out: list[tuple[str, date]] = []
    if not days:
        return out
    lo, hi = min(days), max(days)
    month = date(lo.year, lo.month, 1)
    while month <= hi:
        span = _span_days("month", month)
        if all(d in days for d in span):
            out.append(("month", month))
        month = span[-1] + timedelta(days=1)
    week = lo - timedelta(days=lo.weekday())
    while week <= hi:
        if all(d in days for d in _span_days("week", week)):
            out.append(("week", week))
        week += timedelta(days=7)
    return out


def _span_where(spans: Sequence[tuple[str, date]]) -> ColumnElement[bool]:
    kinds = sorted({kind for kind, _ in spans})
    return or_(
        *(
            and_(
                _SPAN_TERMS.c.kind == kind, _SPAN_TERMS.c.start.in_(sorted(s for k, s in spans if k == kind))
            )
            for kind in kinds
        )
    )


def _roll_up(
    session: Session,
    totals: dict[date, tuple[int, int]],
    left: set[date],
    tz: ZoneInfo,
    now: datetime,
    max_spans: int | None,
) -> int:
    """Sums the daily counts of every week and month inside `totals` (the live messages and id sum of
    each day before today) whose sums are missing, of another zone or term version, or no longer match
    its days' messages, provided none of its days is still to be counted (`left`); newest first, at most
    `max_spans`. Returns how many spans it summed."""
    current = {
        (kind, start): (count, total)
        for kind, start, count, total in session.execute(
            sa_select(_SPANS.c.kind, _SPANS.c.start, _SPANS.c.count, _SPANS.c.total).where(
                _SPANS.c.zone == tz.key, _SPANS.c.version == TERMS_VERSION
            )
        )
    }
    todo: list[tuple[str, date, list[date]]] = []
    for kind, start in _spans_within(totals.keys()):
        days = _span_days(kind, start)
        live = (sum(totals[d][0] for d in days), sum(totals[d][1] for d in days))
        if current.get((kind, start)) == live:
            continue
        if not left.intersection(days):
            todo.append((kind, start, days))
    todo.sort(key=lambda t: (t[2][-1], t[0]), reverse=True)
    if max_spans is not None:
        todo = todo[:max_spans]
    session.commit()
    done = 0
    for kind, start, days in todo:
        done += _sum_span(session, kind, start, days, tz, now)
    return done


def _day_rows(
    session: Session, days: Sequence[date]
) -> list[tuple[date, str, int, dict[str, list[int]], datetime]]:
    """The stored days among `days`, read afresh (not from the session's objects)."""
    return [
        (day, zone, version, units, counted_at)
        for day, zone, version, units, counted_at in session.execute(
            sa_select(_DAYS.c.day, _DAYS.c.zone, _DAYS.c.version, _DAYS.c.units, _DAYS.c.counted_at)
            .where(_DAYS.c.day.in_(days))
            .order_by(_DAYS.c.day)
        )
    ]


def _sum_span(session: Session, kind: str, start: date, days: list[date], tz: ZoneInfo, now: datetime) -> int:
    """Replaces one span's sums by those of its days' counts, recording what those counts counted (their
    messages and id sum); returns 1, or 0 when a day is not counted in this zone and version or was
    counted again meanwhile."""
    before = _day_rows(session, days)
    if len(before) != len(days) or any(
        zone != tz.key or version != TERMS_VERSION for _, zone, version, _, _ in before
    ):
        session.commit()
        return 0
    sums: dict[str, list[int]] = {}
    for term, ids in session.execute(sa_select(_COUNTS.c.term, _COUNTS.c.ids).where(_COUNTS.c.day.in_(days))):
        sums.setdefault(term, []).extend(ids)
    if _day_rows(session, days) != before:
        session.commit()
        return 0
    count = sum(v[0] for *_, units, _ in before for v in units.values())
    total = sum(v[1] for *_, units, _ in before for v in units.values())
    encoded = _encode_terms(session, {term: len(ids) for term, ids in sums.items()})
    savepoint = session.begin_nested()
    try:
        where = [_SPAN_TERMS.c.kind == kind, _SPAN_TERMS.c.start == start]
        session.execute(delete(_SPAN_TERMS).where(*where))
        session.execute(delete(_SPANS).where(_SPANS.c.kind == kind, _SPANS.c.start == start))
        if sums:
            session.execute(
                insert(_SPAN_TERMS),
                [
                    {"kind": kind, "start": start, "term": term, "count": len(ids), "ids": sorted(ids)}
                    for term, ids in sums.items()
                ],
            )
        session.execute(
            insert(_SPANS).values(
                kind=kind,
                start=start,
                zone=tz.key,
                version=TERMS_VERSION,
                count=count,
                total=total,
                counted_at=now,
                sums=encoded,
            )
        )
        savepoint.commit()
    except IntegrityError:
        # Summed meanwhile by another worker.
        savepoint.rollback()
    session.commit()
    return 1


def _count_day(session: Session, day: date, d0: datetime, d1: datetime, tz: ZoneInfo, now: datetime) -> None:
    received = col(Message.received_at)
    units: dict[str, list[int]] = {}
    postings: dict[tuple[str, str], list[int]] = {}
    for message_id, _, unit_code, terms in _load(session, [received >= d0, received < d1], store=True):
        code = unit_code or ""
        fingerprint = units.setdefault(code, [0, 0])
        fingerprint[0] += 1
        fingerprint[1] += message_id
        for term in set(terms):
            postings.setdefault((code, term), []).append(message_id)
    numbers = _term_ids(session, (term for _, term in postings), add=True)
    per_unit: dict[str, dict[int, int]] = {}
    for (code, term), ids in postings.items():
        per_unit.setdefault(code, {})[numbers[term]] = len(ids)
    savepoint = session.begin_nested()
    try:
        session.execute(delete(_COUNTS).where(_COUNTS.c.day == day))
        session.execute(delete(_DAY_UNITS).where(_DAY_UNITS.c.day == day))
        session.execute(delete(_DAYS).where(_DAYS.c.day == day))
        if postings:
            session.execute(
                insert(_COUNTS),
                [
                    {"day": day, "unit_code": code, "term": term, "count": len(ids), "ids": sorted(ids)}
                    for (code, term), ids in postings.items()
                ],
            )
        if per_unit:
            session.execute(
                insert(_DAY_UNITS),
                [{"day": day, "unit_code": code, "sums": encode_counts(c)} for code, c in per_unit.items()],
            )
        session.execute(
            insert(_DAYS).values(day=day, zone=tz.key, version=TERMS_VERSION, units=units, counted_at=now)
        )
        savepoint.commit()
    except IntegrityError:
        # Counted meanwhile by another worker from the same messages.
        savepoint.rollback()
    session.commit()


def _term_ids(session: Session, terms: Iterable[str], *, add: bool) -> dict[str, int]:
    """The numbers of those of `terms` that have one, numbering the others first when `add` (numbers
    are never reused or changed: the table only grows)."""
    wanted = sorted(set(terms))
    out: dict[str, int] = {}

    def read(chosen: list[str]) -> None:
        for first in range(0, len(chosen), 500):
            for term_id, term in session.execute(
                sa_select(_TERM_IDS.c.id, _TERM_IDS.c.term).where(
                    _TERM_IDS.c.term.in_(chosen[first : first + 500])
                )
            ):
                out[term] = term_id

    read(wanted)
    missing = [term for term in wanted if term not in out]
    if missing and add:
        bulk_insert(session, _TERM_IDS, [{"term": term} for term in missing], ignore_duplicates=True)
        read(missing)
    return out


def _term_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The terms of numbers `ids`."""
    wanted = sorted(set(ids))
    out: dict[int, str] = {}
    for first in range(0, len(wanted), 500):
        for term_id, term in session.execute(
            sa_select(_TERM_IDS.c.id, _TERM_IDS.c.term).where(_TERM_IDS.c.id.in_(wanted[first : first + 500]))
        ):
            out[term_id] = term
    return out


def _encode_terms(session: Session, counts: dict[str, int]) -> bytes:
    """Messages per term in the stored form: counts by term number."""
    ids = _term_ids(session, counts, add=True)
    return encode_counts({ids[term]: n for term, n in counts.items()})


def _who(principal: Principal | None, unit_code: str | None, column: Any) -> list[ColumnElement[bool]]:
    """The unit scope of a request on `column` (a message's or a count's unit code)."""
    out: list[ColumnElement[bool]] = []
    if principal is not None and principal.units is not None:
        out.append(column.in_(principal.units))
    if unit_code is not None:
        out.append(column == unit_code)
    return out


def _local_days(lo: datetime, hi: datetime, tz: ZoneInfo) -> Iterator[tuple[date, datetime, datetime]]:
    """The local days that overlap [lo, hi], each with its bounds [d0, d1) in UTC."""
    day = lo.astimezone(tz).date()
    d0 = local_midnight(day, tz)
    while d0 <= hi:
        d1 = local_midnight(day + timedelta(days=1), tz)
        yield day, d0, d1
        day, d0 = day + timedelta(days=1), d1


@dataclass
class _Piece:
    """A part of one local day inside a window, from `lo` to `hi` (each bound included or not); `day`
    is set when the piece is the whole day."""

    current: bool
    day: date | None
    lo: datetime
    hi: datetime
    lo_included: bool = True
    hi_included: bool = False

    @property
    def where(self) -> list[ColumnElement[bool]]:
        received = col(Message.received_at)
        return [
            received >= self.lo if self.lo_included else received > self.lo,
            received <= self.hi if self.hi_included else received < self.hi,
        ]


def _pieces(start: datetime, split: datetime, at: datetime, tz: ZoneInfo) -> list[_Piece]:
    """The baseline [start, split] and the current window (split, at) cut at local midnights."""
    out: list[_Piece] = []
    for day, d0, d1 in _local_days(start, split, tz):
        if d0 >= start and d1 <= split:
            out.append(_Piece(False, day, d0, d1))
        else:
            out.append(_Piece(False, None, max(start, d0), min(d1, split), hi_included=d1 > split))
    for day, d0, d1 in _local_days(split, at, tz):
        if d0 >= at:
            break
        if d0 > split and d1 <= at:
            out.append(_Piece(True, day, d0, d1))
        else:
            out.append(_Piece(True, None, max(d0, split), min(d1, at), lo_included=d0 > split))
    return out


def _fingerprints(
    session: Session, pieces: Sequence[Sequence[ColumnElement[bool]]], who: Sequence[ColumnElement[bool]]
) -> list[dict[str, tuple[int, int]]]:
    """Per piece (a list of conditions on messages) and unit ("" = not routed): the number of messages
    and the sum of their ids, a few hundred pieces a statement."""
    unit = func.coalesce(col(Message.unit_code), literal_column("''"))
    out: list[dict[str, tuple[int, int]]] = [{} for _ in pieces]
    for first in range(0, len(pieces), _CHUNK):
        selects: list[Any] = [
            sa_select(literal_column(str(i)), unit, func.count(), func.sum(col(Message.id)))
            .where(*where, *who)
            .group_by(unit)
            for i, where in enumerate(pieces[first : first + _CHUNK], first)
        ]
        statement: Any = selects[0] if len(selects) == 1 else union_all(*selects)
        for i, code, count, total in session.execute(statement):
            out[int(i)][code] = (int(count), int(total))
    return out


def _choose_spans(
    session: Session, pieces: Sequence[_Piece], tz: ZoneInfo
) -> dict[bool, list[tuple[str, date, tuple[int, int]]]]:
    """Per window (current or not), the weeks and months made of its whole-day pieces whose sums exist
    in `tz` and the current term version, months first, none overlapping another; each with what its sums
    counted (messages, id sum), to check against its live messages."""
    out: dict[bool, list[tuple[str, date, tuple[int, int]]]] = {True: [], False: []}
    wanted = {
        flag: _spans_within([p.day for p in pieces if p.day is not None and p.current == flag])
        for flag in (True, False)
    }
    starts = sorted({first for spans in wanted.values() for _, first in spans})
    if not starts:
        return out
    stored = {
        (kind, start): (count, total)
        for kind, start, count, total in session.execute(
            sa_select(_SPANS.c.kind, _SPANS.c.start, _SPANS.c.count, _SPANS.c.total).where(
                _SPANS.c.start.in_(starts), _SPANS.c.zone == tz.key, _SPANS.c.version == TERMS_VERSION
            )
        )
    }
    taken: set[date] = set()
    for flag, spans in wanted.items():
        for kind, first in spans:
            days = _span_days(kind, first)
            summed = stored.get((kind, first))
            if summed is None or taken.intersection(days):
                continue
            out[flag].append((kind, first, summed))
            taken.update(days)
    return out


class _Windows:
    """The current window and the baseline of one request, counted from the arrays of whole local weeks and
    months over all units (`topic_spans.sums`, for a request without a unit scope) and of the scope's
    units on whole days (`topic_day_units`) wherever those are up to date (checked by one fingerprint per
    span or day), and message by message (stored term lists, or segmenting) for the rest: the partial
    days at the windows' edges, today, and days not counted yet or changed since. The id lists
    (`topic_span_terms`, `topic_day_terms`) give the messages holding the hot terms."""

    def __init__(
        self,
        session: Session,
        principal: Principal | None,
        unit_code: str | None,
        start: datetime,
        split: datetime,
        at: datetime,
        tz: ZoneInfo,
    ) -> None:
        self._session = session
        pieces = _pieces(start, split, at, tz)
        # SQLite would walk a unit's messages by deadline (ix_messages_unit_due_id) for every day's
        # fingerprint instead of reading each day's range of ix_messages_received_unit_id.
        who = _who(principal, unit_code, NoIndex(col(Message.unit_code)))
        scoped = (principal is not None and principal.units is not None) or unit_code is not None
        # Without a unit scope, whole weeks and months are candidates for their sums: one fingerprint each.
        chosen = {True: [], False: []} if scoped else _choose_spans(session, pieces, tz)
        spanned = {day for spans in chosen.values() for span in spans for day in _span_days(*span[:2])}
        rest = [p for p in pieces if p.day is None or p.day not in spanned]
        listed = [(flag, span) for flag, spans in chosen.items() for span in spans]
        received = col(Message.received_at)
        live = _fingerprints(
            session,
            [
                *(
                    [
                        received >= local_midnight(days[0], tz),
                        received < local_midnight(days[-1] + timedelta(days=1), tz),
                    ]
                    for days in (_span_days(kind, first) for _, (kind, first, _) in listed)
                ),
                *(p.where for p in rest),
            ],
            who,
        )
        span_live, rest_live = live[: len(listed)], live[len(listed) :]
        self.sizes = {
            flag: sum(
                _total(f)[0] for (current, _), f in zip(listed, span_live, strict=True) if current == flag
            )
            + sum(_total(f)[0] for p, f in zip(rest, rest_live, strict=True) if p.current == flag)
            for flag in (True, False)
        }
        self._spans: dict[bool, list[tuple[str, date]]] = {True: [], False: []}
        changed: list[_Piece] = []
        for (flag, (kind, first, summed)), fingerprint in zip(listed, span_live, strict=True):
            if summed == _total(fingerprint):
                self._spans[flag].append((kind, first))
            else:  # its messages changed since it was summed: its days one by one
                days = set(_span_days(kind, first))
                changed.extend(p for p in pieces if p.day in days)
        if changed:
            rest = [*rest, *changed]
            rest_live = [*rest_live, *_fingerprints(session, [p.where for p in changed], who)]
        whole = [p.day for p in rest if p.day is not None]
        stored = (
            {
                row.day: row
                for row in session.execute(
                    sa_select(_DAYS.c.day, _DAYS.c.zone, _DAYS.c.version, _DAYS.c.units).where(
                        _DAYS.c.day.in_(whole)
                    )
                )
            }
            if whole
            else {}
        )

        def visible(code: str) -> bool:
            if principal is not None and principal.units is not None and code not in principal.units:
                return False
            return unit_code is None or code == unit_code

        self._days: dict[bool, list[date]] = {True: [], False: []}
        loose: dict[bool, list[ColumnElement[bool]]] = {True: [], False: []}
        for piece, fingerprint in zip(rest, rest_live, strict=True):
            row = stored.get(piece.day) if piece.day is not None else None
            if (
                row is not None
                and row.zone == tz.key
                and row.version == TERMS_VERSION
                and {code: (v[0], v[1]) for code, v in row.units.items() if visible(code) and v[0]}
                == fingerprint
            ):
                self._days[piece.current].append(row.day)
            else:
                loose[piece.current].append(and_(*piece.where))
        self._who = _who(principal, unit_code, _COUNTS.c.unit_code)
        # The stored counts (by term number) of every span used, and of the scope's units on every day used.
        self._sums: dict[bool, list[bytes]] = {True: [], False: []}
        current_days = set(self._days[True])
        if self._days[True] or self._days[False]:
            for day, sums in session.execute(
                sa_select(_DAY_UNITS.c.day, _DAY_UNITS.c.sums).where(
                    _DAY_UNITS.c.day.in_([*self._days[True], *self._days[False]]),
                    *_who(principal, unit_code, _DAY_UNITS.c.unit_code),
                )
            ):
                self._sums[day in current_days].append(sums)
        if self._spans[True] or self._spans[False]:
            span_sums = {
                (kind, first): sums
                for kind, first, sums in session.execute(
                    sa_select(_SPANS.c.kind, _SPANS.c.start, _SPANS.c.sums).where(
                        _SPANS.c.start.in_({first for spans in self._spans.values() for _, first in spans})
                    )
                )
            }
            for flag, spans in self._spans.items():
                self._sums[flag].extend(span_sums.get(span, b"") for span in spans)
        self.loose: dict[bool, list[_Item]] = {True: [], False: []}
        for flag, conditions in loose.items():
            if conditions:
                self.loose[flag] = [
                    _Item(message_id, received_at, code, 0 if flag else 1, frozenset(terms))
                    for message_id, received_at, code, terms in _load(
                        session, [or_(*conditions), *who], store=False
                    )
                ]

    def counts(self, current: bool) -> Counter[str]:
        """Messages per term (every term)."""
        out: Counter[str] = Counter()
        summed = summed_counts(self._sums[current])
        for term_id, term in _term_names(self._session, np.flatnonzero(summed).tolist()).items():
            out[term] = int(summed[term_id])
        out.update(chain.from_iterable(item.terms for item in self.loose[current]))
        return out

    def candidates(self, settings: TopicSettings) -> tuple[Counter[str], Counter[str]]:
        """The current window's and the baseline's messages per term, exactly, for every term that can be
        hot (a superset of the hot terms).

        The stored arrays of both windows are added up (numpy) and the messages read one by one counted
        per term. Only terms that could be hot are named: those whose stored current count, plus at most
        `spare` messages read one by one, reach `min_count` and `min_lift` (`spare`: the count of the
        term after the _ALWAYS_SUMMED most frequent among those messages, which are named anyway). When
        that bound leaves more than _NAMED_AT_ONCE terms, the terms read one by one are looked up by
        name and counted exactly instead."""
        n = settings.baseline_windows
        loose_now = Counter(chain.from_iterable(item.terms for item in self.loose[True]))
        loose_before = Counter(chain.from_iterable(item.terms for item in self.loose[False]))
        now, before = summed_counts(self._sums[True]), summed_counts(self._sums[False])
        size = max(len(now), len(before))
        now, before = np.pad(now, (0, size - len(now))), np.pad(before, (0, size - len(before)))
        slack = settings.min_lift * (1 - 1e-9)  # keeps rounding on the side of naming a term too many

        def could_be_hot(current: np.ndarray) -> np.ndarray:
            # (now + 1) / (before / n + 1) >= min_lift, multiplied out.
            mask = current >= settings.min_count
            if n:
                mask &= (current + 1) * n >= (before + n) * slack
            return mask

        ranked = loose_now.most_common(_ALWAYS_SUMMED + 1)
        named = [t for t, _ in ranked[:_ALWAYS_SUMMED]]
        spare = ranked[_ALWAYS_SUMMED][1] if len(ranked) > _ALWAYS_SUMMED else 0
        chosen = np.flatnonzero(could_be_hot(now + spare))
        if len(chosen) > _NAMED_AT_ONCE:
            exact = now.copy()
            for term, term_id in _term_ids(self._session, loose_now, add=False).items():
                if term_id < size:
                    exact[term_id] += loose_now[term]
            chosen, named = np.flatnonzero(could_be_hot(exact)), []
        # Terms read one by one that could be hot on those messages alone (they may have no stored count).
        named += [
            t
            for t, c in loose_now.items()
            if c >= settings.min_count and (not n or (c + 1) / (loose_before[t] / n + 1) >= slack)
        ]
        stored = {
            term: (int(now[term_id]), int(before[term_id]))
            for term_id, term in _term_names(self._session, chosen.tolist()).items()
        }
        for term, term_id in _term_ids(
            self._session, [t for t in named if t not in stored], add=False
        ).items():
            if term_id < size:
                stored[term] = (int(now[term_id]), int(before[term_id]))
        now_counts: Counter[str] = Counter()
        before_counts: Counter[str] = Counter()
        for term in {*stored, *loose_now}:
            a, b = stored.get(term, (0, 0))
            if a + loose_now[term] > 0:
                now_counts[term] = a + loose_now[term]
                before_counts[term] = b + loose_before[term]
        return now_counts, before_counts

    def holding(self, current: bool, terms: Iterable[str]) -> dict[str, set[int]]:
        """For each of `terms`, the ids of the messages holding it."""
        out: dict[str, set[int]] = {t: set() for t in terms}
        spans, days = self._spans[current], self._days[current]
        wanted = sorted(out)
        for first in range(0, len(wanted), 500):
            chunk = wanted[first : first + 500]
            if spans:
                for value, ids in self._session.execute(
                    sa_select(_SPAN_TERMS.c.term, _SPAN_TERMS.c.ids).where(
                        _SPAN_TERMS.c.term.in_(chunk), _span_where(spans)
                    )
                ):
                    out[value].update(ids)
            if days:
                for value, ids in self._session.execute(
                    sa_select(_COUNTS.c.term, _COUNTS.c.ids).where(
                        _COUNTS.c.term.in_(chunk), _COUNTS.c.day.in_(days), *self._who
                    )
                ):
                    out[value].update(ids)
        for item in self.loose[current]:
            for value in item.terms & out.keys():
                out[value].add(item.id)
        return out

    def holding_any(self, terms: set[str]) -> int:
        """How many baseline messages hold at least one of `terms`."""
        found: set[int] = set()
        for ids in self.holding(False, terms).values():
            found |= ids
        return len(found)

    def items(self, ids: Iterable[int]) -> dict[int, _Item]:
        """The current window's messages of `ids` (their time and unit)."""
        out = {i.id: i for i in self.loose[True]}
        wanted = sorted(set(ids) - out.keys())
        for first in range(0, len(wanted), 500):
            for message_id, received_at, code in self._session.execute(
                sa_select(col(Message.id), col(Message.received_at), col(Message.unit_code)).where(
                    col(Message.id).in_(wanted[first : first + 500])
                )
            ):
                out[message_id] = _Item(message_id, received_at, code, 0, frozenset())
        return out


def hot_topics(
    *,
    session: Session,
    principal: Principal | None,
    at: datetime,
    settings: TopicSettings,
    unit_code: str | None = None,
    tz: ZoneInfo | None = None,
) -> TopicReport:
    """Hot terms and clusters for the window ending at `at`, seen by `principal` (None = everything).

    The current window is (at − window, at), the baseline [at − window × (n + 1), at − window]. Both are
    counted from the daily per-term counts where a whole local day (in `tz`, by default the service's
    zone) is counted and unchanged, and message by message elsewhere (`_Windows`); the clusters read only
    the messages that hold a hot term."""
    window = settings.window
    n = settings.baseline_windows
    split = at - window
    windows = _Windows(
        session, principal, unit_code, at - window * (n + 1), split, at, tz or get_settings().tz
    )
    now_counts, before_counts = windows.candidates(settings)

    hot: list[TopicTerm] = []
    for term, count in now_counts.items():
        expected = before_counts[term] / n if n else 0.0
        lift = (count + 1) / (expected + 1)
        if count >= settings.min_count and lift >= settings.min_lift:
            score = (count - expected) / math.sqrt(expected + 1)
            hot.append(
                TopicTerm(
                    term=term,
                    count=count,
                    baseline=round(expected, 2),
                    lift=round(lift, 2),
                    score=round(score, 2),
                )
            )
    hot.sort(key=lambda t: (-t.score, -t.count, t.term))

    clusters = _clusters(hot, windows.holding(True, [t.term for t in hot]), windows, settings, n)
    names = _unit_names(session, {i.unit_code for c in clusters for i in c[1] if i.unit_code})
    return TopicReport(
        window_start=split,
        window_end=at,
        window_hours=window.total_seconds() / 3600,
        baseline_windows=n,
        min_count=settings.min_count,
        min_lift=settings.min_lift,
        messages_in_window=windows.sizes[True],
        messages_in_baseline=windows.sizes[False],
        terms=hot[: settings.max_terms],
        clusters=[
            _cluster_public(session, terms, members, base, settings, names)
            for terms, members, base in clusters
        ],
    )


def _clusters(
    hot: Sequence[TopicTerm],
    by_term: dict[str, set[int]],
    windows: _Windows,
    settings: TopicSettings,
    n: int,
) -> list[tuple[list[str], list[_Item], float]]:
    """Greedy: a hot term joins the first cluster that holds at least half of its messages (terms of one
    story — "油烟", "扰民", a housing estate's name — share their messages), else starts its own.
    `by_term` holds the ids of the current window's messages holding each hot term."""
    groups: list[tuple[list[str], set[int]]] = []
    # Which groups each message is in, so that a term's overlap with every group is one tally.
    groups_of: dict[int, list[int]] = {}
    for topic in hot:
        ids = by_term[topic.term]
        shared = Counter(g for i in ids for g in groups_of.get(i, ()))
        first = min((g for g, k in shared.items() if k * 2 >= len(ids)), default=None)
        if first is None and not ids:
            first = (
                0 if groups else None
            )  # an empty term joins the first group, as every group holds half of nothing
        if first is None:
            first = len(groups)
            groups.append(([], set()))
        terms, members = groups[first]
        terms.append(topic.term)
        for i in ids - members:
            groups_of.setdefault(i, []).append(first)
        members |= ids
    # (A story with too few messages cannot be saved by its baseline: its baseline is not read.)
    groups = [(terms, members) for terms, members in groups if len(members) >= settings.min_count]
    # The baseline's messages holding each term of those stories, read at once.
    baseline = windows.holding(False, [t for terms, _ in groups for t in terms]) if n else {}
    kept: list[tuple[list[str], set[int], float]] = []
    for terms, members in groups:
        count = len(members)
        before = len(set().union(*(baseline[t] for t in terms))) / n if n else 0.0
        if (count + 1) / (before + 1) < settings.min_lift:
            continue
        # The words most of the story's messages share name it best; score breaks ties (stable sort).
        named = sorted(terms, key=lambda t: -len(by_term[t]))
        kept.append((named, members, before))
    kept.sort(key=lambda c: (-len(c[1]), c[0][0]))
    kept = kept[: settings.max_clusters]
    items = windows.items(i for _, members, _ in kept for i in members)
    return [
        (
            named,
            sorted((items[i] for i in members), key=lambda i: (i.received_at, i.id), reverse=True),
            before,
        )
        for named, members, before in kept
    ]


def _unit_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    wanted = list(codes)
    if not wanted:
        return {}
    return {
        code: name
        for code, name in session.exec(select(Unit.code, Unit.name).where(col(Unit.code).in_(wanted)))
    }


def _cluster_public(
    session: Session,
    terms: list[str],
    members: list[_Item],
    before: float,
    settings: TopicSettings,
    names: dict[str, str],
) -> TopicCluster:
    per_unit = Counter(i.unit_code for i in members)
    sample_ids = [i.id for i in members[: settings.samples]]
    texts = dict(
        session.execute(
            sa_select(col(Message.id), col(Message.content)).where(col(Message.id).in_(sample_ids))
        ).all()
    )
    samples = [
        TopicSample(
            id=i.id, unit_code=i.unit_code, received_at=i.received_at, text=excerpt(texts.get(i.id, ""))
        )
        for i in members[: settings.samples]
    ]
    return TopicCluster(
        label="、".join(terms[:3]),
        terms=terms,
        count=len(members),
        baseline=round(before, 2),
        lift=round((len(members) + 1) / (before + 1), 2),
        units=[
            TopicUnit(unit_code=code, unit_name=names.get(code or ""), count=count)
            for code, count in per_unit.most_common()
        ],
        samples=samples,
    )


def excerpt(text: str, limit: int = 100) -> str:
    """Masked and shortened, for samples shown to supervisors and sent to group chats."""
    text = " ".join(masked(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
