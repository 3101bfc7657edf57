"""Background jobs (APScheduler in the app's lifespan; off with HUIYING_SCHEDULER=off).

Jobs that must run on one instance at a time take a database lease: a PostgreSQL advisory lock held
by the job's connection (released by the server if the process dies), or a process lock on SQLite,
which is one process by design. Every job is idempotent, so a repeated run changes nothing."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

from app.channels import scheduled as channels_scheduled
from app.config import Settings
from app.db import get_engine
from app.intake import scheduled as intake_scheduled
from app.jobs import Job
from app.registry import scheduled as registry_scheduled
from app.replies import scheduled as replies_scheduled
from app.reports import scheduled as reports_scheduled
from app.sla import scheduled as sla_scheduled
from app.supervision import scheduled as supervision_scheduled

log = logging.getLogger(__name__)

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def lease(name: str) -> Iterator[bool]:
    """Yields True if this process holds the lease `name` for the duration of the block."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_key(name)}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(name)})
                    conn.commit()
        return
    with _local_guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()


def jobs(settings: Settings) -> list[Job]:
    """Every background job of the service, as each domain declares it in its `scheduled.py`."""
    return [
        *intake_scheduled.jobs(settings),
        *replies_scheduled.jobs(),
        *sla_scheduled.jobs(),
        *registry_scheduled.jobs(settings),
        *supervision_scheduled.jobs(settings),
        *reports_scheduled.jobs(),
        *channels_scheduled.jobs(),
    ]


def run_job(job: Job) -> None:
    try:
        if not job.exclusive:
            job.run()
            return
        with lease(f"huiying:{job.name}") as held:
            if held:
                job.run()
    except Exception:
        log.exception("job %s failed", job.name)


def start(settings: Settings) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=settings.timezone)
    for job in jobs(settings):
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.seconds,
            args=[job],
            id=job.name,
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    return scheduler
