"""Ingest throughput: requests/s of durable `POST /api/v1/messages` against a bare FastAPI JSON echo
endpoint, both served by one uvicorn process on loopback, measured one after the other in one run.

    python -m scripts.bench_ingest [--seconds 8] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.loadgen import free_port, http_request, run_load, serve

ROOT = Path(__file__).resolve().parent.parent


def _prepare_db(env: dict[str, str]) -> int:
    """Migrates a fresh database and creates a unit and an account; returns the account id."""
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
        "    a = accounts.create(session=s, actor=SYSTEM, data=AccountCreate(platform=Platform.generic, name='压测', external_id='bench', unit_code='bench'))\n"
        "    print(a.id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="huiying-bench-"))
    token = "bench-admin-token"
    env = {
        **os.environ,
        "HUIYING_DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.db'}",
        "HUIYING_ADMIN_TOKEN": token,
        "HUIYING_SECRET_KEY": "bench",
        "HUIYING_SCHEDULER": "off",
    }
    account_id = _prepare_db(env)
    content = (
        "您好，我想咨询一下城关镇和平路的路灯已经坏了两个星期了，晚上出行很不方便，请问什么时候能修好？谢谢！"
        * 2
    )

    def echo_request(i: int) -> bytes:
        body = json.dumps({"account_id": account_id, "external_id": f"e{i}", "content": content}).encode()
        return http_request("POST", "/echo", body, {"Content-Type": "application/json"})

    def ingest_request(i: int) -> bytes:
        body = json.dumps(
            {
                "account_id": account_id,
                "external_id": f"m{i}",
                "kind": "comment",
                "author": {"id": f"u{i}", "name": "市民"},
                "content": content,
            },
            ensure_ascii=False,
        ).encode()
        return http_request(
            "POST",
            "/api/v1/messages",
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )

    port = free_port()
    with serve("scripts.echo_app:app", port, env, cwd=str(ROOT)):
        run_load(port, echo_request, seconds=1, connections=args.connections)  # warm-up
        echo = run_load(port, echo_request, seconds=args.seconds, connections=args.connections)
    port = free_port()
    with serve("app.asgi:app", port, env, cwd=str(ROOT)):
        run_load(port, lambda i: ingest_request(i + 10_000_000), seconds=1, connections=args.connections)
        ingest = run_load(port, ingest_request, seconds=args.seconds, connections=args.connections)

    print(
        f"echo   : {echo.rps:8.0f} req/s  p50 {echo.percentile(50) * 1000:.2f} ms  p99 {echo.percentile(99) * 1000:.2f} ms  errors {echo.errors}"
    )
    print(
        f"ingest : {ingest.rps:8.0f} req/s  p50 {ingest.percentile(50) * 1000:.2f} ms  p99 {ingest.percentile(99) * 1000:.2f} ms  errors {ingest.errors} statuses {ingest.statuses}"
    )
    print(f"ratio ingest/echo: {ingest.rps / echo.rps:.2f}  (DESIGN asks >= 0.5)")


if __name__ == "__main__":
    main()
