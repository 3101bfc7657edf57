"""The process-wide suggestion index, kept in step with the database.

It holds the published entries that are valid now. `sync` compares the KB version row with the state
the index was built from and, when they differ (a change made by this process or another one) or an
entry's validity window opened or closed, reads which entries changed and applies only those to a copy
of the index, then swaps it in: searches never wait for a rebuild. Suggest requests do not touch the
database: they poke a background refresh at most once a second. Lock order: a thread may hold the
SQLite write gate (an open transaction) and then wait for the build lock, never the reverse, so every
database read happens before the build lock is taken.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app import clock
from app.db import session_scope
from app.knowledge import state
from app.knowledge.models import EntryStatus, KnowledgeEntry
from app.ops import runtime
from kb.normalise import normalise

if TYPE_CHECKING:  # the engine (numpy, pinyin tables) loads with the index, off the start-up path
    from kb.index import KBEntry, KBIndex, Known, Pool, Suggestion

log = logging.getLogger(__name__)

# jieba is linear in the text's length: long messages are matched on their start and their end, where
# citizens put the topic and the question.
TEXT_HEAD = 1000
TEXT_TAIL = 1000
# How often a process serving suggestions looks at the KB version row (in a background thread).
POLL_SECONDS = 1.0
_FETCH_CHUNK = 500
# Extra results asked of the engine when channel or validity filters may drop some.
_FILTER_SLACK = 5


def clip(text: str) -> str:
    """The part of `text` that is matched: all of it, or its first and last 1,000 characters."""
    if len(text) <= TEXT_HEAD + TEXT_TAIL:
        return text
    return text[:TEXT_HEAD] + "\n" + text[-TEXT_TAIL:]


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    """What a suggestion shows of an entry, and the filters applied after ranking."""

    entry_id: int
    version: int
    revision: str
    unit_code: str | None
    question: str
    answer: str
    channels: frozenset[str]
    valid_from: datetime | None
    valid_to: datetime | None

    def valid_at(self, now: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= now) and (
            self.valid_to is None or now <= self.valid_to
        )


@dataclass(frozen=True, slots=True)
class Hit:
    """One suggestion. `top` = it was the engine's best match before any filter (only then can it be
    confident)."""

    entry_id: int
    version: int
    question: str
    answer: str
    unit_code: str | None
    score: float
    confident: bool
    matched_terms: tuple[str, ...]
    matched_field: str
    top: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The suggestion as the API and `message.suggestions` show it."""
        return {
            "entry_id": self.entry_id,
            "version": self.version,
            "question": self.question,
            "answer": self.answer,
            "unit_code": self.unit_code,
            "score": self.score,
            "confident": self.confident,
            "matched_terms": list(self.matched_terms),
            "matched_field": self.matched_field,
        }


@dataclass(frozen=True)
class Snapshot:
    """An immutable view: the compiled index and the entries it holds, and the DB state it reflects."""

    index: KBIndex
    entries: Mapping[int, IndexedEntry]
    key: state.StateKey | None
    built_for: datetime  # validity was evaluated at this time ...
    next_change: datetime | None  # ... and holds until this one (an entry's window opens or closes)
    built_at: datetime
    filtered: bool = field(default=False)  # some entry is limited to channels or a validity window

    def fresh(self, key: state.StateKey | None, now: datetime) -> bool:
        """Whether this view still matches the database state `key` at time `now`."""
        return (
            key is not None
            and key == self.key
            and self.built_for <= now
            and (self.next_change is None or now < self.next_change)
        )

    def search(
        self,
        text: str,
        *,
        unit_code: str | None = None,
        channel: str | None = None,
        limit: int = 5,
        now: datetime | None = None,
        explain: bool | int = True,
        normalised: bool = False,
    ) -> list[Hit]:
        """Best entries for `text`, best first; `unit_code` boosts that unit's entries, `channel` leaves out
        entries limited to other channels, `now` those outside their validity window. `explain`: True, or
        how many of the first hits get their matched terms (explaining costs; hidden hits need none).
        `normalised=True`: `text` is `kb.normalise.normalise` output already (the pipeline's `ctx.text`)."""
        return self.search_many(
            [text],
            unit_codes=[unit_code],
            channels=[channel],
            limit=limit,
            now=now,
            explain=explain,
            normalised=normalised,
        )[0]

    def search_many(
        self,
        texts: Sequence[str],
        *,
        unit_codes: Sequence[str | None] | None = None,
        channels: Sequence[str | None] | None = None,
        limit: int = 5,
        now: datetime | None = None,
        explain: bool | int = True,
        normalised: bool = False,
        pools: list[Pool | None] | None = None,
    ) -> list[list[Hit]]:
        """`search` of each text (unit and channel at the same place in the lists), in one engine pass:
        the pipeline searches a whole batch at once, which costs a fraction of one search per text.
        `pools`, a list, receives each text's candidate pool for `rerank` (`kb.index.KBIndex.search_many`)."""
        if limit <= 0 or not self.entries:
            if pools is not None:
                pools.extend([None] * len(texts))
            return [[] for _ in texts]
        depth = limit + _FILTER_SLACK if self.filtered else limit
        if explain is not True and self.filtered:
            explain = True  # filtering may drop hits, so which ones are shown is not known yet
        queries = [clip(t) for t in texts]
        if normalised:  # a clipped text has a new seam: only those are normalised again
            queries = [q if q is t else normalise(q) for q, t in zip(queries, texts, strict=True)]
        results = self.index.search_many(
            queries,
            unit_codes=unit_codes,
            limit=depth,
            explain=explain,
            normalised=normalised,
            pools=pools,
        )
        return [
            self._hits(found, channel=channels[i] if channels else None, limit=limit, now=now)
            for i, found in enumerate(results)
        ]

    def rerank(
        self,
        pool: Pool,
        *,
        unit_code: str | None,
        channel: str | None = None,
        limit: int = 5,
        now: datetime | None = None,
        known: Known | None = None,
    ) -> list[Hit]:
        """`search` of the pool's text with `unit_code` (and the same channel and time), ranked from the
        candidates of the search that made the pool (`kb.index.KBIndex.rerank`): no second search.
        `known`: evidence of entries already explained for this text."""
        depth = limit + _FILTER_SLACK if self.filtered else limit
        found = self.index.rerank(pool, unit_code=unit_code, limit=depth, known=known)
        return self._hits(found, channel=channel, limit=limit, now=now)

    def _hits(
        self, results: Sequence[Suggestion], *, channel: str | None, limit: int, now: datetime | None
    ) -> list[Hit]:
        hits: list[Hit] = []
        for position, result in enumerate(results):
            entry = self.entries.get(result.entry_id)
            if entry is None or (now is not None and not entry.valid_at(now)):
                continue
            if channel and entry.channels and channel not in entry.channels:
                continue
            hits.append(
                Hit(
                    entry_id=entry.entry_id,
                    version=entry.version,
                    question=entry.question,
                    answer=entry.answer,
                    unit_code=entry.unit_code,
                    score=result.score,
                    confident=result.confident,
                    matched_terms=tuple(result.matched_terms),
                    matched_field=result.matched_field,
                    top=position == 0,
                )
            )
            if len(hits) == limit:
                break
        return hits


@dataclass(frozen=True)
class _Plan:
    """What a sync read from the database: the live entries' versions and the content of changed ones."""

    key: state.StateKey | None
    now: datetime
    next_change: datetime | None
    live: dict[int, str]  # entry id → revision
    changed: list[tuple[IndexedEntry, KBEntry]]
    removed: list[int]


# Plain columns, not ORM objects: nothing in a plan depends on the session once it is read.
_CONTENT: tuple[Any, ...] = (
    KnowledgeEntry.id,
    KnowledgeEntry.version,
    KnowledgeEntry.revision,
    KnowledgeEntry.unit_code,
    KnowledgeEntry.question,
    KnowledgeEntry.answer,
    KnowledgeEntry.alt_questions,
    KnowledgeEntry.channels,
    KnowledgeEntry.valid_from,
    KnowledgeEntry.valid_to,
)


def _entry(row: Any) -> tuple[IndexedEntry, KBEntry]:
    from kb.index import KBEntry  # the text engine (jieba, pinyin tables) loads with the first index build

    entry_id, version, revision, unit_code, question, answer, alts, channels, valid_from, valid_to = row
    shown = IndexedEntry(
        entry_id=int(entry_id),
        version=int(version),
        revision=revision,
        unit_code=unit_code,
        question=question,
        answer=answer,
        channels=frozenset(channels or ()),
        valid_from=valid_from,
        valid_to=valid_to,
    )
    return shown, KBEntry(int(entry_id), question, answer, tuple(alts or ()), unit_code)


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _read_plan(
    session: Session, base: Snapshot | None, key: state.StateKey | None, now: datetime, release: bool
) -> _Plan:
    """Reads which entries are live and the content of those that changed since `base`. With `release`,
    contents are read in short transactions of their own, so that a first load of thousands of entries
    never keeps the SQLite write gate (and with it /readyz and ingest) waiting; a row changed meanwhile
    is newer than `key` says, and the next sync settles it."""
    rows = session.execute(
        select(
            KnowledgeEntry.id, KnowledgeEntry.revision, KnowledgeEntry.valid_from, KnowledgeEntry.valid_to
        ).where(KnowledgeEntry.status == EntryStatus.published)
    ).all()
    live: dict[int, str] = {}
    next_change: datetime | None = None
    for entry_id, revision, valid_from, valid_to in rows:
        # valid from `valid_from` on, through `valid_to` inclusive
        for moment in (valid_from, valid_to + timedelta(microseconds=1) if valid_to else None):
            if moment is not None and moment > now and (next_change is None or moment < next_change):
                next_change = moment
        if (valid_from is None or valid_from <= now) and (valid_to is None or now <= valid_to):
            live[int(entry_id)] = str(revision)
    old = base.entries if base is not None else {}
    changed_ids = [i for i, r in live.items() if (o := old.get(i)) is None or o.revision != r]
    removed = [i for i in old if i not in live]
    changed: list[tuple[IndexedEntry, KBEntry]] = []
    for chunk in _chunks(sorted(changed_ids), _FETCH_CHUNK):
        if release:
            session.rollback()
        found = session.execute(sa_select(*_CONTENT).where(col(KnowledgeEntry.id).in_(chunk)))
        changed.extend(_entry(row) for row in found)
    if release:
        session.rollback()
    return _Plan(key=key, now=now, next_change=next_change, live=live, changed=changed, removed=removed)


def _apply(base: Snapshot | None, plan: _Plan) -> Snapshot:
    """The snapshot `plan` describes, built from `base` (CPU only, no database)."""
    entries = dict(base.entries) if base is not None else {}
    for entry_id in plan.removed:
        entries.pop(entry_id, None)
    for shown, _ in plan.changed:
        entries[shown.entry_id] = shown
    if base is None:
        from kb.index import KBIndex  # as in `_entry`: the engine loads here, off the start-up path

        index = KBIndex()
        index.build(e for _, e in plan.changed)
    elif plan.changed or plan.removed:
        index = base.index.copy()
        for entry_id in plan.removed:
            index.remove(entry_id)
        for _, e in plan.changed:
            index.upsert(
                entry_id=e.entry_id,
                question=e.question,
                answer=e.answer,
                alt_questions=e.alt_questions,
                unit_code=e.unit_code,
            )
        index.compile()
    else:
        index = base.index
    filtered = any(e.channels or e.valid_from or e.valid_to for e in entries.values())
    return Snapshot(
        index=index,
        entries=entries,
        key=plan.key,
        built_for=plan.now,
        next_change=plan.next_change,
        built_at=clock.now(),
        filtered=filtered,
    )


class KnowledgeIndex:
    """The suggestion index of this process (one instance: `knowledge_index`)."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._build_lock = threading.Lock()
        self._poll_guard = threading.Lock()
        self._polling = False
        self._last_poll = 0.0
        self._active = False

    @property
    def active(self) -> bool:
        """Whether this process uses the index (has loaded it or started to): only then do local
        changes refresh it at once."""
        return self._active

    def current(self) -> Snapshot | None:
        """The loaded snapshot, without looking at the database; None before the first load."""
        return self._snapshot

    def sync(self, *, session: Session, now: datetime, release: bool = False) -> Snapshot:
        """The snapshot matching the database as `session` sees it, catching up first if needed.

        With `release` the session's read transaction is ended before the (CPU-only) rebuild, so that
        the SQLite write gate is not held meanwhile; without it the caller's transaction stays open."""
        self._active = True
        for _ in range(5):
            base = self._snapshot
            key = state.read(session=session)
            if base is not None and base.fresh(key, now):
                if release:
                    session.rollback()
                return base
            plan = _read_plan(session, base, key, now, release)
            with self._build_lock:
                if self._snapshot is not base:
                    continue  # another thread caught up meanwhile: look again
                snapshot = _apply(base, plan)
                self._snapshot = snapshot
                if base is None or snapshot.index is not base.index:
                    # The index is a few hundred thousand long-lived objects: left to the cyclic
                    # collector, every full collection would walk them all, seen as pauses in
                    # requests and pipeline batches (figures: docs/scale.md).
                    runtime.freeze_long_lived()
                return snapshot
        # Other threads kept swapping: theirs is at least as new as what this session can see.
        current = self._snapshot
        assert current is not None
        return current

    def refresh(self, *, now: datetime | None = None) -> Snapshot:
        """Catches up with the database in a session of its own."""
        with session_scope() as session:
            return self.sync(session=session, now=now or clock.now(), release=True)

    def after_change(self) -> None:
        """Called after a KB change has been committed: a process that uses the index shows it at once."""
        if self._active:
            self.refresh()

    def start_loading(self) -> None:
        """Loads the index in a background thread (application start), unless already done or under way."""
        if self._active:
            return
        self._active = True
        with self._poll_guard:  # the load counts as the first poll: pokes meanwhile do not read again
            self._polling = True
            self._last_poll = time.monotonic()
        threading.Thread(target=self._quietly, name="kb-index-load", daemon=True).start()

    def poke(self, now: datetime) -> None:
        """Starts a background catch-up if the last look at the database is a second old or an entry's
        validity window has opened or closed since; returns at once."""
        snapshot = self._snapshot
        expired = snapshot is not None and snapshot.next_change is not None and now >= snapshot.next_change
        if self._polling or (not expired and time.monotonic() - self._last_poll < POLL_SECONDS):
            return
        with self._poll_guard:
            if self._polling:
                return
            self._polling = True
            self._last_poll = time.monotonic()
        threading.Thread(target=self._quietly, name="kb-index-poll", daemon=True).start()

    def _quietly(self) -> None:
        try:
            self.refresh()
        except Exception:  # a background refresh must not die loudly: the next poke tries again
            log.exception("refreshing the KB index failed")
        finally:
            self._polling = False


knowledge_index = KnowledgeIndex()
