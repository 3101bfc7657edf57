"""WeChat safe-mode webhook over HTTP: requests/s of `POST /api/v1/webhooks/wechat/{id}` (verify, decrypt,
parse, store durably, answer `success`) in one uvicorn process on loopback, beside a bare FastAPI echo
endpoint measured in the same run.

    python -m scripts.bench_webhook_http [--seconds 8] [--connections 16] [--database-url URL]

The pushes are built beforehand the way WeChat builds them (scripts/bench_webhook.py), each with its own
MsgId, so every request stores a new message.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from scripts.bench_webhook import AES_KEY, APP_ID, TOKEN, build_push
from scripts.loadgen import free_port, http_request, run_load, serve

ROOT = Path(__file__).resolve().parent.parent


def _prepare_db(env: dict[str, str]) -> int:
    """Migrates a fresh database and creates a unit and a safe-mode WeChat account; returns its id."""
    secrets = {"app_id": APP_ID, "app_secret": "unused", "token": TOKEN, "encoding_aes_key": AES_KEY}
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
        "    a = accounts.create(session=s, actor=SYSTEM, data=AccountCreate(platform=Platform.wechat,"
        f" name='压测公众号', external_id='gh_7f083739789a', unit_code='bench', secrets={secrets!r}))\n"
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
    parser.add_argument("--pushes", type=int, default=80_000, help="distinct pushes prepared beforehand")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="huiying-bench-"))
    env = {
        **os.environ,
        "HUIYING_DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.db'}",
        "HUIYING_SECRET_KEY": "bench",
        "HUIYING_SCHEDULER": "off",
    }
    account_id = _prepare_db(env)
    now = datetime.now(UTC)
    started = time.perf_counter()
    requests = []
    for n in range(args.pushes):
        query, body = build_push(n, now)
        requests.append(
            http_request(
                "POST",
                f"/api/v1/webhooks/wechat/{account_id}?{urlencode(query)}",
                body,
                {"Content-Type": "text/xml"},
            )
        )
    print(f"prepared {len(requests)} pushes in {time.perf_counter() - started:.1f} s")

    def echo_request(i: int) -> bytes:
        body = json.dumps({"account_id": account_id, "external_id": f"e{i}", "content": "x" * 200}).encode()
        return http_request("POST", "/echo", body, {"Content-Type": "application/json"})

    def push_request(i: int) -> bytes:
        return requests[i % len(requests)]

    port = free_port()
    with serve("scripts.echo_app:app", port, env, cwd=str(ROOT)):
        run_load(port, echo_request, seconds=1, connections=args.connections)  # warm-up
        echo = run_load(port, echo_request, seconds=args.seconds, connections=args.connections)
    port = free_port()
    offset = len(requests) // 2  # warm-up uses the second half, the measured run starts at the first
    with serve("app.asgi:app", port, env, cwd=str(ROOT)):
        run_load(port, lambda i: push_request(i + offset), seconds=1, connections=args.connections)
        webhook = run_load(port, push_request, seconds=args.seconds, connections=args.connections)

    print(
        f"echo    : {echo.rps:8.0f} req/s  p50 {echo.percentile(50) * 1000:.2f} ms  p99 {echo.percentile(99) * 1000:.2f} ms  errors {echo.errors}"
    )
    print(
        f"webhook : {webhook.rps:8.0f} req/s  p50 {webhook.percentile(50) * 1000:.2f} ms  p99 {webhook.percentile(99) * 1000:.2f} ms  errors {webhook.errors} statuses {webhook.statuses}"
    )
    if webhook.requests > len(requests) // 2:
        print("note: more requests than distinct pushes in the measured half: later ones were duplicates")
    print(f"ratio webhook/echo: {webhook.rps / echo.rps:.2f}")


if __name__ == "__main__":
    main()
