"""Ranked, explainable search over Q&A entries: word, character, pinyin and answer channels fused.

Each channel is BM25 over its own terms divided by the query's total idf in that channel, so it
reads as "share of the query this entry explains"; the score is the weighted mean of the channels.
The index compiles lazily from per-entry terms after a change, so incremental edits rank exactly
as a fresh build of the same entries would.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from kb import explain, features
from kb.features import ANSWER, CHANNELS, CHAR, PINYIN, WORD, QuestionTerms
from kb.normalise import normalise

# BM25 saturation and length normalisation, the usual values.
K1 = 1.2
B = 0.75
# The answer text weighs as much as the question wordings; the three views of the wordings
# (words, characters, pinyin) share the question's half equally.
CHANNEL_WEIGHTS = {WORD: 1 / 3, CHAR: 1 / 3, PINYIN: 1 / 3, ANSWER: 1.0}
# Confident = the best entry explains a fair share of the query and passes the ratio test: it
# scores at least twice the runner-up (the rule Lowe's SIFT matching uses for ambiguous matches).
CONFIDENT_SCORE = 0.15
CONFIDENT_RATIO = 2.0
# unit_code multiplies that unit's scores: it settles near-ties but never hides a clear answer
# that another unit owns (routing may be wrong; the Q&A base is shared).
UNIT_BOOST = 1.1
# Terms found in more than 1/DENSE_SHARE of the entries (common characters and syllables) are
# scored only for the CANDIDATES best entries by the other terms.
DENSE_SHARE = 32
CANDIDATES = 64


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

    `matched_field` is "question", "alt" (an alternative wording) or "answer".
    """

    entry_id: int
    score: float
    confident: bool
    matched_terms: list[str] = field(default_factory=list)
    matched_field: str = ""


@dataclass(frozen=True, slots=True)
class _Terms:
    """What the index keeps about one entry, before term ids are assigned."""

    entry_id: int
    unit_code: str | None
    variants: tuple[QuestionTerms, ...]
    answer: str
    counts: tuple[dict[str, int], ...]
    lengths: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class _Doc:
    terms: _Terms
    ids: tuple[array, ...]
    tfs: tuple[array, ...]


_VARIANT_TERMS: tuple[Callable[[QuestionTerms], tuple[str, ...]], ...] = (
    lambda v: v.words,
    lambda v: v.chars,
    lambda v: v.pinyin,
)


def _entry_terms(entry: KBEntry) -> _Terms:
    texts = [normalise(entry.question), *(normalise(a) for a in entry.alt_questions)]
    variants = tuple(features.question_terms(t) for t in dict.fromkeys(t for t in texts if t))
    answer = normalise(entry.answer)
    counts: list[dict[str, int]] = []
    lengths: list[float] = []
    for terms_of in _VARIANT_TERMS:
        # tf = how many wordings carry the term; length = the mean wording, so alternatives add
        # evidence without making the entry look long.
        counter: Counter[str] = Counter()
        total = 0
        for v in variants:
            terms = terms_of(v)
            counter.update(set(terms))
            total += len(terms)
        counts.append(dict(counter))
        lengths.append(total / len(variants) if variants else 0.0)
    answer_terms = features.answer_terms(answer)
    counts.append(dict(Counter(answer_terms)))
    lengths.append(float(len(answer_terms)))
    return _Terms(entry.entry_id, entry.unit_code, variants, answer, tuple(counts), tuple(lengths))


def _new_vocab() -> list[dict[str, int]]:
    """Term → id per channel; question and answer characters share one table (one lookup per query term)."""
    chars: dict[str, int] = {}
    vocab: list[dict[str, int]] = [{} for _ in CHANNELS]
    vocab[CHAR] = vocab[ANSWER] = chars
    return vocab


def _attach(terms: _Terms, vocab: list[dict[str, int]]) -> _Doc:
    """Give the entry's terms ids in the (only growing) vocabularies."""
    ids = []
    tfs = []
    for c in CHANNELS:
        table = vocab[c]
        counts = terms.counts[c]
        new = [t for t in counts if t not in table]
        table.update(zip(new, range(len(table), len(table) + len(new)), strict=True))
        ids.append(array("q", map(table.__getitem__, counts)))
        tfs.append(array("d", counts.values()))
    return _Doc(terms, tuple(ids), tuple(tfs))


def _joined(parts: Iterable[array], dtype: type) -> np.ndarray:
    return np.frombuffer(b"".join(p.tobytes() for p in parts), dtype=dtype)


def _csr(major: np.ndarray, minor: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """(indptr, minor, values) grouped by `major`; a stable sort keeps the given order inside groups."""
    order = np.argsort(major, kind="stable")
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(major, minlength=size), out=indptr[1:])
    return indptr, minor[order], values[order]


def _gather(indptr: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of all members of `groups` in a CSR layout, and each group's size."""
    starts = indptr[groups]
    lens = indptr[groups + 1] - starts
    ends = np.cumsum(lens)
    total = int(ends[-1]) if len(ends) else 0
    return np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lens), lens), lens


class _Compiled:
    """Read-only matrices built from the entries in id order.

    All postings are kept term-major (term rows → entry columns) and walked over all entries for
    the query's rarer terms. Postings of common terms are also kept entry-major and read for the
    best candidates only, so a long query never walks thousands of postings per common character.
    The summation order per entry follows the query or the entry text, never the term ids, so an
    index grown by edits ranks bit for bit like a fresh build.
    """

    def __init__(self, docs: list[_Doc], vocab_sizes: list[int]) -> None:
        n = len(docs)
        self.n = n
        self.docs = docs
        self.ids = np.array([d.terms.entry_id for d in docs], dtype=np.int64)
        self.sizes = list(vocab_sizes)
        self.offsets = [sum(vocab_sizes[:c]) for c in CHANNELS]
        self.sizes_arr = np.array(self.sizes, dtype=np.int64)
        self.offsets_arr = np.array(self.offsets, dtype=np.int64)
        self.channel_index = np.arange(len(CHANNELS))
        self.channel_weight = np.array([CHANNEL_WEIGHTS[c] for c in CHANNELS], dtype=np.float64)
        self.unknown_idf = math.log1p((n + 0.5) / 0.5)
        rows, cols, vals, idfs, dfs = [], [], [], [], []
        for c in CHANNELS:
            counts = np.fromiter((len(d.ids[c]) for d in docs), dtype=np.int64, count=n)
            r = _joined((d.ids[c] for d in docs), np.int64)
            tf = _joined((d.tfs[c] for d in docs), np.float64)
            k = np.repeat(np.arange(n, dtype=np.int64), counts)
            df = np.bincount(r, minlength=vocab_sizes[c])
            idf = np.log1p((n - df + 0.5) / (df + 0.5))
            lengths = np.fromiter((d.terms.lengths[c] for d in docs), dtype=np.float64, count=n)
            avgdl = float(lengths.mean()) if n else 0.0
            norm = K1 * (1.0 - B + B * lengths[k] / (avgdl or 1.0))
            rows.append(r + self.offsets[c])
            cols.append(k)
            vals.append(idf[r] * tf * (K1 + 1.0) / (tf + norm))
            idfs.append(idf)
            dfs.append(df)
        row = np.concatenate(rows)
        col = np.concatenate(cols)
        val = np.concatenate(vals)
        self.idf = np.concatenate(idfs)
        self.common = np.concatenate(dfs) > max(1, n // DENSE_SHARE)
        self.t_indptr, self.t_cols, self.t_vals = _csr(row, col.astype(np.int32), val, len(self.idf))
        # Common terms get compact ids 0..n_common-1 for the entry-major copy.
        self.common_id = np.cumsum(self.common) - 1
        self.n_common = int(self.common.sum())
        in_common = self.common[row]
        self.e_indptr, self.e_terms, self.e_vals = _csr(
            col[in_common], self.common_id[row[in_common]].astype(np.int32), val[in_common], n
        )
        self.units: dict[str, np.ndarray] = {}
        for i, doc in enumerate(docs):
            if doc.terms.unit_code is not None:
                self.units.setdefault(doc.terms.unit_code, np.zeros(n, dtype=bool))[i] = True

    def _walk(self, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        pos, lens = _gather(self.t_indptr, rows)
        contrib = self.t_vals[pos] * np.repeat(weights, lens)
        return np.bincount(self.t_cols[pos], weights=contrib, minlength=self.n)

    def _top(self, score: np.ndarray) -> np.ndarray:
        if self.n <= CANDIDATES:
            return np.arange(self.n)
        hit = np.flatnonzero(score)
        if len(hit) <= CANDIDATES:
            # Entries with no score at all fill up in id order, as the final sort would have it.
            rest = np.flatnonzero(score == 0)[: CANDIDATES - len(hit)]
            return np.concatenate([hit, rest])
        return hit[np.argpartition(-score[hit], CANDIDATES - 1)[:CANDIDATES]]

    def scores(self, channels: list[list[str]], vocab: list[dict[str, int]]) -> tuple[np.ndarray, np.ndarray]:
        """(candidate entry positions, their fused scores) for a query's terms per channel."""
        looked_up: list[int] = []
        counts: list[int] = []
        seen: dict[int, dict[str, int]] = {}
        for c in CHANNELS:
            unique = dict.fromkeys(channels[c])
            table = vocab[c]
            # Channels sharing a vocabulary (question and answer characters) look each term up once.
            ids = seen.get(id(table))
            if ids is None:
                ids = dict(zip(unique, map(table.get, unique, repeat(-1)), strict=True))
                seen[id(table)] = ids
                looked_up.extend(ids.values())
            else:
                looked_up.extend(map(ids.get, unique, repeat(-1)))
            counts.append(len(unique))
        if not looked_up:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        ids = np.array(looked_up, dtype=np.int64)
        chan = np.repeat(self.channel_index, counts)
        # Terms added after this compilation count as unknown, like terms never seen.
        known = (ids >= 0) & (ids < self.sizes_arr[chan])
        rows = np.where(known, ids + self.offsets_arr[chan], 0)
        idf = np.where(known, self.idf[rows], self.unknown_idf)
        ideal = np.bincount(chan, weights=idf, minlength=len(CHANNELS))
        share = self.channel_weight * (np.array(counts) > 0)
        share /= share.sum()
        weights = (share / np.maximum(ideal, 1e-12))[chan][known]
        rows = rows[known]
        if not len(rows):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        common = self.common[rows]
        rare = self._walk(rows[~common], weights[~common])
        if not common.any():
            cand = self._top(rare)
            return cand, rare[cand]
        if self.n > CANDIDATES and np.count_nonzero(rare) < CANDIDATES:
            # Hardly any rare term matched (a short, generic query): score common terms everywhere.
            full = rare + self._walk(rows[common], weights[common])
            cand = self._top(full)
            return cand, full[cand]
        cand = self._top(rare)
        query = np.zeros(self.n_common)
        query[self.common_id[rows[common]]] = weights[common]
        pos, lens = _gather(self.e_indptr, cand)
        contrib = self.e_vals[pos] * query[self.e_terms[pos]]
        owner = np.repeat(np.arange(len(cand)), lens)
        return cand, rare[cand] + np.bincount(owner, weights=contrib, minlength=len(cand))


class KBIndex:
    """Search over Q&A entries; searches may run concurrently with each other and with edits."""

    def __init__(self) -> None:
        self._docs: dict[int, _Doc] = {}
        self._vocab = _new_vocab()
        self._compiled: _Compiled | None = None
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
        terms = _entry_terms(KBEntry(entry_id, question, answer, tuple(alt_questions), unit_code))
        with self._lock:
            self._docs[entry_id] = _attach(terms, self._vocab)
            self._compiled = None

    def remove(self, entry_id: int) -> None:
        """Forget an entry; an unknown id is ignored."""
        with self._lock:
            if self._docs.pop(entry_id, None) is not None:
                self._compiled = None

    def build(self, entries: Iterable[KBEntry]) -> None:
        """Replace the whole content with `entries` (the last of a repeated id wins) and compile."""
        vocab = _new_vocab()
        docs: dict[int, _Doc] = {}
        for entry in entries:
            docs[entry.entry_id] = _attach(_entry_terms(entry), vocab)
        compiled = _Compiled([docs[k] for k in sorted(docs)], [len(v) for v in vocab])
        with self._lock:
            self._docs, self._vocab, self._compiled = docs, vocab, compiled

    def compile(self) -> None:
        """Compile pending edits now instead of in the next search."""
        self._ready()

    def _ready(self) -> tuple[_Compiled, list[dict[str, int]]]:
        with self._lock:
            if self._compiled is None:
                docs = [self._docs[k] for k in sorted(self._docs)]
                self._compiled = _Compiled(docs, [len(v) for v in self._vocab])
            return self._compiled, self._vocab

    def search(
        self, text: str, *, unit_code: str | None = None, limit: int = 5, only_unit: bool = False
    ) -> list[Suggestion]:
        """Best entries for `text`, best first.

        `unit_code` multiplies that unit's scores by UNIT_BOOST; with `only_unit` the other
        units' entries are left out instead. Only the first suggestion can be `confident`.
        """
        compiled, vocab = self._ready()
        norm = normalise(text)
        if not norm or compiled.n == 0 or limit <= 0:
            return []
        query = features.query_terms(norm)
        cand, score = compiled.scores(query.channels, vocab)
        if unit_code is not None and len(cand):
            mask = compiled.units.get(unit_code)
            mine = mask[cand] if mask is not None else np.zeros(len(cand), dtype=bool)
            score = np.where(mine, score * UNIT_BOOST, 0.0 if only_unit else score)
        order = np.lexsort((compiled.ids[cand], -score))[: max(limit, 2)]
        ranked = [(int(cand[i]), float(score[i])) for i in order if score[i] > 0]
        if not ranked:
            return []
        best = ranked[0][1]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confident = best >= CONFIDENT_SCORE and best >= CONFIDENT_RATIO * second
        out: list[Suggestion] = []
        for i, (pos, s) in enumerate(ranked[:limit]):
            doc = compiled.docs[pos].terms
            matched, where = explain.evidence(query, doc.variants, doc.answer)
            out.append(
                Suggestion(
                    entry_id=doc.entry_id,
                    score=round(min(1.0, s), 4),
                    confident=confident and i == 0,
                    matched_terms=matched,
                    matched_field=where,
                )
            )
        return out


__all__ = ["KBEntry", "KBIndex", "Suggestion"]
