"""Ingest throughput: requests/s of durable `POST /api/v1/messages` against a bare FastAPI JSON echo
endpoint, both served by one uvicorn process on loopback, measured one after the other in one run.

    python -m scripts.bench_ingest [--seconds 8] [--connections 16]
"""

from __future__ import annotations

import argparse
import json

from scripts.bench_server import ECHO_APP, SERVICE_APP, bench_env, measure, prepare_db, summary
from scripts.loadgen import http_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    token = "bench-admin-token"
    env = bench_env(args.database_url, HUIYING_ADMIN_TOKEN=token)
    account_id = prepare_db(env, platform="generic", name="压测", external_id="bench")
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

    load = {"seconds": args.seconds, "connections": args.connections}
    echo = measure(ECHO_APP, env, echo_request, warm_up=echo_request, **load)
    ingest = measure(
        SERVICE_APP, env, ingest_request, warm_up=lambda i: ingest_request(i + 10_000_000), **load
    )

    print(summary("echo   ", echo))
    print(summary("ingest ", ingest, statuses=True))
    print(f"ratio ingest/echo: {ingest.rps / echo.rps:.2f}  (DESIGN asks >= 0.5)")


if __name__ == "__main__":
    main()
