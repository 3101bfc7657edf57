"""Background jobs (APScheduler in the app's lifespan; off with HUIYING_SCHEDULER=off).

Jobs that must run on one instance at a time take a database lease: a PostgreSQL advisory lock held
by the job's connection (released by the server if the process dies), or a process lock on SQLite,
which is one process by design. Every job is idempotent, so a repeated run changes nothing."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

from app.config import Settings
from app.db import get_engine

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


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]
    seconds: float
    exclusive: bool  # True: only the lease holder runs it


def jobs(settings: Settings) -> list[Job]:
    """Every background job of the service."""
    from app.channels import capabilities, polling
    from app.messages.pipeline import Pipeline
    from app.registry.jobs import jobs as registry_jobs
    from app.replies import outbox
    from app.reports.jobs import jobs as reports_jobs
    from app.sla.sweep import jobs as sla_jobs

    pipeline = Pipeline(settings=settings)
    return [
        Job("pipeline", lambda: pipeline.drain(max_batches=20), settings.pipeline_interval_seconds, False),
        Job("replies-outbox", lambda: outbox.drain(max_batches=5), outbox.INTERVAL_SECONDS, False),
        *sla_jobs(),
        *registry_jobs(settings),
        *reports_jobs(),
        Job("channel-polls", lambda: polling.run_due(), polling.JOB_SECONDS, True),
        Job("channel-capabilities", lambda: capabilities.run_due(), capabilities.JOB_SECONDS, True),
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
