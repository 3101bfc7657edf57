"""Percentiles for reports: nearest rank, so that "p90 = 26 working days" reads as "90% of answers
came within 26 working days" and can be checked by counting."""

from __future__ import annotations

import math
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


# A reply-time histogram as stored in a roll-up: (value, count) pairs, values ascending.
HISTOGRAM = np.dtype([("v", "<f8"), ("n", "<i8")])


def encode_histogram(counts: Mapping[float, int]) -> bytes:
    pairs = sorted((float(v), int(n)) for v, n in counts.items() if n)
    return np.array(pairs, dtype=HISTOGRAM).tobytes()


def nearest_rank_merged(counts: Mapping[float, int], encoded: Sequence[bytes], p: float) -> float | None:
    """`nearest_rank_counted` of `counts` and the encoded histograms together."""
    if not encoded:
        return nearest_rank_counted(counts, p)
    if not 0 < p <= 1:
        raise ValueError("p must be in (0, 1]")
    merged = np.frombuffer(b"".join(encoded), dtype=HISTOGRAM)
    if counts:
        merged = np.concatenate([merged, np.array(list(counts.items()), dtype=HISTOGRAM)])
    merged = merged[merged["n"] > 0]
    if not len(merged):
        return None
    values, where = np.unique(merged["v"], return_inverse=True)
    totals = np.bincount(where, weights=merged["n"]).astype(np.int64)
    rank = max(math.ceil(p * int(totals.sum())), 1)
    return float(values[int(np.searchsorted(np.cumsum(totals), rank))])
