"""The registry's background job: the daily zombie-account check."""

from __future__ import annotations

from app.config import Settings
from app.registry.zombie import run_daily
from app.scheduler import Job

# Polled hourly; the check itself runs once per local day (so a restart cannot skip a day).
CHECK_POLL_SECONDS = 3600.0


def jobs(settings: Settings) -> list[Job]:
    return [Job("zombie-check", lambda: run_daily(tz=settings.tz), CHECK_POLL_SECONDS, True)]
