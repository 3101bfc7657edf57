"""Ranked, explainable search over Q&A entries: word, character, pinyin and answer channels fused.

Scoring lives in `kb.scoring`. The index compiles lazily from per-entry terms after a change, so
incremental edits rank exactly as a fresh build of the same entries would. `search_many` serves
a batch of messages (the pipeline's) with the n-gram arithmetic done once for the whole batch,
and can keep each query's candidate pool, from which `rerank` gives the search for a unit
preference without searching again. Explanations cost about as much as the ranking: `explain=`
limits them, `explain()` defers them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from kb import features, scoring
from kb.explain import Explainer
from kb.normalise import normalise
from kb.scoring import Compiled, Doc, make_doc

UNIT_BOOST = scoring.UNIT_BOOST


@dataclass(frozen=True, slots=True)
class Margin:
    """How clearly the best entry beats the runner-up for one query: their fused scores, and the
    share of the query's words (by idf) each entry's wordings carry."""

    best: float
    second: float
    best_words: float
    second_words: float


@dataclass(frozen=True, slots=True)
class ConfidenceRule:
    """When the first suggestion is `confident`: it explains a fair share of the query (`score`) and
    either passes the ratio test against the runner-up (`ratio`, as Lowe's SIFT matching treats
    ambiguous matches) or carries nearly all of the query's words (`words`) while the runner-up
    carries clearly fewer (`word_gap`): "身份证过期了怎么补办" against 临时身份证, whose answer talks
    about every kind of 身份证.

    The values are calibrated on the development set by `python -m scripts.calibrate_kb` so that at
    most 5% of questions the base cannot answer look confident, in the development base and in the
    same base grown by 2,000 off-topic entries (docs/knowledge.md).
    """

    score: float = 0.35
    ratio: float = 1.5
    words: float = 0.8
    word_gap: float = 0.3

    def confident(self, margin: Margin) -> bool:
        if not self.weighs_words(margin.best, margin.second):
            return margin.best >= self.score
        return margin.best_words >= self.words and margin.best_words - margin.second_words >= self.word_gap

    def weighs_words(self, best: float, second: float) -> bool:
        """Whether the word test decides (else the scores alone do, and the word shares are not needed)."""
        return self.score <= best < self.ratio * second


CONFIDENCE = ConfidenceRule()


@dataclass(frozen=True, slots=True)
class KBEntry:
    """One Q&A entry as the index sees it."""

    entry_id: int
    question: str
    answer: str
    alt_questions: Sequence[str] = ()
    unit_code: str | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A ranked entry for a query, with the evidence that put it there.

    `matched_field` is "question", "alt" (an alternative wording) or "answer"; both evidence
    fields are empty when the search was asked not to explain.
    """

    entry_id: int
    score: float
    confident: bool
    matched_terms: list[str] = field(default_factory=list)
    matched_field: str = ""


@dataclass(frozen=True, slots=True)
class Pool:
    """The candidates one search ranked, with their scores before any unit preference, and the query's
    terms: all `KBIndex.rerank` needs. It holds the matrices it was ranked on, so edits made since do
    not mix in."""

    compiled: Compiled
    query: features.QueryTerms
    positions: np.ndarray
    scores: np.ndarray


# Evidence already worked out for a query: entry id → (matched_terms, matched_field).
Known = Mapping[int, tuple[Sequence[str], str]]


def _doc(entry: KBEntry) -> Doc:
    return make_doc(
        entry_id=entry.entry_id,
        question=entry.question,
        answer=entry.answer,
        alt_questions=entry.alt_questions,
        unit_code=entry.unit_code,
    )


def _ranked(
    compiled: Compiled,
    query: features.QueryTerms,
    cand: np.ndarray,
    score: np.ndarray,
    limit: int,
    rule: ConfidenceRule | None = None,
) -> list[tuple[int, float, bool]]:
    """(entry position, score, confident) of the best `limit` candidates of one query, best first."""
    rule = rule or CONFIDENCE
    ranked, margin = _margin(compiled, query, cand, score, max(limit, 2), rule)
    if margin is None:
        return []
    confident = rule.confident(margin)
    return [(pos, s, confident and i == 0) for i, (pos, s) in enumerate(ranked[:limit])]


def _margin(
    compiled: Compiled,
    query: features.QueryTerms,
    cand: np.ndarray,
    score: np.ndarray,
    depth: int,
    rule: ConfidenceRule | None = None,
) -> tuple[list[tuple[int, float]], Margin | None]:
    """The best `depth` (entry position, score) of one query and their `Margin` (None without a hit).

    With a `rule`, the word shares are worked out only when that rule weighs them (0.0 otherwise)."""
    order = np.lexsort((compiled.ids[cand], -score))[:depth]
    ranked = [(pos, s) for pos, s in zip(cand[order].tolist(), score[order].tolist(), strict=True) if s > 0]
    if not ranked:
        return ranked, None
    (first, best), (runner_up, second) = ranked[0], ranked[1] if len(ranked) > 1 else (-1, 0.0)
    if rule is not None and not rule.weighs_words(best, second):
        return ranked, Margin(best, second, 0.0, 0.0)
    words = query.word_terms
    shares = [compiled.word_share(words, pos) if pos >= 0 else 0.0 for pos in (first, runner_up)]
    return ranked, Margin(best, second, *shares)


def _suggestions(
    compiled: Compiled,
    query: features.QueryTerms,
    ranked: list[tuple[int, float, bool]],
    explained: int,
    known: Known | None = None,
) -> list[Suggestion]:
    """Suggestions of one query, the first `explained` ones with their evidence (taken from `known`
    where it has the entry)."""
    explainer: Explainer | None = None
    docs = compiled.docs
    out: list[Suggestion] = []
    for i, (pos, s, confident) in enumerate(ranked):
        doc = docs[pos]
        matched: list[str] = []
        where = ""
        if i < explained:
            if known and doc.entry_id in known:
                terms, where = known[doc.entry_id]
                matched = list(terms)
            else:
                explainer = explainer or Explainer(query)
                matched, where = explainer.evidence(doc.variants, doc.answer)
        # Fields in order (entry_id, score, confident, matched_terms, matched_field): one is built per
        # hit, and CPython matches keyword arguments to parameters on every call; positions it does not.
        out.append(Suggestion(doc.entry_id, round(min(1.0, s), 4), confident, matched, where))
    return out


class KBIndex:
    """Search over Q&A entries; searches may run concurrently with each other and with edits."""

    def __init__(self) -> None:
        self._docs: dict[int, Doc] = {}
        self._compiled: Compiled | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._docs)

    def upsert(
        self,
        *,
        entry_id: int,
        question: str,
        answer: str,
        alt_questions: Sequence[str] = (),
        unit_code: str | None = None,
    ) -> None:
        """Add an entry or replace the entry with the same id; the next search recompiles."""
        doc = _doc(KBEntry(entry_id, question, answer, tuple(alt_questions), unit_code))
        with self._lock:
            self._docs[entry_id] = doc
            self._compiled = None

    def remove(self, entry_id: int) -> None:
        """Forget an entry; an unknown id is ignored."""
        with self._lock:
            if self._docs.pop(entry_id, None) is not None:
                self._compiled = None

    def build(self, entries: Iterable[KBEntry]) -> None:
        """Replace the whole content with `entries` (the last of a repeated id wins) and compile."""
        docs = {entry.entry_id: _doc(entry) for entry in entries}
        compiled = Compiled([docs[k] for k in sorted(docs)])
        with self._lock:
            self._docs, self._compiled = docs, compiled

    def compile(self) -> None:
        """Compile pending edits now instead of in the next search."""
        self._ready()

    def copy(self) -> KBIndex:
        """An independent index with the same entries, sharing the compiled matrices until edited.

        Editing and compiling the copy while searches keep running on the original (then swapping
        the two) keeps recompilation off the search path."""
        other = KBIndex()
        with self._lock:
            other._docs = dict(self._docs)
            other._compiled = self._compiled
        return other

    def _ready(self) -> Compiled:
        with self._lock:
            if self._compiled is None:
                self._compiled = Compiled([self._docs[k] for k in sorted(self._docs)])
            return self._compiled

    def search(
        self,
        text: str,
        *,
        unit_code: str | None = None,
        limit: int = 5,
        only_unit: bool = False,
        explain: bool | int = True,
        normalised: bool = False,
    ) -> list[Suggestion]:
        """Best entries for `text`, best first.

        `unit_code` multiplies that unit's scores by UNIT_BOOST; with `only_unit` the other
        units' entries are left out instead. Only the first suggestion can be `confident`.
        `explain` fills `matched_terms` and `matched_field` of every suggestion (True), of none
        (False) or of the first `explain` ones: explanations cost more than the ranking itself.
        `normalised=True` says `text` already is `kb.normalise.normalise` output (the pipeline's).
        """
        return self.search_many(
            [text],
            unit_codes=[unit_code],
            limit=limit,
            only_unit=only_unit,
            explain=explain,
            normalised=normalised,
        )[0]

    def search_many(
        self,
        texts: Sequence[str],
        *,
        unit_codes: Sequence[str | None] | None = None,
        limit: int = 5,
        only_unit: bool = False,
        explain: bool | int = True,
        normalised: bool = False,
        pools: list[Pool | None] | None = None,
    ) -> list[list[Suggestion]]:
        """`search` of each text (with the unit code at the same place in `unit_codes`), in order.

        Gives exactly what one `search` per text gives, in a fraction of the time per text: the
        terms of all texts are made and looked up together, and their rare terms walked together.
        `pools`, a list, receives each text's `Pool` (None for a text with nothing to search or
        searched with a unit preference).
        """
        if unit_codes is not None and len(unit_codes) != len(texts):
            raise ValueError("unit_codes must have one entry per text")
        compiled = self._ready()
        out: list[list[Suggestion]] = [[] for _ in texts]
        if pools is not None:
            pools_at = len(pools)
            pools.extend([None] * len(texts))
        if compiled.n == 0 or limit <= 0:
            return out
        norms = list(texts) if normalised else [normalise(t) for t in texts]
        norms = [compiled.spell_out(norm) for norm in norms]
        live = [i for i, norm in enumerate(norms) if norm]
        batch = features.query_batch([norms[i] for i in live])
        factors = [compiled.factor(unit_codes[i] if unit_codes else None, only_unit) for i in live]
        # Rank every query first, then explain: each stage runs over the whole batch in turn.
        scored = compiled.scores(batch, factors)
        ranked = [
            _ranked(compiled, query, cand, score, limit)
            for query, (cand, score) in zip(batch.queries, scored, strict=True)
        ]
        explained = limit if explain is True else int(explain)
        for i, query, hits in zip(live, batch.queries, ranked, strict=True):
            out[i] = _suggestions(compiled, query, hits, explained)
        if pools is not None:
            for i, query, factor, (cand, score) in zip(live, batch.queries, factors, scored, strict=True):
                if factor is None:
                    pools[pools_at + i] = Pool(compiled, query, cand, score)
        return out

    @staticmethod
    def rerank(
        pool: Pool,
        *,
        unit_code: str | None,
        limit: int = 5,
        explain: bool | int = True,
        known: Known | None = None,
    ) -> list[Suggestion]:
        """What `search` gives for the pool's query with `unit_code`, ranked from the pool alone: its
        scores multiplied for the unit as the engine does it. A search boosts before it picks its
        CANDIDATES, so an entry of the unit just outside the pool is the only one it could add.
        `known`: evidence the first search already gave, reused instead of explained again."""
        compiled = pool.compiled
        factor = compiled.factor(unit_code, False)
        scores = pool.scores if factor is None else pool.scores * factor.take(pool.positions)
        ranked = _ranked(compiled, pool.query, pool.positions, scores, limit)
        explained = limit if explain is True else int(explain)
        return _suggestions(compiled, pool.query, ranked, explained, known)

    def margin(self, text: str) -> Margin | None:
        """The `Margin` of `text`'s best entry over the runner-up (None when nothing matches): what the
        `ConfidenceRule` judges, for calibrating it (`scripts/calibrate_kb.py`)."""
        compiled = self._ready()
        norm = compiled.spell_out(normalise(text))
        if compiled.n == 0 or not norm:
            return None
        batch = features.query_batch([norm])
        ((cand, score),) = compiled.scores(batch, [None])
        return _margin(compiled, batch.queries[0], cand, score, 2)[1]

    def explain(
        self, text: str, entry_ids: Sequence[int], *, normalised: bool = False
    ) -> list[tuple[list[str], str]]:
        """(matched_terms, matched_field) of `text` for each entry, as `search` gives them; an
        unknown entry gets ([], ""). For explaining later only the suggestions that are shown."""
        norm = self._ready().spell_out(text if normalised else normalise(text))
        explainer = Explainer(features.query_terms(norm))
        docs = [self._docs.get(entry_id) for entry_id in entry_ids]
        return [explainer.evidence(doc.variants, doc.answer) if doc else ([], "") for doc in docs]


__all__ = ["CONFIDENCE", "ConfidenceRule", "KBEntry", "KBIndex", "Margin", "Pool", "Suggestion"]
