"""Stored reply-time histograms (whole tenths) merge to the same nearest ranks as the plain histograms."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from app.reports.stats import encode_histogram, in_tenths, nearest_rank_counted, nearest_rank_merged


@pytest.mark.parametrize("seed", range(30))
def test_merged_ranks_equal_plain_ranks(seed: int) -> None:
    rng = random.Random(seed)
    parts = [
        Counter(
            {
                round(rng.uniform(0, rng.choice((3, 40, 400))), 1): rng.randrange(1, 5)
                for _ in range(rng.randrange(0, 60))
            }
        )
        for _ in range(rng.randrange(1, 6))
    ]
    live = Counter({float(rng.randrange(0, 30)): rng.randrange(1, 3) for _ in range(rng.randrange(0, 5))})
    if seed % 5 == 0:
        live[rng.random() * 10] += 1  # not in tenths: counted live only, merged as floats
    together = Counter(live)
    for part in parts:
        together.update(part)
    encoded = [encode_histogram(part) for part in parts]
    assert all(blob is not None for blob in encoded)
    for p in (0.5, 0.9, 1.0, 0.01):
        assert nearest_rank_merged(live, encoded, p) == nearest_rank_counted(together, p)  # type: ignore[arg-type]


def test_values_not_in_tenths_are_not_stored() -> None:
    assert in_tenths(3.3) == 33 and in_tenths(12.0) == 120
    assert in_tenths(0.123) is None and in_tenths(1e12) is None
    assert encode_histogram(Counter({1.5: 2, 0.125: 1})) is None
    assert nearest_rank_merged(Counter(), [encode_histogram(Counter())], 0.5) is None  # type: ignore[list-item]
