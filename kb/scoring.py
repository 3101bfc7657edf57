"""The compiled index: BM25 postings of the word, character, pinyin and answer channels, and scoring.

Each channel is BM25 over its own terms divided by the query's total idf in that channel, so it
reads as "share of the query this entry explains"; the score is the weighted mean of the channels.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np

from kb import features, kernels
from kb.features import ANSWER, CHANNELS, CHAR, PINYIN, TAG, WORD, QueryBatch, QuestionTerms
from kb.normalise import normalise

# BM25 saturation and length normalisation, the usual values.
K1 = 1.2
B = 0.75
# The answer text weighs as much as the question wordings; the three views of the wordings
# (words, characters, pinyin) share the question's half equally.
CHANNEL_WEIGHTS = {WORD: 1 / 3, CHAR: 1 / 3, PINYIN: 1 / 3, ANSWER: 1.0}
# unit_code multiplies that unit's scores: it settles near-ties but never hides a clear answer
# that another unit owns (routing may be wrong; the Q&A base is shared).
UNIT_BOOST = 1.1
# Terms found in more than 1/DENSE_SHARE of the entries (common characters and syllables) are
# scored only for the CANDIDATES best entries by the other terms.
DENSE_SHARE = 32
CANDIDATES = 64


@dataclass(frozen=True, slots=True)
class Doc:
    """What the index keeps about one entry; n-grams are computed for all entries at compile time."""

    entry_id: int
    unit_code: str | None
    variants: tuple[QuestionTerms, ...]  # the question, then distinct alternative wordings
    answer: str
    words: dict[str, int]  # word → how many wordings carry it
    word_length: float  # words in the mean wording


def make_doc(
    *, entry_id: int, question: str, answer: str, alt_questions: Sequence[str], unit_code: str | None
) -> Doc:
    """Normalise and segment one entry."""
    texts = [normalise(question), *(normalise(a) for a in alt_questions)]
    variants = tuple(features.question_terms(t) for t in dict.fromkeys(t for t in texts if t))
    words: Counter[str] = Counter()
    for v in variants:
        words.update(set(v.words))
    length = sum(len(v.words) for v in variants) / max(1, len(variants))
    return Doc(entry_id, unit_code, variants, normalise(answer), dict(words), length)


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
    One sort by key does it all: texts, and so entries, stay ascending inside a key.
    """
    keys, owners = _sort_by_key(found, owner, len(owner_doc))
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


def _sort_by_key(found: np.ndarray, owner: np.ndarray, owners: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys ascending, and their owners, ascending inside a key (as they come: texts in order)."""
    if not len(found):
        return found, owner
    low = int(found.min())
    owner_bits = max(1, (owners - 1).bit_length())
    if (int(found.max()) - low).bit_length() + owner_bits <= 62:
        # Short keys (answers: uni- and bigrams) pack with their owner into one int64: a plain sort of
        # values moves no index array and needs no stability, unlike a stable argsort.
        packed = np.sort(((found - low) << owner_bits) | owner)
        return (packed >> owner_bits) + low, packed & ((1 << owner_bits) - 1)
    order = np.argsort(found, kind="stable")
    return found[order], owner[order]


class Compiled:
    """Read-only matrices built from the entries in id order.

    Vocabularies are sorted (words by text, n-grams by key), so the matrices depend only on the
    entries, never on the order of edits: an index grown by upserts and removals ranks bit for
    bit like a fresh build. All postings are kept term-major (term rows → entry columns) and
    walked over all entries for the query's rarer terms. Common terms also have a dense entry x
    term matrix of term frequencies, read for the best candidates only, so a long query never
    walks thousands of postings per common character.

    A batch of queries is scored together: their terms are looked up in one call, then one
    compiled loop (`kb.kernels.candidates`) walks each query's rare terms, picks its candidates
    and adds their common terms. A query's terms are added in the same order alone or in a
    batch, so both give identical scores.
    """

    def __init__(self, docs: list[Doc]) -> None:
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

        # One sorted vocabulary of the tagged keys: positions in it follow the word rows.
        self.n_words = len(self.words)
        self.keys = np.concatenate(
            [char_vocab + CHAR * TAG, syllable_vocab + PINYIN * TAG, answer_vocab + ANSWER * TAG]
        )

        sizes = [p.vocab_size for p in channels]
        offsets = [sum(sizes[:c]) for c in CHANNELS]
        rows, cols, vals, tfs, idfs, dfs, norms = [], [], [], [], [], [], []
        for c, p in zip(CHANNELS, channels, strict=True):
            df = np.bincount(p.term, minlength=p.vocab_size)
            idf = np.log1p((n - df + 0.5) / (df + 0.5))
            avgdl = float(p.lengths.mean()) if n else 0.0
            norm = K1 * (1.0 - B + B * p.lengths / (avgdl or 1.0))  # per entry
            rows.append(p.term + offsets[c])
            cols.append(p.doc)
            vals.append(_bm25(idf[p.term], p.tf, norm[p.doc]))
            tfs.append(p.tf)
            idfs.append(idf)
            dfs.append(df)
            norms.append(norm)
        # Every channel is sorted by (term, entry) and channels follow each other: term-major already.
        row = np.concatenate(rows)
        col = np.concatenate(cols)
        self.idf = np.concatenate(idfs)
        self.df = np.concatenate(dfs)
        self.t_indptr = np.zeros(len(self.idf) + 1, dtype=np.int64)
        np.cumsum(self.df, out=self.t_indptr[1:])
        # Postings as two arrays walked side by side: the entry (int32) and the BM25 value rounded to
        # float32 (ample for ranking; widened exactly when weighted).
        self.p_entry = col.astype(np.int32)
        self.p_value = np.concatenate(vals).astype(np.float32)
        self.common = self.df > max(1, n // DENSE_SHARE)
        # Common terms also go into a dense entry x term matrix of term frequencies (one byte per
        # entry and common term, so it stays small; size in docs/knowledge.md), read for the
        # candidates only; their BM25 values are recomputed from it.
        self.common_id = np.cumsum(self.common) - 1
        common_rows = np.flatnonzero(self.common)
        self.common_idf = self.idf[common_rows]
        self.common_chan = np.searchsorted(offsets, common_rows, side="right") - 1
        self.norm = np.stack(norms, axis=1) if n else np.zeros((0, len(CHANNELS)))
        tf = np.concatenate(tfs)
        in_common = self.common[row]
        most = float(tf.max()) if len(tf) else 0.0
        dtype = np.uint8 if most <= 0xFF else np.uint16 if most <= 0xFFFF else np.uint32
        self.common_tf = np.zeros((n, len(common_rows)), dtype=dtype)
        self.common_tf[col[in_common], self.common_id[row[in_common]]] = tf[in_common]
        self.channel_weight = np.array([CHANNEL_WEIGHTS[c] for c in CHANNELS], dtype=np.float64)
        self.units: dict[str, np.ndarray] = {}
        for i, doc in enumerate(docs):
            if doc.unit_code is not None:
                self.units.setdefault(doc.unit_code, np.zeros(n, dtype=bool))[i] = True
        self._factors: dict[tuple[str, bool], np.ndarray] = {}
        self.initials = _initials(docs)
        # The word channel's idf by word, for the confidence's word shares (a few words per query).
        self.word_idf = dict(zip(self.words, self.idf[: self.n_words].tolist(), strict=True))

    def spell_out(self, text: str) -> str:
        """Normalised `text` with every pinyin abbreviation the base knows followed by the word it
        stands for ("sfz补办" → "sfz 身份证 补办"), so that words and characters match it too."""
        if not self.initials or not features.has_latin(text):
            return text
        return features.spell_out(text, self.initials)

    def word_share(self, words: Sequence[str], position: int) -> float:
        """Share of `words` (a query's word terms, weighed by idf; unknown ones at the highest idf)
        that the entry at `position` carries in its wordings."""
        carried = self.docs[position].words
        idf = self.word_idf
        total = found = 0.0
        for word in words:
            weight = idf.get(word, self.unknown_idf)
            total += weight
            if word in carried:
                found += weight
        return found / total if total else 0.0

    def factor(self, unit_code: str | None, only_unit: bool) -> np.ndarray | None:
        """Per-entry score multiplier for a unit preference, or None for none."""
        if unit_code is None:
            return None
        key = (unit_code, only_unit)
        found = self._factors.get(key)
        if found is None:
            mine = self.units.get(unit_code, np.zeros(self.n, dtype=bool))
            found = np.where(mine, UNIT_BOOST, 0.0 if only_unit else 1.0)
            # Units are few; a racing search at worst computes the same array twice.
            self._factors[key] = found
        return found

    def _rows(self, batch: QueryBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows of the known terms of all queries (grouped by query), their query and channel, and
        per query and channel how many terms were unknown.

        Inside a query, rows follow its word order in the word channel and ascend (as keys do) in
        the others, whether it is searched alone or in a batch: the sums come out identical.
        """
        size = len(batch.queries)
        words = [query.word_terms for query in batch.queries]
        word_owner = np.repeat(np.arange(size), [len(w) for w in words])
        # Rows, -1 for unknown terms.
        looked_up = map(self.words.get, chain.from_iterable(words), repeat(-1))
        word_rows = np.fromiter(looked_up, dtype=np.int64, count=len(word_owner))
        keys, vocab = batch.keys, self.keys
        key_rows = np.full(len(keys), -1)
        if len(vocab):
            at = np.minimum(np.searchsorted(vocab, keys), len(vocab) - 1)
            key_rows = np.where(vocab.take(at) == keys, at + self.n_words, -1)
        rows = np.concatenate([word_rows, key_rows])
        owners = np.concatenate([word_owner, batch.owner])
        # A tagged key lies within 2**58 of channel * TAG.
        chans = np.concatenate([np.zeros(len(word_rows), dtype=np.int64), (keys + TAG // 2) >> 60])
        known = rows >= 0
        lost = owners[~known] * len(CHANNELS) + chans[~known]
        missing = np.bincount(lost, minlength=size * len(CHANNELS)).reshape(size, len(CHANNELS))
        rows, owners, chans = rows[known], owners[known], chans[known]
        # Stable: a query's word rows stay before its key rows, each in their order.
        order = np.argsort(owners, kind="stable")
        return rows[order], owners[order], chans[order], missing

    def _top(self, score: np.ndarray) -> np.ndarray:
        """Positions of the CANDIDATES best scores of one query (entries scoring nothing fill up in
        id order)."""
        cand = kernels.top(score, CANDIDATES)
        if len(cand):
            return cand
        if self.n <= CANDIDATES:
            return np.arange(self.n)
        hit = np.flatnonzero(score > 0)
        pool = np.arange(CANDIDATES)
        return np.concatenate([hit, pool[~np.isin(pool, hit)][: CANDIDATES - len(hit)]])

    def _common_terms(self, rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
        """(column in the dense matrix, scale, channel) of common terms `rows`: a term's weighted BM25
        value in an entry is scale * tf / (tf + the entry's norm in that channel)."""
        ids = self.common_id.take(rows)
        # What does not depend on the entry in idf * weight * tf * (K1 + 1) / (tf + norm).
        return ids, self.common_idf.take(ids) * weights * (K1 + 1.0), self.common_chan.take(ids)

    def _finish(
        self,
        rare: np.ndarray,
        common_rows: np.ndarray,
        common_weights: np.ndarray,
        factor: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidates and their fused scores of a query with fewer than CANDIDATES entries hit by its
        rare terms, from their scores (scaled by the factor) and its common terms."""
        if len(common_rows) and self.n > CANDIDATES:
            # A short, generic query: score its common terms everywhere.
            extra = self._postings(common_rows, common_weights)
            full = rare + (extra if factor is None else extra * factor)
            cand = self._top(full)
            return cand, full[cand]
        cand = self._top(rare)
        if not len(common_rows):
            return cand, rare[cand]
        extra = kernels.common(
            cand, self.common_tf, self.norm, *self._common_terms(common_rows, common_weights)
        )
        return cand, rare[cand] + (extra if factor is None else extra * factor[cand])

    def _postings(self, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Weighted sum of the postings of `rows` for every entry."""
        return kernels.walk(self.t_indptr, self.p_entry, self.p_value, rows, weights, self.n)

    def scores(
        self, batch: QueryBatch, factors: Sequence[np.ndarray | None]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """(candidate entry positions, their fused scores) of each query, scaled by its factor."""
        size = len(batch.queries)
        rows, owner, chan, missing = self._rows(batch)
        slot = owner * len(CHANNELS) + chan
        cells = size * len(CHANNELS)
        sizes = np.bincount(slot, minlength=cells).reshape(size, len(CHANNELS))
        present = (sizes + missing) > 0
        # A channel's ideal: the idf of all its query terms, unknown ones at the highest idf.
        known = np.bincount(slot, weights=self.idf[rows], minlength=cells).reshape(size, len(CHANNELS))
        ideal = known + missing * self.unknown_idf
        share = self.channel_weight * present
        total = share.sum(axis=1, keepdims=True)
        share /= np.where(total > 0, total, 1.0)
        weights = (share / np.maximum(ideal, 1e-12)).ravel()[slot]
        common = self.common[rows]
        rare = ~common
        # Rare and common terms apart, each still grouped by query.
        rare_rows, rare_weights, rare_owner = rows[rare], weights[rare], owner[rare]
        common_rows, common_weights, common_owner = rows[common], weights[common], owner[common]
        rare_at = np.searchsorted(rare_owner, np.arange(size + 1))
        common_at = np.searchsorted(common_owner, np.arange(size + 1))
        # Each distinct factor once (the same unit's array is shared), and per query which one (-1: none).
        distinct: dict[int, tuple[int, np.ndarray]] = {}
        for f in factors:
            if f is not None:
                distinct.setdefault(id(f), (len(distinct), f))
        factor_of = np.array([-1 if f is None else distinct[id(f)][0] for f in factors], dtype=np.int64)
        stacked = np.stack([f for _, f in distinct.values()]) if distinct else np.ones((1, 1))
        cand = np.zeros((size, CANDIDATES), dtype=np.int64)
        score = np.zeros((size, CANDIDATES))
        picked = kernels.candidates(
            self.t_indptr,
            self.p_entry,
            self.p_value,
            rare_rows,
            rare_weights,
            rare_at,
            factor_of,
            stacked,
            self.common_tf,
            self.norm,
            *self._common_terms(common_rows, common_weights),
            common_at,
            self.n,
            CANDIDATES,
            cand,
            score,
        ).tolist()
        has_terms = (np.bincount(owner, minlength=size) > 0).tolist()
        rare_at, common_at = rare_at.tolist(), common_at.tolist()
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for query in range(size):
            if picked[query]:
                out.append((cand[query], score[query]))
            elif not has_terms[query]:
                out.append((np.zeros(0, dtype=np.int64), np.zeros(0)))
            else:
                a, b = rare_at[query], rare_at[query + 1]
                dense = self._postings(rare_rows[a:b], rare_weights[a:b])
                factor = factors[query]
                if factor is not None:
                    dense *= factor
                a, b = common_at[query], common_at[query + 1]
                out.append(self._finish(dense, common_rows[a:b], common_weights[a:b], factor))
        return out


def _initials(docs: Sequence[Doc]) -> dict[str, str]:
    """Initials → the word of the base they stand for: the word most entries carry (then the
    shortest, then the first in order) among those with these initials."""
    carriers: Counter[tuple[str, str]] = Counter()
    for doc in docs:
        carriers.update({(abbr, word) for v in doc.variants for abbr, word in v.abbreviations.items()})
    best: dict[str, tuple[int, int, str]] = {}
    for (abbr, word), count in carriers.items():
        rank = (-count, len(word), word)
        if abbr not in best or rank < best[abbr]:
            best[abbr] = rank
    return {abbr: word for abbr, (_, _, word) in best.items()}


def _bm25(idf: np.ndarray, tf: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """BM25 value of a term in an entry."""
    return idf * tf * (K1 + 1.0) / (tf + norm)
