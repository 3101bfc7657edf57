"""Percentiles for reports: nearest rank, so that "p90 = 26 working days" reads as "90% of answers
came within 26 working days" and can be checked by counting."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np


def nearest_rank(values: Sequence[float], p: float) -> float | None:
    """The smallest value with at least `p` (0–1] of `values` at or below it; None when empty."""
    if not 0 < p <= 1:
        raise ValueError("p must be in (0, 1]")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)), 1) - 1]


def nearest_rank_counted(counts: Mapping[float, int], p: float) -> float | None:
    """`nearest_rank` of a histogram (value -> how many times it occurs); None when empty."""
    if not 0 < p <= 1:
        raise ValueError("p must be in (0, 1]")
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(math.ceil(p * total), 1)
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to the total")


def rate(numerator: int, denominator: int) -> float | None:
    """A percentage with one decimal, or None when there is nothing to divide."""
    if denominator <= 0:
        return None
    return round(100 * numerator / denominator, 1)


# A reply-time histogram as stored in a roll-up: (value in tenths, count) pairs, values ascending. Reply
# times are whole working days and working hours with one decimal (app.calendar.timing.stored_hours).
HISTOGRAM = np.dtype([("v", "<i4"), ("n", "<i4")])
TENTHS = 10
_DENSE_LIMIT = 10_000_000


def in_tenths(value: float) -> int | None:
    """`value` as a whole number of tenths, or None when it is not one exactly (or out of range)."""
    tenths = round(value * TENTHS)
    if tenths / TENTHS != value or not -(2**31) < tenths < 2**31:
        return None
    return tenths


def encode_histogram(counts: Mapping[float, int]) -> bytes | None:
    """A histogram (value -> count) in the stored form; None when a value is not a whole number of tenths."""
    pairs = []
    for value, n in counts.items():
        tenths = in_tenths(value)
        if tenths is None:
            return None
        if n:
            pairs.append((tenths, n))
    return np.array(sorted(pairs), dtype=HISTOGRAM).tobytes()


def nearest_rank_merged(counts: Mapping[float, int], encoded: Sequence[bytes], p: float) -> float | None:
    """`nearest_rank_counted` of `counts` and the stored histograms together."""
    if not encoded:
        return nearest_rank_counted(counts, p)
    if not 0 < p <= 1:
        raise ValueError("p must be in (0, 1]")
    stored = np.frombuffer(b"".join(encoded), dtype=HISTOGRAM)
    live = [(in_tenths(v), n) for v, n in counts.items() if n]
    if any(t is None for t, _ in live):
        # A value counted live that is not in tenths (never stored so): merge as floats.
        merged: Counter[float] = Counter()
        for v, n in zip(stored["v"].tolist(), stored["n"].tolist(), strict=True):
            merged[v / TENTHS] += n
        merged.update(counts)
        return nearest_rank_counted(merged, p)
    values = np.concatenate([stored["v"].astype(np.int64), np.array([t for t, _ in live], dtype=np.int64)])
    weights = np.concatenate([stored["n"].astype(np.int64), np.array([n for _, n in live], dtype=np.int64)])
    if not len(values) or int(weights.sum()) <= 0:
        return None
    low, high = int(values.min()), int(values.max())
    if high - low > _DENSE_LIMIT:
        ordered = np.argsort(values, kind="stable")
        values, weights = values[ordered], weights[ordered]
        cumulative = np.cumsum(weights)
        rank = max(math.ceil(p * int(cumulative[-1])), 1)
        return float(values[int(np.searchsorted(cumulative, rank))]) / TENTHS
    totals = np.bincount(values - low, weights=weights).astype(np.int64)
    cumulative = np.cumsum(totals)
    rank = max(math.ceil(p * int(cumulative[-1])), 1)
    return (int(np.searchsorted(cumulative, rank)) + low) / TENTHS


def encode_counts(counts: Mapping[int, int]) -> bytes:
    """Counts per whole-number key (a topic term's id) in the stored form of a histogram, keys ascending,
    zero counts left out."""
    return np.array(sorted((k, n) for k, n in counts.items() if n), dtype=HISTOGRAM).tobytes()


def summed_counts(encoded: Sequence[bytes], size: int = 0) -> np.ndarray:
    """Stored counts (`encode_counts`) added up per key: element k is key k's total; at least `size` long."""
    stored = np.frombuffer(b"".join(encoded), dtype=HISTOGRAM)
    return np.bincount(stored["v"], weights=stored["n"], minlength=size).astype(np.int64)
