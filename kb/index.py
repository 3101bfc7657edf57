"""In-memory ranked index over Q&A entries: word, character, pinyin and answer channels fused.

Rebuilt lazily from per-entry terms after a change, so incremental edits rank exactly like a fresh build.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kb import explain, features
from kb.features import ANSWER, CHANNELS, CHAR, PINYIN, WORD, QuestionTerms
from kb.normalise import normalise

# BM25 saturation and length normalisation, the usual values.
K1 = 1.2
B = 0.75
# Channel weights of the query-coverage part: what share of the query's evidence the entry explains.
QUERY_WEIGHTS = {WORD: 0.40, CHAR: 0.30, PINYIN: 0.15, ANSWER: 0.15}
# Channel weights of the entry-coverage part: what share of the entry's question the query names.
ENTRY_WEIGHTS = {WORD: 0.40, CHAR: 0.40, PINYIN: 0.20}
# Share of the entry-coverage part in the final score.
ENTRY_SHARE = 0.5
CONFIDENT_SCORE = 0.45
CONFIDENT_MARGIN = 0.10
UNIT_BOOST = 0.05
_CANDIDATES = 20


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
    """A ranked entry for a query, with the evidence that put it there."""

    entry_id: int
    score: float
    confident: bool
    matched_terms: list[str] = field(default_factory=list)
    matched_field: str = ""


@dataclass(frozen=True, slots=True)
class _Doc:
    entry_id: int
    unit_code: str | None
    variants: tuple[QuestionTerms, ...]
    answer: str
    counts: tuple[dict[str, int], ...]
    lengths: tuple[float, ...]


def _make_doc(entry_id: int, question: str, answer: str, alts: Sequence[str], unit_code: str | None) -> _Doc:
    texts = [normalise(question), *(normalise(a) for a in alts)]
    variants = tuple(features.question_terms(t) for t in dict.fromkeys(t for t in texts if t))
    answer_norm = normalise(answer)
    counts: list[dict[str, int]] = []
    lengths: list[float] = []
    for getter in (
        lambda v: v.words,
        lambda v: v.chars,
        lambda v: v.pinyin,
    ):
        # tf = how many wordings carry the term; length = the mean wording, so alternatives add
        # evidence without making the entry look long.
        counter: Counter[str] = Counter()
        total = 0
        for v in variants:
            terms = getter(v)
            counter.update(set(terms))
            total += len(terms)
        counts.append(dict(counter))
        lengths.append(total / len(variants) if variants else 0.0)
    answer_terms = features.answer_terms(answer_norm)
    counts.append(dict(Counter(answer_terms)))
    lengths.append(float(len(answer_terms)))
    return _Doc(entry_id, unit_code, variants, answer_norm, tuple(counts), tuple(lengths))


class _Compiled:
    """Immutable sparse matrices (term rows × entry columns) built from the documents."""

    def __init__(self, docs: list[_Doc]) -> None:
        n = len(docs)
        self.n = n
        self.docs = docs
        self.ids = np.array([d.entry_id for d in docs], dtype=np.int64)
        self.units = [d.unit_code for d in docs]
        self.vocab: list[dict[str, int]] = []
        self.unknown_idf: list[float] = []
        rows_all: list[np.ndarray] = []
        cols_all: list[np.ndarray] = []
        bm25_all: list[np.ndarray] = []
        share_all: list[np.ndarray] = []
        idf_all: list[np.ndarray] = []
        offset = 0
        for c in CHANNELS:
            vocab: dict[str, int] = {}
            rows: list[int] = []
            cols: list[int] = []
            tfs: list[int] = []
            for col, doc in enumerate(docs):
                counts = doc.counts[c]
                rows.extend(vocab.setdefault(t, len(vocab)) for t in counts)
                tfs.extend(counts.values())
                cols.extend([col] * len(counts))
            r = np.array(rows, dtype=np.int64)
            k = np.array(cols, dtype=np.int64)
            tf = np.array(tfs, dtype=np.float64)
            df = np.bincount(r, minlength=len(vocab)).astype(np.float64)
            idf = np.log1p((n - df + 0.5) / (df + 0.5))
            lengths = np.array([d.lengths[c] for d in docs], dtype=np.float64)
            avgdl = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
            norm = K1 * (1.0 - B + B * lengths[k] / avgdl)
            bm25 = idf[r] * tf * (K1 + 1.0) / (tf + norm)
            mass = np.bincount(k, weights=idf[r], minlength=n)
            share = idf[r] / np.maximum(mass[k], 1e-9)
            self.vocab.append({t: i + offset for t, i in vocab.items()})
            self.unknown_idf.append(math.log1p((n + 0.5) / 0.5))
            rows_all.append(r + offset)
            cols_all.append(k)
            bm25_all.append(bm25)
            share_all.append(share)
            idf_all.append(idf)
            offset += len(vocab)
        rows_cat = np.concatenate(rows_all) if rows_all else np.zeros(0, dtype=np.int64)
        order = np.argsort(rows_cat, kind="stable")
        self.cols = np.concatenate(cols_all)[order].astype(np.int32)
        self.bm25 = np.concatenate(bm25_all)[order]
        self.share = np.concatenate(share_all)[order]
        self.idf = np.concatenate(idf_all)
        counts_per_row = np.bincount(rows_cat, minlength=offset)
        self.indptr = np.concatenate([[0], np.cumsum(counts_per_row)]).astype(np.int64)
        self.unit_masks: dict[str, np.ndarray] = {}
        for col, unit in enumerate(self.units):
            if unit is not None:
                self.unit_masks.setdefault(unit, np.zeros(n, dtype=bool))[col] = True

    def channel_scores(self, terms: dict[int, list[str]]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per channel: (query coverage, entry coverage) for every entry."""
        out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for c in CHANNELS:
            unique = list(dict.fromkeys(terms[c]))
            if not unique:
                continue
            vocab = self.vocab[c]
            rows = [vocab[t] for t in unique if t in vocab]
            unknown = len(unique) - len(rows)
            if rows:
                r = np.array(rows, dtype=np.int64)
                ideal = float(self.idf[r].sum()) + unknown * self.unknown_idf[c]
                starts = self.indptr[r]
                lens = self.indptr[r + 1] - starts
                total = int(lens.sum())
                base = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
                pos = np.arange(total, dtype=np.int64) + base
                cols = self.cols[pos]
                qc = np.bincount(cols, weights=self.bm25[pos], minlength=self.n) / ideal
                dc = np.bincount(cols, weights=self.share[pos], minlength=self.n)
            else:
                qc = np.zeros(self.n)
                dc = np.zeros(self.n)
            out[c] = (qc, dc)
        return out


class KBIndex:
    """Ranked, explainable search over Q&A entries; thread-safe for concurrent searches."""

    def __init__(self) -> None:
        self._docs: dict[int, _Doc] = {}
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
        """Add an entry or replace the entry with the same id."""
        doc = _make_doc(entry_id, question, answer, list(alt_questions), unit_code)
        with self._lock:
            self._docs[entry_id] = doc
            self._compiled = None

    def remove(self, entry_id: int) -> None:
        """Forget an entry; unknown ids are ignored."""
        with self._lock:
            if self._docs.pop(entry_id, None) is not None:
                self._compiled = None

    def build(self, entries: Iterable[KBEntry]) -> None:
        """Replace the whole content with `entries` and compile at once."""
        docs = {
            e.entry_id: _make_doc(e.entry_id, e.question, e.answer, list(e.alt_questions), e.unit_code)
            for e in entries
        }
        compiled = _Compiled([docs[k] for k in sorted(docs)])
        with self._lock:
            self._docs = docs
            self._compiled = compiled

    def _ready(self) -> _Compiled:
        compiled = self._compiled
        if compiled is not None:
            return compiled
        with self._lock:
            if self._compiled is None:
                self._compiled = _Compiled([self._docs[k] for k in sorted(self._docs)])
            return self._compiled

    def search(self, text: str, *, unit_code: str | None = None, limit: int = 5) -> list[Suggestion]:
        """Best entries for `text`, best first; `unit_code` lifts that unit's entries a little."""
        compiled = self._ready()
        norm = normalise(text)
        if not norm or compiled.n == 0 or limit <= 0:
            return []
        terms = features.query_terms(norm)
        per_channel = compiled.channel_scores(terms)
        score = fuse(per_channel, compiled.n)
        if unit_code is not None and unit_code in compiled.unit_masks:
            score = score + UNIT_BOOST * compiled.unit_masks[unit_code]
        k = min(max(limit, 2), compiled.n)
        top = np.argpartition(-score, k - 1)[:k] if k < compiled.n else np.arange(compiled.n)
        ranked = sorted(top.tolist(), key=lambda col: (-score[col], compiled.ids[col]))
        ranked = [col for col in ranked if score[col] > 0]
        if not ranked:
            return []
        best = float(score[ranked[0]])
        second = float(score[ranked[1]]) if len(ranked) > 1 else 0.0
        out: list[Suggestion] = []
        for i, col in enumerate(ranked[:limit]):
            s = min(1.0, float(score[col]))
            confident = i == 0 and best >= CONFIDENT_SCORE and best - second >= CONFIDENT_MARGIN
            doc = compiled.docs[col]
            matched, where = explain.evidence(norm, terms, doc.variants, doc.answer)
            out.append(Suggestion(int(compiled.ids[col]), round(s, 4), confident, matched, where))
        return out


def fuse(per_channel: dict[int, tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """Final score per entry from the channel coverages."""
    qpart = np.zeros(n)
    qw = 0.0
    epart = np.zeros(n)
    ew = 0.0
    for c, (qc, dc) in per_channel.items():
        w = QUERY_WEIGHTS.get(c, 0.0)
        if w:
            qpart += w * qc
            qw += w
        v = ENTRY_WEIGHTS.get(c, 0.0)
        if v:
            epart += v * dc
            ew += v
    if qw:
        qpart /= qw
    if ew:
        epart /= ew
    return (1.0 - ENTRY_SHARE) * qpart + ENTRY_SHARE * epart
