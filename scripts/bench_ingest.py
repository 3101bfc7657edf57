"""Ingest throughput: requests/s of durable `POST /api/v1/messages` against a bare FastAPI JSON echo
endpoint, both served by one uvicorn process on loopback, measured one after the other in one run.

The load comes from `wrk` when it is installed (`apt-get install wrk`; one thread, `--connections`
connections, a Lua script giving every request its own external_id): it is written in C and leaves the
CPU to the server. Without it a Python load generator is used and the output says so: it shares the CPU
with the server and caps the echo, so its ratio flatters ingest.

The service is measured with its background jobs placed three ways (`--jobs`): `off` (none), `inline`
(in the API process, as HUIYING_SERVE_WORKER=inline) and `worker` (in a `huiying worker` process beside
the API: what `huiying serve` does by default). Each job placement drains the messages it is sent.

    python -m scripts.bench_ingest [--seconds 8] [--connections 32] [--jobs off,inline,worker]
        [--database-url …] [--python-load]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from scripts.bench_server import ECHO_APP, ROOT, SERVICE_APP, bench_env, measure, prepare_db, summary
from scripts.loadgen import free_port, http_request, serve

TOKEN = "bench-admin-token"
CONTENT = (
    "您好，我想咨询一下城关镇和平路的路灯已经坏了两个星期了，晚上出行很不方便，请问什么时候能修好？谢谢！" * 2
)

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local counter = 0
local prefix = "%(prefix)s"
request = function()
  counter = counter + 1
  local body = string.format(%(template)s, prefix .. counter)
  return wrk.format(nil, "%(path)s", nil, body)
end
"""


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_run(
    port: int, path: str, template: str, *, prefix: str, seconds: float, connections: int
) -> dict[str, float]:
    """One wrk run (one thread); returns requests/s, p50/p99 ms and the non-2xx count."""
    script = Path(tempfile.mkdtemp(prefix="huiying-wrk-")) / "post.lua"
    script.write_text(
        WRK_SCRIPT % {"token": TOKEN, "prefix": prefix, "template": _lua_string(template), "path": path},
        encoding="utf-8",
    )
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": ms("50"),
        "p99": ms("99"),
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": errors.group(0) if errors else "",  # type: ignore[dict-item]
    }


def _drained(port: int, timeout: float = 180.0) -> None:
    """Waits until no stored message waits for the pipeline (the jobs have started and caught up)."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/messages?status=received&limit=1",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=30) as resp:
            if not json.loads(resp.read())["items"]:
                return
        time.sleep(0.5)
    raise RuntimeError("the background jobs did not drain the warm-up messages")


def _service_env(env: dict[str, str], jobs: str) -> dict[str, str]:
    return {**env, "HUIYING_SCHEDULER": "on" if jobs == "inline" else "off"}


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"], env={**env, "HUIYING_SCHEDULER": "on"}, cwd=ROOT
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--jobs", default="off,inline,worker", help="comma-separated: off, inline, worker")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--python-load", action="store_true", help="use the Python load generator even with wrk"
    )
    args = parser.parse_args()

    env = bench_env(args.database_url, HUIYING_ADMIN_TOKEN=TOKEN)
    account_id = prepare_db(env, platform="generic", name="压测", external_id="bench")
    placements = [j.strip() for j in args.jobs.split(",") if j.strip()]
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    generator = f"wrk -t1 -c{args.connections}" if use_wrk else "Python (fallback: shares the CPU)"
    print(f"load generator: {generator}")
    echo_body = json.dumps(
        {"account_id": account_id, "external_id": "%s", "content": CONTENT}, ensure_ascii=False
    )
    ingest_body = json.dumps(
        {
            "account_id": account_id,
            "external_id": "%s",
            "kind": "comment",
            "author": {"id": "u1", "name": "市民"},
            "content": CONTENT,
        },
        ensure_ascii=False,
    )

    if use_wrk:

        def run(
            app: str, path: str, body: str, app_env: dict[str, str], label: str, jobs: str | None
        ) -> float:
            port = free_port()
            with ExitStack() as stack:
                stack.enter_context(serve(app, port, app_env, cwd=str(ROOT)))
                if jobs == "worker":
                    child = _worker(env)
                    stack.callback(child.wait, 30)
                    stack.callback(child.terminate)
                wrk_run(port, path, body, prefix=f"warm-{label}-", seconds=1, connections=args.connections)
                if jobs in ("inline", "worker"):
                    _drained(port)  # the jobs are up (router and KB loaded) before the clock starts
                got = wrk_run(
                    port, path, body, prefix=f"{label}-", seconds=args.seconds, connections=args.connections
                )
            print(
                f"{label:<16} {got['rps']:8.0f} req/s  p50 {got['p50']:.2f} ms  p99 {got['p99']:.2f} ms  "
                f"non-2xx {got['non2xx']:.0f} {got['socket_errors']}"
            )
            return got["rps"]

        echo = run(ECHO_APP, "/echo", echo_body, env, "echo", None)
        for jobs in placements:
            rps = run(
                SERVICE_APP,
                "/api/v1/messages",
                ingest_body,
                _service_env(env, jobs),
                f"ingest jobs={jobs}",
                jobs,
            )
            print(f"    ratio ingest/echo with jobs={jobs}: {rps / echo:.2f}")
        return

    def request(path: str, body: str, headers: dict[str, str]) -> Callable[[int], bytes]:
        return lambda i: http_request("POST", path, (body % f"p{i}").encode(), headers)

    echo_req = request("/echo", echo_body, {"Content-Type": "application/json"})
    ingest_req = request(
        "/api/v1/messages",
        ingest_body,
        {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    load = {"seconds": args.seconds, "connections": args.connections}
    echo_result = measure(ECHO_APP, env, echo_req, warm_up=echo_req, **load)
    print(summary("echo   ", echo_result))
    for jobs in placements:
        with ExitStack() as stack:
            if jobs == "worker":
                child = _worker(env)
                stack.callback(child.wait, 30)
                stack.callback(child.terminate)
            result = measure(
                SERVICE_APP,
                _service_env(env, jobs),
                lambda i, j=jobs: ingest_req(hash((j, i)) & 0xFFFFFFF),
                warm_up=lambda i, j=jobs: ingest_req(hash(("warm", j, i)) & 0xFFFFFFF),
                **load,
            )
        print(summary(f"ingest jobs={jobs}", result, statuses=True))
        print(
            f"    ratio ingest/echo with jobs={jobs}: {result.rps / echo_result.rps:.2f} (Python load generator)"
        )


if __name__ == "__main__":
    main()
