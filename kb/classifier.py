"""The routing model, learned from past assignments: TF-IDF character uni- and bigrams, one centroid per
unit. `app.routing` trains it from the labelled examples in the database, stores it and asks it for
(unit, probability) candidates; this module knows nothing of the database.

Nearest-centroid (Rocchio) trains in one pass over the examples and predicts with one sparse product
(numpy) over the rows of the message's grams, never a loop over units or examples (figures:
docs/scale.md). It is stored as JSON. Probabilities come from a softmax whose temperature is fitted on
the training examples, each scored against its unit's centroid without itself (leave-one-out).
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from kb import grams as gram_keys
from kb.normalise import normalise
from kb.segment import char_ngrams

FORMAT = "huiying-routing-centroid/1"
_NGRAMS = (1, 2)
# A gram found in more than this share of the examples ("我", "请问") says nothing about the unit.
_MAX_DF_SHARE = 0.2
_TEMPERATURES = (2.0, 3.0, 5.0, 7.0, 10.0, 14.0, 20.0, 28.0, 40.0, 56.0, 80.0, 110.0, 160.0, 220.0, 300.0)
_CALIBRATION_SAMPLE = 2000


class _Sparse:
    """Rows of (unit, weight) per gram in CSR arrays, multiplied by a sparse query vector."""

    def __init__(
        self, vocab: Mapping[str, int], rows: Sequence[Sequence[tuple[int, float]]], units: int
    ) -> None:
        self.vocab = vocab
        self.units = units
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        self.indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.indptr[1:])
        self.unit = np.fromiter((u for r in rows for u, _ in r), dtype=np.int32, count=int(self.indptr[-1]))
        self.weight = np.fromiter(
            (w for r in rows for _, w in r), dtype=np.float64, count=int(self.indptr[-1])
        )

    def dot_many(self, vectors: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """`dot` of each (ids, values) at once: one row of unit scores per vector, each row summed in
        the same order as `dot` sums it, so rows are identical to one `dot` each."""
        if not vectors:
            return np.zeros((0, self.units))
        ids = np.concatenate([v[0] for v in vectors])
        values = np.concatenate([v[1] for v in vectors])
        owner = np.repeat(np.arange(len(vectors)), [len(v[0]) for v in vectors])
        starts = self.indptr[ids]
        lengths = self.indptr[ids + 1] - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros((len(vectors), self.units))
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        bins = np.repeat(owner * self.units, lengths) + self.unit[offsets]
        return np.bincount(
            bins,
            weights=self.weight[offsets] * np.repeat(values, lengths),
            minlength=len(vectors) * self.units,
        ).reshape(len(vectors), self.units)

    def dot(self, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Σ_g values[g] · row[g] for the grams `ids`: one score per unit."""
        starts = self.indptr[ids]
        lengths = self.indptr[ids + 1] - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros(self.units)
        # Positions of every (gram, unit) entry of the selected rows, without a Python loop.
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        return np.bincount(
            self.unit[offsets],
            weights=self.weight[offsets] * np.repeat(values, lengths),
            minlength=self.units,
        )


def _grams(text: str, normalised: str | None) -> list[str]:
    plain = normalised if normalised is not None else normalise(text)
    return char_ngrams(plain, _NGRAMS)


def _vector(grams: list[str], vocab: Mapping[str, int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Known gram ids and their sub-linear TF-IDF weights, L2-normalised."""
    found = [i for i in map(vocab.get, grams) if i is not None]
    if not found:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    ids, counts = np.unique(np.asarray(found, dtype=np.int64), return_counts=True)
    values = (1.0 + np.log(counts)) * idf[ids]
    return ids, values / np.linalg.norm(values)


def _gram_key(gram: str) -> int:
    """The `kb.grams` key of a gram: its code points packed, the first highest."""
    key = 0
    for ch in gram:
        key = (key << gram_keys.BITS) | ord(ch)
    return key


@dataclass(frozen=True)
class _Compiled:
    """What prediction looks up, made once per model."""

    vocab: dict[str, int]
    idf: np.ndarray
    centroids: _Sparse
    keys: np.ndarray  # the grams' keys, ascending ...
    key_ids: np.ndarray  # ... and the gram id of each


@dataclass
class Model:
    """Unit centroids over TF-IDF grams: `index` maps gram → [(unit index, weight)]."""

    units: list[str]
    idf: dict[str, float]
    index: dict[str, list[tuple[int, float]]]
    temperature: float = 10.0
    examples: dict[str, int] = field(default_factory=dict)
    _compiled: _Compiled | None = field(default=None, repr=False, compare=False)

    def _ready(self) -> _Compiled:
        if self._compiled is None:
            vocab = {g: i for i, g in enumerate(self.idf)}
            idf = np.fromiter(self.idf.values(), dtype=np.float64, count=len(self.idf))
            rows = [self.index.get(g, []) for g in self.idf]
            keys = np.fromiter(map(_gram_key, self.idf), dtype=np.int64, count=len(self.idf))
            order = np.argsort(keys, kind="stable")
            self._compiled = _Compiled(vocab, idf, _Sparse(vocab, rows, len(self.units)), keys[order], order)
        return self._compiled

    def _vectors(self, plain: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """`_vector` of each normalised text, its grams made as integer keys for all texts at once
        (`kb.grams`: the same grams as `char_ngrams`) and looked up in one sorted array."""
        compiled = self._ready()
        found, owner = gram_keys.batch(plain, gram_keys.text_mask, _NGRAMS)
        keys = compiled.keys
        if len(keys):
            at = np.minimum(np.searchsorted(keys, found), len(keys) - 1)
            hit = keys.take(at) == found
            ids, owner = compiled.key_ids.take(at[hit]), owner[hit]
        else:
            ids, owner = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        size = max(1, len(keys))
        # Sorted by text, then gram id; counts are the gram's occurrences in the text (as np.unique gives).
        packed, counts = np.unique(owner * size + ids, return_counts=True)
        owner, ids = np.divmod(packed, size)
        values = (1.0 + np.log(counts)) * compiled.idf.take(ids)
        bounds = np.searchsorted(owner, np.arange(len(plain) + 1)).tolist()
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for a, b in pairwise(bounds):
            part = values[a:b]
            out.append((ids[a:b], part / np.linalg.norm(part)) if b > a else (ids[a:b], part))
        return out

    def _similarities(self, text: str, normalised: str | None) -> np.ndarray:
        # One text: string grams and dict look-ups cost less than the numpy calls of `_vectors`.
        compiled = self._ready()
        return compiled.centroids.dot(*_vector(_grams(text, normalised), compiled.vocab, compiled.idf))

    def scores(self, text: str, *, normalised: str | None = None) -> list[float]:
        """Cosine similarity of `text` to each unit's centroid, in `units` order."""
        return self._similarities(text, normalised).tolist()

    def predict(
        self, text: str, *, normalised: str | None = None, limit: int | None = None
    ) -> list[tuple[str, float]]:
        """(unit_code, probability), most probable first (the first `limit`); [] without evidence."""
        if not self.units:
            return []
        sims = self._similarities(text, normalised)
        if not sims.any():
            return []
        exps = np.exp(self.temperature * (sims - sims.max()))
        probs = exps / exps.sum()
        order = np.argsort(-probs, kind="stable")[:limit]
        return [(self.units[i], float(probs[i])) for i in order.tolist()]

    def predict_many(
        self, texts: Sequence[str], *, normalised: Sequence[str] | None = None, limit: int | None = None
    ) -> list[list[tuple[str, float]]]:
        """`predict` of each text (a pipeline batch) with one sparse product for all; a text's result does
        not depend on the others."""
        if not self.units:
            return [[] for _ in texts]
        plain = list(normalised) if normalised is not None else [normalise(t) for t in texts]
        sims = self._ready().centroids.dot_many(self._vectors(plain))
        return self._ranked_many(sims, limit)

    def _ranked_many(self, sims: np.ndarray, limit: int | None) -> list[list[tuple[str, float]]]:
        """Softmax probabilities of each row of similarities, the most probable units first (as `predict`
        ranks one row, in a few numpy calls for all rows)."""
        if not len(sims):
            return []
        exps = np.exp(self.temperature * (sims - sims.max(axis=1, keepdims=True)))
        probs = exps / exps.sum(axis=1, keepdims=True)
        order = np.argsort(-probs, kind="stable", axis=1)[:, :limit]
        taken = probs[np.arange(len(probs))[:, None], order]
        units = self.units
        evidence = [bool(found) for found in np.any(sims, axis=1).tolist()]
        return [
            [(units[i], p) for i, p in zip(row, chances, strict=True)] if found else []
            for row, chances, found in zip(order.tolist(), taken.tolist(), evidence, strict=True)
        ]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the app stores it in the database)."""
        return {
            "format": FORMAT,
            "units": self.units,
            "temperature": self.temperature,
            "examples": self.examples,
            "idf": {g: round(v, 4) for g, v in self.idf.items()},
            "index": {g: [[u, round(w, 5)] for u, w in post] for g, post in self.index.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Model:
        """Rebuild a model saved with `to_json`; raises ValueError for another format."""
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown routing model format: {data.get('format')!r}")
        return cls(
            units=list(data["units"]),
            idf={g: float(v) for g, v in data["idf"].items()},
            index={g: [(int(u), float(w)) for u, w in post] for g, post in data["index"].items()},
            temperature=float(data["temperature"]),
            examples={u: int(n) for u, n in data.get("examples", {}).items()},
        )


def _fit_temperature(
    vectors: list[tuple[np.ndarray, np.ndarray]], labels: list[int], sums: _Sparse, norms2: np.ndarray
) -> float:
    """Temperature that best predicts each example's unit from the other examples (leave-one-out)."""
    picked = list(range(len(vectors)))
    if len(picked) > _CALIBRATION_SAMPLE:
        picked = random.Random(len(picked)).sample(picked, _CALIBRATION_SAMPLE)
    rows: list[tuple[np.ndarray, int]] = []
    for i in picked:
        own = labels[i]
        dots = sums.dot(*vectors[i])
        sizes = norms2.copy()
        # Against its own unit the example meets the centroid of the others (its vector has norm 1).
        sizes[own] = sizes[own] - 2 * dots[own] + 1.0
        dots[own] -= 1.0
        sims = np.where(sizes > 1e-12, dots / np.sqrt(np.maximum(sizes, 1e-12)), 0.0)
        rows.append((sims, own))
    best, best_ll = 10.0, -math.inf
    for t in _TEMPERATURES:
        ll = 0.0
        for sims, own in rows:
            shifted = t * (sims - sims.max())
            ll += float(shifted[own] - np.log(np.exp(shifted).sum()))
        if ll > best_ll:
            best, best_ll = t, ll
    return best


def _unit_sums(
    vectors: list[tuple[np.ndarray, np.ndarray]], labels: list[int], n_grams: int, n_units: int
) -> np.ndarray:
    sums = np.zeros((n_units, n_grams))
    for (ids, values), unit in zip(vectors, labels, strict=True):
        sums[unit, ids] += values
    return sums


def train(examples: Iterable[tuple[str, str]], *, max_features: int = 3000) -> Model:
    """Learn a model from (text, unit_code) pairs; each unit keeps its `max_features` strongest grams."""
    docs: list[list[str]] = []
    codes: list[str] = []
    for text, code in examples:
        grams = _grams(text, None)
        if grams:
            docs.append(grams)
            codes.append(code)
    units = sorted(set(codes))
    if not units:
        return Model(units=[], idf={}, index={})
    df: Counter[str] = Counter()
    for grams in docs:
        df.update(set(grams))
    n = len(docs)
    limit = max(2, _MAX_DF_SHARE * n)
    kept = sorted(g for g, d in df.items() if d <= limit)
    unit_index = {u: i for i, u in enumerate(units)}
    labels = [unit_index[c] for c in codes]

    def weigh(
        vocab_list: list[str],
    ) -> tuple[dict[str, int], np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        vocab = {g: i for i, g in enumerate(vocab_list)}
        idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in vocab_list])
        return vocab, idf, [_vector(grams, vocab, idf) for grams in docs]

    vocab, idf, vectors = weigh(kept)
    sums = _unit_sums(vectors, labels, len(kept), len(units))
    # Keep each unit's strongest grams and forget the rest, then weigh again over what is kept, so that
    # training, calibration and prediction all see the same vocabulary.
    strongest: set[int] = set()
    for row in sums:
        nonzero = np.flatnonzero(row)
        strongest.update(nonzero[np.argsort(-row[nonzero], kind="stable")[:max_features]].tolist())
    kept = [kept[i] for i in sorted(strongest)]
    vocab, idf, vectors = weigh(kept)
    sums = _unit_sums(vectors, labels, len(kept), len(units))
    norms2 = (sums * sums).sum(axis=1)
    columns: list[list[tuple[int, float]]] = [[] for _ in kept]
    for unit, row in enumerate(sums):
        for position in np.flatnonzero(row).tolist():
            columns[position].append((unit, float(row[position])))
    temperature = (
        _fit_temperature(vectors, labels, _Sparse(vocab, columns, len(units)), norms2)
        if len(units) > 1
        else 10.0
    )
    norms = np.sqrt(norms2)
    index: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for gram, column in zip(kept, columns, strict=True):
        for unit, x in column:
            index[gram].append((unit, x / norms[unit]))
    return Model(
        units=units,
        idf={g: float(v) for g, v in zip(kept, idf, strict=True)},
        index=dict(index),
        temperature=temperature,
        examples=dict(Counter(codes)),
    )
