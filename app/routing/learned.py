"""A routing model learned from past assignments: TF-IDF character bigrams, one centroid per unit.

Nearest-centroid (Rocchio) trains in one pass and predicts from a sparse inverted index, so it stays
fast in pure Python; it is stored as JSON. Probabilities come from a softmax whose temperature is fitted
on the training examples, each scored against its unit's centroid without itself.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kb.normalise import normalise
from kb.segment import char_ngrams

FORMAT = "huiying-routing-centroid/1"
_NGRAMS = (2,)
# A bigram found in more than this share of the examples ("我们", "请问") says nothing about the unit.
_MAX_DF_SHARE = 0.3
_TEMPERATURES = (2.0, 3.0, 5.0, 7.0, 10.0, 14.0, 20.0, 28.0, 40.0, 56.0, 80.0, 110.0, 160.0, 220.0, 300.0)
_CALIBRATION_SAMPLE = 2000


def _counts(text: str, normalised: str | None) -> Counter[str]:
    plain = normalised if normalised is not None else normalise(text)
    return Counter(char_ngrams(plain, _NGRAMS))


def _weigh(counts: Mapping[str, int], idf: Mapping[str, float]) -> dict[str, float]:
    """Sub-linear TF-IDF, L2-normalised."""
    vec = {g: (1.0 + math.log(n)) * idf[g] for g, n in counts.items() if g in idf}
    norm = math.sqrt(sum(x * x for x in vec.values())) or 1.0
    return {g: x / norm for g, x in vec.items()}


@dataclass
class Model:
    """Unit centroids over TF-IDF bigrams, as an inverted index bigram → [(unit index, weight)]."""

    units: list[str]
    idf: dict[str, float]
    index: dict[str, list[tuple[int, float]]]
    temperature: float = 10.0
    examples: dict[str, int] = field(default_factory=dict)

    def scores(self, text: str, *, normalised: str | None = None) -> list[float]:
        """Cosine similarity of `text` to each unit's centroid, in `units` order."""
        sims = [0.0] * len(self.units)
        for gram, x in _weigh(_counts(text, normalised), self.idf).items():
            for unit, w in self.index.get(gram, ()):
                sims[unit] += x * w
        return sims

    def predict(self, text: str, *, normalised: str | None = None) -> list[tuple[str, float]]:
        """(unit_code, probability) for every known unit, most probable first; [] without evidence."""
        if not self.units:
            return []
        sims = self.scores(text, normalised=normalised)
        if not any(sims):
            return []
        top = max(sims)
        exps = [math.exp(self.temperature * (s - top)) for s in sims]
        total = sum(exps)
        ranked = sorted(zip(self.units, (e / total for e in exps), strict=True), key=lambda p: -p[1])
        return ranked

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


def _invert(sums: list[dict[str, float]]) -> dict[str, list[tuple[int, float]]]:
    index: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for unit, total in enumerate(sums):
        for g, x in total.items():
            index[g].append((unit, x))
    return index


def _fit_temperature(vectors: list[dict[str, float]], labels: list[int], sums: list[dict[str, float]]) -> float:
    """Temperature that best predicts each example's unit from the other examples (leave-one-out)."""
    norms2 = [sum(x * x for x in s.values()) for s in sums]
    inverted = _invert(sums)
    picked = list(range(len(vectors)))
    if len(picked) > _CALIBRATION_SAMPLE:
        picked = random.Random(len(picked)).sample(picked, _CALIBRATION_SAMPLE)
    rows: list[tuple[list[float], int]] = []
    for i in picked:
        own = labels[i]
        dots = [0.0] * len(sums)
        for g, x in vectors[i].items():
            for unit, total in inverted.get(g, ()):
                dots[unit] += x * total
        # Against its own unit the example is scored by the centroid of the others (|v| = 1).
        own_norm2 = norms2[own] - 2 * dots[own] + 1.0
        dots[own] -= 1.0
        sims = [
            dot / math.sqrt(norm2) if norm2 > 1e-12 else 0.0
            for dot, norm2 in zip(dots, [*norms2[:own], own_norm2, *norms2[own + 1 :]], strict=True)
        ]
        rows.append((sims, own))
    best, best_ll = 10.0, -math.inf
    for t in _TEMPERATURES:
        ll = 0.0
        for sims, own in rows:
            top = max(sims)
            total = sum(math.exp(t * (s - top)) for s in sims)
            ll += t * (sims[own] - top) - math.log(total)
        if ll > best_ll:
            best, best_ll = t, ll
    return best


def _centroid_sums(vectors: list[dict[str, float]], labels: list[int], n_units: int) -> list[dict[str, float]]:
    sums: list[dict[str, float]] = [defaultdict(float) for _ in range(n_units)]
    for vec, unit in zip(vectors, labels, strict=True):
        total = sums[unit]
        for g, x in vec.items():
            total[g] += x
    return sums


def train(examples: Iterable[tuple[str, str]], *, max_features: int = 3000) -> Model:
    """Learn a model from (text, unit_code) pairs; each unit keeps its `max_features` strongest bigrams."""
    texts: list[Counter[str]] = []
    codes: list[str] = []
    for text, unit in examples:
        counts = _counts(text, None)
        if counts:
            texts.append(counts)
            codes.append(unit)
    units = sorted(set(codes))
    if not units:
        return Model(units=[], idf={}, index={})
    df: Counter[str] = Counter()
    for counts in texts:
        df.update(counts.keys())
    n = len(texts)
    limit = max(2, _MAX_DF_SHARE * n)
    idf = {g: math.log((1 + n) / (1 + d)) + 1.0 for g, d in df.items() if d <= limit}
    position = {u: i for i, u in enumerate(units)}
    labels = [position[c] for c in codes]
    sums = _centroid_sums([_weigh(c, idf) for c in texts], labels, len(units))
    # Keep each unit's strongest bigrams and forget the rest, then weigh again over what is kept, so that
    # training, calibration and prediction all see the same vocabulary.
    kept: set[str] = set()
    for total in sums:
        kept.update(g for g, _ in sorted(total.items(), key=lambda item: -item[1])[:max_features])
    idf = {g: idf[g] for g in kept}
    vectors = [_weigh(c, idf) for c in texts]
    sums = _centroid_sums(vectors, labels, len(units))
    temperature = _fit_temperature(vectors, labels, sums) if len(units) > 1 else 10.0
    index: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for unit, total in enumerate(sums):
        norm = math.sqrt(sum(x * x for x in total.values())) or 1.0
        for g, x in total.items():
            index[g].append((unit, x / norm))
    return Model(
        units=units,
        idf=idf,
        index=dict(index),
        temperature=temperature,
        examples=dict(Counter(codes)),
    )
