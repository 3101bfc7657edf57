"""The registry's background jobs: the daily zombie-account check, and approved lifecycle events taking
effect on their effective date."""

from __future__ import annotations

from app import clock
from app.config import Settings
from app.db import session_scope
from app.jobs import Job
from app.registry.service import apply_due_events
from app.registry.zombie import run_daily

# Polled hourly; the check itself runs once per local day (so a restart cannot skip a day).
CHECK_POLL_SECONDS = 3600.0


def _apply_due(settings: Settings) -> int:
    with session_scope() as session:
        return apply_due_events(session=session, today=clock.now().astimezone(settings.tz).date())


def jobs(settings: Settings) -> list[Job]:
    return [
        Job("zombie-check", lambda: run_daily(tz=settings.tz), CHECK_POLL_SECONDS, True),
        Job("registry-effective", lambda: _apply_due(settings), CHECK_POLL_SECONDS, True),
    ]
