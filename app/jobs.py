"""What a background job is. Each domain declares its own in `<domain>/scheduled.py`; `app.scheduler`
only collects and runs them, so no domain imports the scheduler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]
    seconds: float
    exclusive: bool  # True: only the lease holder runs it
