"""Settings of the Python runtime for a long-running service process."""

from __future__ import annotations

import gc

# Net allocations between collections of the youngest generation (CPython's default is 700). A pipeline
# batch or a request allocates tens of thousands of short-lived objects that reference counting frees
# anyway; collecting every 700 of them walks those objects for nothing (figures: docs/scale.md).
YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Collects the youngest generation less often (the older generations keep their defaults)."""
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), older, oldest)


def freeze_long_lived() -> None:
    """Moves every object alive now out of the collector's reach (`gc.freeze`): for large structures
    built once and kept, such as a compiled search index, which no collection would ever free."""
    gc.freeze()
