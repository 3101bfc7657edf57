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
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from scripts.bench_server import ECHO_APP, SERVICE_APP, bench_env, measure, prepare_db, summary
from scripts.bench_webhook import AES_KEY, APP_ID, TOKEN, build_push
from scripts.loadgen import http_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pushes", type=int, default=80_000, help="distinct pushes prepared beforehand")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    env = bench_env(args.database_url)
    # A safe-mode WeChat account.
    secrets = {"app_id": APP_ID, "app_secret": "unused", "token": TOKEN, "encoding_aes_key": AES_KEY}
    account_id = prepare_db(
        env, platform="wechat", name="压测公众号", external_id="gh_7f083739789a", secrets=secrets
    )
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

    offset = len(requests) // 2  # warm-up uses the second half, the measured run starts at the first
    load = {"seconds": args.seconds, "connections": args.connections}
    echo = measure(ECHO_APP, env, echo_request, warm_up=echo_request, **load)
    webhook = measure(SERVICE_APP, env, push_request, warm_up=lambda i: push_request(i + offset), **load)

    print(summary("echo    ", echo))
    print(summary("webhook ", webhook, statuses=True))
    if webhook.requests > len(requests) // 2:
        print("note: more requests than distinct pushes in the measured half: later ones were duplicates")
    print(f"ratio webhook/echo: {webhook.rps / echo.rps:.2f}")


if __name__ == "__main__":
    main()
