"""Hot topics (舆情热点): terms and clusters of messages whose volume in the latest window jumps against
the average of the windows before it. Terms are jieba words of the normalised text, stop-words out."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, func, true
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.auth import Principal
from app.messages.models import Message
from app.messages.present import masked
from app.reports.models import MessageTerms, TopicCluster, TopicReport, TopicSample, TopicTerm, TopicUnit
from app.units.models import Unit
from kb.normalise import normalise
from kb.segment import tokens

_TERMS: Table = MessageTerms.__table__  # type: ignore[attr-defined]

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


class _Baseline:
    """The baseline windows' messages, counted in SQL: per-term counts and "how many hold any of these
    terms" come from the stored term lists (`json_each` on SQLite, `json_array_elements_text` on
    PostgreSQL), so the (several times larger) baseline is never decoded row by row in Python. Messages
    whose terms are not stored yet (or are of an older version) are segmented here, as `_load` does."""

    def __init__(self, session: Session, filters: Sequence[ColumnElement[bool]]) -> None:
        self._session = session
        self._filters = list(filters)
        fresh = and_(_TERMS.c.message_id == col(Message.id), _TERMS.c.version == TERMS_VERSION)
        self._fresh = fresh
        self.size = int(
            session.execute(sa_select(func.count()).select_from(Message).where(*self._filters)).scalar_one()
        )
        unstored = (
            sa_select(col(Message.id))
            .where(*self._filters)
            .where(~sa_select(_TERMS.c.message_id).where(fresh).exists())
        )
        ids = [row[0] for row in session.execute(unstored)]
        self._unstored: list[frozenset[str]] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for (content,) in session.execute(
                sa_select(col(Message.content)).where(col(Message.id).in_(chunk))
            ):
                self._unstored.append(frozenset(message_terms(content)))
        self._from = self._expanded()
        term = self._term.c.value
        self.counts: Counter[str] = Counter()
        for value, count in session.execute(
            sa_select(term, func.count()).select_from(self._from).where(*self._filters).group_by(term)
        ):
            self.counts[value] += count
        for terms in self._unstored:
            self.counts.update(terms)

    def _expanded(self) -> Any:
        """messages ⋈ their stored terms ⋈ one row per term (`term.value`)."""
        dialect = self._session.get_bind().dialect.name
        elements = func.json_array_elements_text if dialect == "postgresql" else func.json_each
        self._term = elements(_TERMS.c.terms).table_valued("value").alias("term")
        messages: Table = Message.__table__  # type: ignore[attr-defined]
        return messages.join(_TERMS, self._fresh).join(self._term, true())

    def holding_any(self, terms: set[str]) -> int:
        """How many baseline messages hold at least one of `terms`."""
        stored = self._session.execute(
            sa_select(func.count(func.distinct(col(Message.id))))
            .select_from(self._from)
            .where(*self._filters, self._term.c.value.in_(sorted(terms)))
        ).scalar_one()
        return int(stored) + sum(1 for t in self._unstored if t & terms)


def _windows(
    session: Session,
    principal: Principal | None,
    at: datetime,
    settings: TopicSettings,
    unit_code: str | None,
) -> tuple[list[_Item], _Baseline]:
    """The current window's messages, (at − window, at), and the baseline, [at − window × (n + 1),
    at − window]: the split `int((at − received_at) / window) == 0` makes."""
    split = at - settings.window
    scope = _scope(principal, at - settings.window * (settings.baseline_windows + 1), at, unit_code)
    current = [
        _Item(message_id, received_at, code, 0, frozenset(terms))
        for message_id, received_at, code, terms in _load(
            session, [*scope, col(Message.received_at) > split], store=False
        )
    ]
    return current, _Baseline(session, [*scope, col(Message.received_at) <= split])


def hot_topics(
    *,
    session: Session,
    principal: Principal | None,
    at: datetime,
    settings: TopicSettings,
    unit_code: str | None = None,
) -> TopicReport:
    """Hot terms and clusters for the window ending at `at`, seen by `principal` (None = everything).

    The current window, (at − window, at), is read message by message (clusters need each message's
    terms); the baseline, [at − window × (n + 1), at − window], is counted in SQL (`_Baseline`)."""
    window = settings.window
    n = settings.baseline_windows
    current, baseline = _windows(session, principal, at, settings, unit_code)

    now_counts: Counter[str] = Counter()
    for item in current:
        now_counts.update(item.terms)
    before_counts = baseline.counts

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

    clusters = _clusters(hot, current, baseline.holding_any, settings, n)
    names = _unit_names(session, {i.unit_code for c in clusters for i in c[1] if i.unit_code})
    return TopicReport(
        window_start=at - window,
        window_end=at,
        window_hours=window.total_seconds() / 3600,
        baseline_windows=n,
        min_count=settings.min_count,
        min_lift=settings.min_lift,
        messages_in_window=len(current),
        messages_in_baseline=baseline.size,
        terms=hot[: settings.max_terms],
        clusters=[
            _cluster_public(session, terms, members, base, settings, names)
            for terms, members, base in clusters
        ],
    )


def _clusters(
    hot: Sequence[TopicTerm],
    current: Sequence[_Item],
    holding_any: Callable[[set[str]], int],
    settings: TopicSettings,
    n: int,
) -> list[tuple[list[str], list[_Item], float]]:
    """Greedy: a hot term joins the first cluster that holds at least half of its messages (terms of one
    story — "油烟", "扰民", a housing estate's name — share their messages), else starts its own.
    `holding_any(terms)` counts the baseline messages holding any of `terms`."""
    groups: list[tuple[list[str], set[int]]] = []
    by_term: dict[str, set[int]] = {t.term: set() for t in hot}
    for item in current:
        for term in item.terms & by_term.keys():
            by_term[term].add(item.id)
    for topic in hot:
        ids = by_term[topic.term]
        for terms, members in groups:
            if len(ids & members) * 2 >= len(ids):
                terms.append(topic.term)
                members |= ids
                break
        else:
            groups.append(([topic.term], set(ids)))
    out: list[tuple[list[str], list[_Item], float]] = []
    for terms, members in groups:
        count = len(members)
        if count < settings.min_count:
            continue  # (the baseline cannot save it: skip its count)
        before = holding_any(set(terms)) / n if n else 0.0
        if (count + 1) / (before + 1) < settings.min_lift:
            continue
        items = sorted(
            (i for i in current if i.id in members), key=lambda i: (i.received_at, i.id), reverse=True
        )
        # The words most of the story's messages share name it best; score breaks ties (stable sort).
        named = sorted(terms, key=lambda t: -len(by_term[t]))
        out.append((named, items, before))
    out.sort(key=lambda c: (-len(c[1]), c[0][0]))
    return out[: settings.max_clusters]


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
