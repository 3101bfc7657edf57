"""KB suggest benchmark with 10,000 entries: index build from the database, suggest latency in-process and
over HTTP (one uvicorn process on loopback), and cold start with that KB.

Entries are generated as scripts/bench_kb_engine.py does (recombined development questions and real
message-board text), stored in a fresh SQLite database through the knowledge service. DESIGN's budget:
suggest p99 over HTTP under 10 ms.

    python -m scripts.bench_kb [--entries 10000] [--seconds 10] [--connections 1 4]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench_kb_engine import synthetic_entries, synthetic_queries  # noqa: E402
from scripts.loadgen import free_port, http_request, run_load, serve  # noqa: E402

TOKEN = "bench-admin-token"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}


def _pct(values: list[float], p: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(p * len(data)))]


def _store(count: int, seed: int) -> None:
    """Units u00…u39 and `count` published entries, one transaction."""
    from app import clock
    from app.auth import SYSTEM
    from app.db import migrate, session_scope
    from app.knowledge import service
    from app.units import service as units
    from app.units.models import UnitCreate

    migrate()
    # Some recombinations repeat a question of the same unit (one entry): draw extra, keep `count`.
    entries = synthetic_entries(count + count // 5, random.Random(seed))
    with session_scope() as session:
        for code in sorted({e.unit_code for e in entries if e.unit_code}):
            units.create(session=session, actor=SYSTEM, data=UnitCreate(code=code, name=f"单位{code}"))
    now = clock.now()
    seen: set[tuple[str | None, str]] = set()
    with session_scope() as session:
        for e in entries:
            key = (e.unit_code, service.question_key(e.question))
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.add(key)
            fields = service.validated(
                {
                    "question": e.question[:500],
                    "answer": e.answer[:5000] or "见相关规定。",
                    "unit_code": e.unit_code,
                    "alt_questions": [" ".join(a.split())[:500] for a in e.alt_questions if "|" not in a],
                }
            )
            service.save(
                session=session, actor=SYSTEM, entry=None, fields=fields, status=None, note=None, now=now
            )
        service.commit(session=session, now=now)


def _in_process(queries: dict[int, list[str]]) -> None:
    from app.knowledge.index import KnowledgeIndex
    from kb.segment import warm_up

    warm_up()
    index = KnowledgeIndex()
    start, cpu = time.perf_counter(), time.process_time()
    snapshot = index.refresh()
    print(
        f"index build from the DB  {time.perf_counter() - start:8.3f} s  (cpu {time.process_time() - cpu:.3f} s,"
        f" {len(snapshot.entries)} entries)"
    )
    start = time.perf_counter()
    index.refresh()
    print(f"sync, nothing changed    {(time.perf_counter() - start) * 1000:8.3f} ms")
    for length, texts in queries.items():
        for text in texts[:50]:
            snapshot.search(text)
        times, cpu_times = [], []
        for text in texts:
            t0, c0 = time.perf_counter(), time.thread_time()
            snapshot.search(text, limit=5)
            cpu_times.append((time.thread_time() - c0) * 1000)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"in-process {length:>3}-char    p50 {statistics.median(times):.3f} ms  p99 {_pct(times, 0.99):.3f} ms"
            f"  (cpu p50 {statistics.median(cpu_times):.3f} p99 {_pct(cpu_times, 0.99):.3f} ms; {len(texts)} queries)"
        )


def _wait(port: int, path: str, ok: str, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            with urllib.request.urlopen(request, timeout=1) as resp:
                if ok in resp.read().decode():
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"{path} not ready after {timeout} s")


def _http(env: dict[str, str], queries: dict[int, list[str]], seconds: float, connections: list[int]) -> None:
    port = free_port()
    start = time.perf_counter()
    with serve("app.asgi:app", port, env, cwd=str(ROOT)):
        ready = time.perf_counter() - start
        loaded = _wait(port, "/api/v1/kb/index", '"ready":true')
        print(
            f"HTTP: socket open after  {ready:8.3f} s; index loaded {loaded:.3f} s later (in the background)"
        )
        for length, texts in queries.items():
            bodies = [json.dumps({"text": t, "limit": 5}, ensure_ascii=False).encode() for t in texts]

            def request(i: int, bodies: list[bytes] = bodies) -> bytes:
                return http_request("POST", "/api/v1/kb/suggest", bodies[i % len(bodies)], HEADERS)

            run_load(port, request, seconds=1.0, connections=max(connections))  # warm-up
            for n in connections:
                result = run_load(port, request, seconds=seconds, connections=n)
                print(
                    f"HTTP {length:>3}-char, {n} conn   p50 {result.percentile(50) * 1000:.2f} ms"
                    f"  p99 {result.percentile(99) * 1000:.2f} ms  {result.rps:7.0f} req/s"
                    f"  errors {result.errors}  ({result.requests} requests)"
                )


def _cold_start(env: dict[str, str]) -> None:
    """Seconds from launching `huiying serve` to /readyz 200 with this KB (budget < 3 s)."""
    import subprocess

    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(port, "/readyz", "ready")
        ready = time.perf_counter() - start
        _wait(port, "/api/v1/kb/index", '"ready":true')
        print(
            f"cold start to /readyz   {ready:8.3f} s; KB index ready after {time.perf_counter() - start:.3f} s"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="huiying-bench-kb-"))
    env = {
        **os.environ,
        "HUIYING_DATABASE_URL": f"sqlite:///{tmp / 'kb.db'}",
        "HUIYING_ADMIN_TOKEN": TOKEN,
        "HUIYING_SECRET_KEY": "bench",
        "HUIYING_SCHEDULER": "off",
    }
    os.environ.update(env)
    start = time.perf_counter()
    _store(args.entries, args.seed)
    print(f"stored {args.entries} entries  {time.perf_counter() - start:8.3f} s (service, one transaction)")
    rng = random.Random(args.seed + 1)
    queries = {length: synthetic_queries(args.queries, rng, length) for length in (100, 20)}
    _in_process(queries)
    _http(env, queries, args.seconds, args.connections)
    _cold_start(env)


if __name__ == "__main__":
    main()
