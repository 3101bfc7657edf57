"""The background jobs in a process of their own (`huiying worker`): the pipeline, the outbox, SLA
sweeps, polls and the rest of `app.scheduler.jobs`, so that ingest in the API process never waits for
the pipeline's CPU. `huiying serve` starts one beside the API by default (`HUIYING_SERVE_WORKER`)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from app import wiring
from app.config import Settings
from app.main import startup_checks
from app.scheduler import jobs, run_job, start

log = logging.getLogger(__name__)


def run(settings: Settings, *, stop: threading.Event | None = None) -> None:
    """Runs every background job on its interval until `stop` is set (or SIGTERM / SIGINT arrives)."""
    startup_checks(settings)
    wiring.install()
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    scheduler = start(settings)
    log.info("huiying worker: background jobs running")
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)


def run_once(settings: Settings) -> None:
    """Runs every background job once, one after the other (what one round of `run` does)."""
    wiring.install()
    for job in jobs(settings):
        run_job(job)


def spawn(settings: Settings) -> subprocess.Popen[Any]:
    """Starts `huiying worker` as a child process with this process's environment."""
    env = {**os.environ, "HUIYING_SCHEDULER": "on"}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env)


def stop_child(child: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """Asks the worker to finish its current job and waits for it (kills it after `timeout`)."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
