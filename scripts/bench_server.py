"""Server set-up shared by the HTTP benchmarks: a fresh migrated database with one unit and one account,
a uvicorn process per measured app, and the one-line summary of a run."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from scripts.loadgen import LoadResult, free_port, run_load, serve

ROOT = Path(__file__).resolve().parent.parent
ECHO_APP = "scripts.echo_app:app"
SERVICE_APP = "app.asgi:app"


def bench_env(database_url: str | None, **extra: str) -> dict[str, str]:
    """The servers' environment: the given database (default: a fresh SQLite file), no scheduler."""
    tmp = Path(tempfile.mkdtemp(prefix="huiying-bench-"))
    return {
        **os.environ,
        "HUIYING_DATABASE_URL": database_url or f"sqlite:///{tmp / 'bench.db'}",
        **extra,
        "HUIYING_SECRET_KEY": "bench",
        "HUIYING_SCHEDULER": "off",
    }


def prepare_db(
    env: dict[str, str],
    *,
    platform: str,
    name: str,
    external_id: str,
    secrets: dict[str, str] | None = None,
) -> int:
    """Migrates the database of `env` and creates a unit and an account; returns the account id."""
    extra = f", secrets={secrets!r}" if secrets is not None else ""
    code = (
        "from app.db import migrate, session_scope\n"
        "from app.auth import SYSTEM\n"
        "from app.units import service as units\n"
        "from app.accounts import service as accounts\n"
        "from app.units.models import UnitCreate\n"
        "from app.accounts.models import AccountCreate, Platform\n"
        "migrate()\n"
        "with session_scope() as s:\n"
        "    units.create(session=s, actor=SYSTEM, data=UnitCreate(code='bench', name='压测单位'))\n"
        "    a = accounts.create(session=s, actor=SYSTEM, data=AccountCreate(platform=Platform."
        f"{platform}, name={name!r}, external_id={external_id!r}, unit_code='bench'{extra}))\n"
        "    print(a.id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def measure(
    app_path: str,
    env: dict[str, str],
    make_request: Callable[[int], bytes],
    *,
    warm_up: Callable[[int], bytes],
    seconds: float,
    connections: int,
) -> LoadResult:
    """Serves `app_path` in its own uvicorn process, warms it up for a second, then measures."""
    port = free_port()
    with serve(app_path, port, env, cwd=str(ROOT)):
        run_load(port, warm_up, seconds=1, connections=connections)
        return run_load(port, make_request, seconds=seconds, connections=connections)


def summary(label: str, result: LoadResult, *, statuses: bool = False) -> str:
    """One line: requests/s, median and 99th-percentile latency, errors (and the status counts)."""
    line = (
        f"{label}: {result.rps:8.0f} req/s  p50 {result.percentile(50) * 1000:.2f} ms  "
        f"p99 {result.percentile(99) * 1000:.2f} ms  errors {result.errors}"
    )
    return f"{line} statuses {result.statuses}" if statuses else line
