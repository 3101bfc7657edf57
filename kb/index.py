"""Ranked, explainable search over Q&A entries: word, character, pinyin and answer channels fused.

Each channel is BM25 over its own terms divided by the query's total idf in that channel, so it
reads as "share of the query this entry explains"; the score is the weighted mean of the channels.
The index compiles lazily from per-entry terms after a change, so incremental edits rank exactly
as a fresh build of the same entries would.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np

from kb import explain, features
from kb.features import ANSWER, CHANNELS, CHAR, PINYIN, WORD, QueryTerms, QuestionTerms
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
class _Doc:
    """What the index keeps about one entry; n-grams are computed for all entries at compile time."""

    entry_id: int
    unit_code: str | None
    variants: tuple[QuestionTerms, ...]  # the question, then distinct alternative wordings
    answer: str
    words: dict[str, int]  # word → how many wordings carry it
    word_length: float  # words in the mean wording


def _make_doc(entry: KBEntry) -> _Doc:
    texts = [normalise(entry.question), *(normalise(a) for a in entry.alt_questions)]
    variants = tuple(features.question_terms(t) for t in dict.fromkeys(t for t in texts if t))
    words: Counter[str] = Counter()
    for v in variants:
        words.update(set(v.words))
    length = sum(len(v.words) for v in variants) / max(1, len(variants))
    return _Doc(entry.entry_id, entry.unit_code, variants, normalise(entry.answer), dict(words), length)


@dataclass(frozen=True, slots=True)
class _Postings:
    """One channel's postings in term-major order (term, then entry), with BM25 inputs."""

    vocab_size: int
    term: np.ndarray
    doc: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray  # per entry


def _runs(*columns: np.ndarray) -> np.ndarray:
    """Start flags of runs of equal rows in sorted columns."""
    first = np.ones(len(columns[0]), dtype=bool)
    for column in columns:
        first[1:] &= column[1:] == column[:-1]
    return ~first | (np.arange(len(first)) == 0)


def _key_postings(
    found: np.ndarray, owner: np.ndarray, owner_doc: np.ndarray, n: int, per_owner: bool
) -> tuple[np.ndarray, _Postings]:
    """Vocabulary (sorted keys) and postings of one n-gram channel.

    `owner` is the text each key came from and `owner_doc` the entry of each text (ascending).
    With `per_owner`, tf counts texts (wordings) carrying the key rather than occurrences.
    One stable sort by key does it all: texts, and so entries, stay ascending inside a key.
    """
    order = np.argsort(found, kind="stable")
    keys = found[order]
    owners = owner[order]
    new_key = _runs(keys)
    term = np.cumsum(new_key) - 1
    vocab = keys[new_key]
    if per_owner:
        keep = _runs(term, owners)
        term, owners = term[keep], owners[keep]
    docs = owner_doc[owners]
    starts = np.flatnonzero(_runs(term, docs))
    tf = np.diff(np.append(starts, len(term))).astype(np.float64)
    per_owner_len = np.bincount(owner, minlength=len(owner_doc)).astype(np.float64)
    total = np.bincount(owner_doc, weights=per_owner_len, minlength=n)
    texts = np.bincount(owner_doc, minlength=n)
    postings = _Postings(len(vocab), term[starts], docs[starts], tf, total / np.maximum(texts, 1))
    return vocab, postings


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

    Vocabularies are sorted (words by text, n-grams by key), so the matrices depend only on the
    entries, never on the order of edits: an index grown by upserts and removals ranks bit for
    bit like a fresh build. All postings are kept term-major (term rows → entry columns) and
    walked over all entries for the query's rarer terms. Postings of common terms are also kept
    entry-major and read for the best candidates only, so a long query never walks thousands of
    postings per common character.
    """

    def __init__(self, docs: list[_Doc]) -> None:
        n = len(docs)
        self.n = n
        self.docs = docs
        self.ids = np.array([d.entry_id for d in docs], dtype=np.int64)
        self.unknown_idf = math.log1p((n + 0.5) / 0.5)
        variants = [v for d in docs for v in d.variants]
        variant_doc = np.repeat(np.arange(n), [len(d.variants) for d in docs]).astype(np.int64)
        bodies = [v.body for v in variants]

        self.words = {w: i for i, w in enumerate(sorted({w for d in docs for w in d.words}))}
        word_term = np.array(list(map(self.words.__getitem__, chain.from_iterable(d.words for d in docs))))
        word_term = word_term.astype(np.int64)
        word_doc = np.repeat(np.arange(n), [len(d.words) for d in docs]).astype(np.int64)
        word_tf = np.array(list(chain.from_iterable(d.words.values() for d in docs)), dtype=np.float64)
        order = np.lexsort((word_doc, word_term))
        word_lengths = np.array([d.word_length for d in docs], dtype=np.float64)
        channels = [
            _Postings(len(self.words), word_term[order], word_doc[order], word_tf[order], word_lengths)
        ]

        found, owner = features.batch_char_keys(bodies, features.CHAR_SIZES)
        char_vocab, postings = _key_postings(found, owner, variant_doc, n, per_owner=True)
        channels.append(postings)
        found, owner = features.batch_syllable_keys([v.body_codes for v in variants])
        # Initials terms ("sfz") join the syllable channel, owned by their wording.
        initials = [(key, i) for i, v in enumerate(variants) for key in v.initials]
        found = np.concatenate([found, np.array([k for k, _ in initials], dtype=np.int64)])
        owner = np.concatenate([owner, np.array([i for _, i in initials], dtype=np.int64)])
        syllable_vocab, postings = _key_postings(found, owner, variant_doc, n, per_owner=True)
        channels.append(postings)
        found, owner = features.batch_char_keys([d.answer for d in docs], features.ANSWER_SIZES)
        answer_vocab, postings = _key_postings(found, owner, np.arange(n, dtype=np.int64), n, per_owner=False)
        channels.append(postings)
        self.keys = [char_vocab, syllable_vocab, answer_vocab]

        self.sizes = [p.vocab_size for p in channels]
        self.offsets = [sum(self.sizes[:c]) for c in CHANNELS]
        rows, cols, vals, idfs, dfs = [], [], [], [], []
        for c, p in zip(CHANNELS, channels, strict=True):
            df = np.bincount(p.term, minlength=p.vocab_size)
            idf = np.log1p((n - df + 0.5) / (df + 0.5))
            avgdl = float(p.lengths.mean()) if n else 0.0
            norm = K1 * (1.0 - B + B * p.lengths[p.doc] / (avgdl or 1.0))
            rows.append(p.term + self.offsets[c])
            cols.append(p.doc)
            vals.append(idf[p.term] * p.tf * (K1 + 1.0) / (p.tf + norm))
            idfs.append(idf)
            dfs.append(df)
        # Every channel is sorted by (term, entry) and channels follow each other: term-major already.
        row = np.concatenate(rows)
        col = np.concatenate(cols)
        val = np.concatenate(vals)
        self.idf = np.concatenate(idfs)
        self.t_indptr = np.zeros(len(self.idf) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=len(self.idf)), out=self.t_indptr[1:])
        self.t_cols = col.astype(np.int32)
        self.t_vals = val
        self.common = np.concatenate(dfs) > max(1, n // DENSE_SHARE)
        # Common terms get compact ids 0..n_common-1 for the entry-major copy.
        self.common_id = np.cumsum(self.common) - 1
        self.n_common = int(self.common.sum())
        in_common = self.common[row]
        self.e_indptr, self.e_terms, self.e_vals = _csr(
            col[in_common], self.common_id[row[in_common]].astype(np.int32), val[in_common], n
        )
        self.channel_weight = np.array([CHANNEL_WEIGHTS[c] for c in CHANNELS], dtype=np.float64)
        self.units: dict[str, np.ndarray] = {}
        for i, doc in enumerate(docs):
            if doc.unit_code is not None:
                self.units.setdefault(doc.unit_code, np.zeros(n, dtype=bool))[i] = True

    def _walk(self, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        pos, lens = _gather(self.t_indptr, rows)
        contrib = self.t_vals[pos] * np.repeat(weights, lens)
        return np.bincount(self.t_cols[pos], weights=contrib, minlength=self.n)

    def _top(self, score: np.ndarray) -> np.ndarray:
        """Positions of the CANDIDATES best scores (entries scoring nothing fill up in id order)."""
        if self.n <= CANDIDATES:
            return np.arange(self.n)
        best = float(score.max())
        # Scores are skewed: the best few are far above the rest. Selecting among the entries
        # above a share of the best is exact as soon as there are enough of them, and cheaper
        # than partitioning every entry.
        for share in (0.5, 0.2, 0.05):
            hit = np.flatnonzero(score > best * share)
            if len(hit) >= CANDIDATES:
                return hit[np.argpartition(-score[hit], CANDIDATES - 1)[:CANDIDATES]]
        hit = np.flatnonzero(score)
        if len(hit) <= CANDIDATES:
            rest = np.flatnonzero(score == 0)[: CANDIDATES - len(hit)]
            return np.concatenate([hit, rest])
        return hit[np.argpartition(-score[hit], CANDIDATES - 1)[:CANDIDATES]]

    def _rows(self, query: QueryTerms) -> tuple[list[np.ndarray], np.ndarray]:
        """Rows of the known query terms per channel, and how many terms each channel did not know."""
        word_ids = np.fromiter(
            map(self.words.get, query.word_terms, repeat(-1)), dtype=np.int64, count=len(query.word_terms)
        )
        found = [word_ids[word_ids >= 0]]
        missing = [int((word_ids < 0).sum())]
        for i, qkeys in enumerate((query.chars, query.pinyin, query.answer)):
            vocab = self.keys[i]
            at = np.minimum(np.searchsorted(vocab, qkeys), max(len(vocab) - 1, 0))
            hit = vocab[at] == qkeys if len(vocab) else np.zeros(len(qkeys), dtype=bool)
            found.append(at[hit])
            missing.append(len(qkeys) - int(hit.sum()))
        rows = [f + self.offsets[c] for c, f in zip(CHANNELS, found, strict=True)]
        return rows, np.array(missing)

    def factor(self, unit_code: str | None, only_unit: bool) -> np.ndarray | None:
        """Per-entry score multiplier for a unit preference, or None for none."""
        if unit_code is None:
            return None
        mine = self.units.get(unit_code, np.zeros(self.n, dtype=bool))
        return np.where(mine, UNIT_BOOST, 0.0 if only_unit else 1.0)

    def scores(self, query: QueryTerms, factor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(candidate entry positions, their fused scores) for a query, scaled by `factor`."""
        per_channel, missing = self._rows(query)
        sizes = np.array([len(r) for r in per_channel])
        present = (sizes + missing) > 0
        if not sizes.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        rows = np.concatenate(per_channel)
        chan = np.repeat(np.arange(len(CHANNELS)), sizes)
        # A channel's ideal: the idf of all its query terms, unknown ones at the highest idf.
        ideal: np.ndarray = np.bincount(chan, weights=self.idf[rows], minlength=len(CHANNELS))
        ideal = ideal + missing * self.unknown_idf
        share = self.channel_weight * present
        share /= share.sum()
        weights = (share / np.maximum(ideal, 1e-12))[chan]
        common = self.common[rows]
        rare = self._walk(rows[~common], weights[~common])
        if factor is not None:
            rare = rare * factor
        if not common.any():
            cand = self._top(rare)
            return cand, rare[cand]
        if self.n > CANDIDATES and np.count_nonzero(rare) < CANDIDATES:
            # Hardly any rare term matched (a short, generic query): score common terms everywhere.
            extra = self._walk(rows[common], weights[common])
            full = rare + (extra if factor is None else extra * factor)
            cand = self._top(full)
            return cand, full[cand]
        cand = self._top(rare)
        qvec = np.zeros(self.n_common)
        qvec[self.common_id[rows[common]]] = weights[common]
        pos, lens = _gather(self.e_indptr, cand)
        contrib = self.e_vals[pos] * qvec[self.e_terms[pos]]
        owner = np.repeat(np.arange(len(cand)), lens)
        extra = np.bincount(owner, weights=contrib, minlength=len(cand))
        return cand, rare[cand] + (extra if factor is None else extra * factor[cand])


class KBIndex:
    """Search over Q&A entries; searches may run concurrently with each other and with edits."""

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
        """Add an entry or replace the entry with the same id; the next search recompiles."""
        doc = _make_doc(KBEntry(entry_id, question, answer, tuple(alt_questions), unit_code))
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
        docs = {entry.entry_id: _make_doc(entry) for entry in entries}
        compiled = _Compiled([docs[k] for k in sorted(docs)])
        with self._lock:
            self._docs, self._compiled = docs, compiled

    def compile(self) -> None:
        """Compile pending edits now instead of in the next search."""
        self._ready()

    def _ready(self) -> _Compiled:
        with self._lock:
            if self._compiled is None:
                self._compiled = _Compiled([self._docs[k] for k in sorted(self._docs)])
            return self._compiled

    def search(
        self, text: str, *, unit_code: str | None = None, limit: int = 5, only_unit: bool = False
    ) -> list[Suggestion]:
        """Best entries for `text`, best first.

        `unit_code` multiplies that unit's scores by UNIT_BOOST; with `only_unit` the other
        units' entries are left out instead. Only the first suggestion can be `confident`.
        """
        compiled = self._ready()
        norm = normalise(text)
        if not norm or compiled.n == 0 or limit <= 0:
            return []
        query = features.query_terms(norm)
        cand, score = compiled.scores(query, compiled.factor(unit_code, only_unit))
        order = np.lexsort((compiled.ids[cand], -score))[: max(limit, 2)]
        ranked = [(int(cand[i]), float(score[i])) for i in order if score[i] > 0]
        if not ranked:
            return []
        best = ranked[0][1]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confident = best >= CONFIDENT_SCORE and best >= CONFIDENT_RATIO * second
        out: list[Suggestion] = []
        for i, (pos, s) in enumerate(ranked[:limit]):
            doc = compiled.docs[pos]
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
