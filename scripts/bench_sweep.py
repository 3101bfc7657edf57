"""SLA sweep cost: 1,000,000 messages with nothing due (budget: a sweep under 20 ms), then 10,000 due.

    python -m scripts.bench_sweep                 # a temporary SQLite file
    python -m scripts.bench_sweep --pg            # a temporary database on postgresql://postgres@127.0.0.1:5432
    python -m scripts.bench_sweep --pg postgresql://user@host:5432/postgres --messages 200000

Rows are created in bulk (DB-API executemany on SQLite, COPY on PostgreSQL), not one by one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
# A Tuesday morning, Beijing time; every deadline is computed relative to it.
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
CHUNK = 50_000


def _configure(args: argparse.Namespace) -> tuple[str, Callable[[], None]]:
    """Points the app at a fresh database; returns its URL and a clean-up function."""
    if args.pg:
        from scripts.scratch_db import scratch_database

        return scratch_database(args.pg)
    folder = Path(tempfile.mkdtemp(prefix="huiying-bench-sweep-"))

    def remove() -> None:
        for path in folder.glob("*"):
            path.unlink()
        folder.rmdir()

    return f"sqlite:///{folder / 'bench.db'}", remove


def _rows(account_id: int, unit: str, count: int, start_id: int) -> Iterator[dict[str, Any]]:
    """Open messages received over the last days; none is due before NOW + 1 hour."""
    for i in range(start_id, start_id + count):
        received = NOW - timedelta(minutes=i % 2880)
        due = NOW + timedelta(days=3, minutes=i % 4000)
        check = NOW + timedelta(hours=1, seconds=i % 200_000)
        yield {
            "id": i,
            "account_id": account_id,
            "platform": "generic",
            "external_id": f"bench-{i}",
            "kind": "comment",
            "author_id": f"u{i % 50_000}",
            "author_name": "市民",
            "content": "小区门口路灯坏了很久，晚上出行不便，请尽快安排维修。",
            "thread_ref": "{}",
            "received_at": received,
            "created_at": received,
            "updated_at": received,
            "status": "open",
            "unit_code": unit,
            "out_of_scope": False,
            "transfer_count": 0,
            "flags": "[]",
            "suggestions": "[]",
            "working_days": 5,
            "due_at": due,
            "provisional": False,
            "sla_state": "on_track",
            "due_soon_at": due - timedelta(hours=16),
            "next_check_at": check,
            "escalation_level": 0,
        }


def _bulk_insert(engine: Any, account_id: int, unit: str, total: int) -> float:
    """Inserts `total` messages; returns the seconds it took."""
    from sqlalchemy import inspect

    from app.messages.models import Message

    table = Message.__table__  # type: ignore[attr-defined]
    present = {c["name"] for c in inspect(engine).get_columns("messages")}
    columns = [c for c in table.columns if c.name in present]
    dialect = engine.dialect
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        if dialect.name == "postgresql":
            conn = raw.driver_connection
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY messages ({', '.join(c.name for c in columns)}) FROM STDIN") as copy,
            ):
                for row in _rows(account_id, unit, total, 1):
                    copy.write_row([row.get(c.name, _default(c)) for c in columns])
            conn.commit()
        else:
            # The same text the SQLAlchemy types would bind (UTC, ISO with microseconds).
            processors = [c.type._cached_bind_processor(dialect) for c in columns]
            sql = f"INSERT INTO messages ({', '.join(c.name for c in columns)}) VALUES ({', '.join('?' * len(columns))})"
            cur = raw.cursor()
            cur.execute("BEGIN")
            for first in range(1, total + 1, CHUNK):
                batch = []
                for row in _rows(account_id, unit, min(CHUNK, total + 1 - first), first):
                    values = []
                    for column, process in zip(columns, processors, strict=True):
                        value = row.get(column.name, _default(column))
                        if process is not None and value is not None and not isinstance(value, str):
                            value = process(value)
                        values.append(value)
                    batch.append(values)
                cur.executemany(sql, batch)
            cur.execute("COMMIT")
            cur.close()
    finally:
        raw.close()
    return time.perf_counter() - started


def _default(column: Any) -> Any:
    if column.default is not None and getattr(column.default, "is_scalar", False):
        return column.default.arg
    return None


def _time(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def prepare(args: argparse.Namespace) -> tuple[Callable[[], None], int]:
    """Points the app at a fresh, migrated database (`args.pg` or a temporary SQLite file) with one unit
    "bench" and one account; returns the clean-up function and the account id."""
    url, cleanup = _configure(args)
    os.environ["HUIYING_DATABASE_URL"] = url
    os.environ.setdefault("HUIYING_SECRET_KEY", "bench")
    os.environ["HUIYING_SCHEDULER"] = "off"
    from app.accounts.models import Account
    from app.config import get_settings
    from app.db import get_engine, make_engine, migrate, session_scope, set_engine
    from app.units.models import Unit

    get_settings.cache_clear()
    set_engine(make_engine(get_settings()))
    try:
        migrate(get_engine())
        with session_scope() as session:
            session.add(Unit(code="bench", name="压测单位", keywords=[], created_at=NOW, updated_at=NOW))
            session.flush()
            account = Account(
                platform="generic",
                name="压测",
                external_id="bench",
                unit_code="bench",
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(account)
            session.flush()
            assert account.id is not None
            return cleanup, account.id
    except BaseException:
        set_engine(None)
        cleanup()
        raise


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", nargs="?", const=DEFAULT_PG, default=None, help="PostgreSQL server URL")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    from sqlalchemy import text

    from app.db import get_engine, set_engine
    from app.sla.sweep import sweep

    cleanup, account_id = prepare(args)
    engine = get_engine()
    try:
        print(f"database: {engine.dialect.name}; creating {args.messages:,} messages …", flush=True)
        seconds = _bulk_insert(engine, account_id, "bench", args.messages)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT setval('messages_id_seq', (SELECT max(id) FROM messages))"))
                conn.execute(text("ANALYZE messages"))
            else:
                conn.execute(text("ANALYZE"))
            count = conn.execute(text("SELECT count(*) FROM messages")).scalar()
        print(f"created {count:,} messages in {seconds:.1f} s")
        with engine.connect() as conn:
            explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
            plan = conn.execute(
                text(
                    f"{explain}SELECT id FROM messages WHERE next_check_at <= :now ORDER BY next_check_at LIMIT 1000"
                ),
                {"now": NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW},
            ).all()
        print("plan:", " | ".join(str(r[-1]) for r in plan))

        sweep(now=NOW)  # warm-up: connection pool, imports
        idle = _time(lambda: sweep(now=NOW), args.runs)
        print(
            f"sweep, nothing due ({count:,} rows): median {statistics.median(idle):.2f} ms, "
            f"p95 {sorted(idle)[int(0.95 * (len(idle) - 1))]:.2f} ms, max {max(idle):.2f} ms (budget 20 ms)"
        )

        due = min(args.due, args.messages)
        with engine.begin() as conn:
            # 10,000 messages whose due-soon time has come: each turns due_soon and records its notice.
            past = NOW - timedelta(minutes=1)
            params = {
                "past": past.replace(tzinfo=None) if engine.dialect.name == "sqlite" else past,
                "n": due,
            }
            conn.execute(
                text("UPDATE messages SET next_check_at = :past, due_soon_at = :past WHERE id <= :n"), params
            )
        started = time.perf_counter()
        result = sweep(now=NOW)
        busy = (time.perf_counter() - started) * 1000
        print(
            f"sweep, {due:,} due: {busy:.0f} ms ({result.checked:,} checked, {result.due_soon:,} turned due_soon, "
            f"{result.steps:,} notices recorded; {busy / max(result.checked, 1) * 1000:.0f} µs per message)"
        )
        after = _time(lambda: sweep(now=NOW), args.runs)
        print(f"sweep, nothing due again: median {statistics.median(after):.2f} ms")
        ok = statistics.median(idle) < 20
        print("budget met" if ok else "BUDGET MISSED: nothing-due sweep is not under 20 ms")
        return 0 if ok else 1
    finally:
        set_engine(None)
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
