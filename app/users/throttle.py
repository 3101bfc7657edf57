"""Failed sign-ins per source address, in a sliding window kept in this process's memory.

The per-account lock-out (`signin.login`) stops guessing one user's password; this stops one address
from trying a few passwords on many users (password spraying). The sign-in routes run only in the API
process, so one process's memory is the whole picture on one machine; behind several API processes each
keeps its own window (the limit then applies per process)."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

# Addresses tracked at most; the longest-quiet ones are dropped first, so a flood of forged sources
# cannot grow the memory without bound.
MAX_SOURCES = 10_000


class SourceFailures:
    """Failure times per source address, oldest source first."""

    def __init__(self, max_sources: int = MAX_SOURCES) -> None:
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._max_sources = max_sources
        self._lock = threading.Lock()

    def blocked_until(self, source: str, *, now: datetime, limit: int, window: timedelta) -> datetime | None:
        """When `source` may try again, if it has `limit` failures within `window` of `now`; else None."""
        with self._lock:
            times = self._failures.get(source)
            if not times:
                return None
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) < limit:
                return None
            return times[-limit] + window

    def fail(self, source: str, *, now: datetime, limit: int) -> None:
        """Counts one failure of `source` (only the newest `limit` are kept)."""
        with self._lock:
            times = self._failures.pop(source, None) or deque(maxlen=limit)
            times.append(now)
            self._failures[source] = times
            while len(self._failures) > self._max_sources:
                self._failures.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()


failures = SourceFailures()
