"""Scale benchmark: list, queue, report, topic, board and metrics requests over N realistic messages.

Loads a scratch database (a fresh SQLite file, or a throw-away database on the PostgreSQL server of
`--database-url`): a seed of real board texts goes through the real ingest and pipeline (routing,
moderation, deadlines on the working-day calendar), then is copied in SQL, shifted back in time round by
round so that the N messages spread over two years; older copies are answered (a few late), closed, or
left unanswered and overdue, as in a live office; the copies get their seed's stored topic terms, and
the daily topic counts are made as the topic-alert job's first runs make them. Then each request is made `--requests` times in a
new process (as `--reuse` does; not the loading one) through the ASGI application (no network; the same app object the server runs) and its p50/p99
latency printed, with the process RSS (current and peak) after each. PostgreSQL gets `VACUUM ANALYZE`
after the load (what autovacuum does in service); SQLite is left as the service leaves it.

    python -m scripts.bench_scale [--messages 100000] [--seed 1000] [--requests 20]
        [--database-url postgresql://user@host:5432/postgres] [--keep] [--reuse URL]

`--keep` leaves the loaded database (or SQLite file) in place and prints the URL that `--reuse` takes to
measure it again without loading; drop a kept PostgreSQL database yourself when done.

Figures depend on the machine and what else runs on it: quote them with the command and that state.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-scale-admin-token"
SPAN_DAYS = 730
RECENT_DAYS = 14  # copies younger than this stay as the pipeline left them (open, on track or due soon)
PLATFORMS = ("wechat", "weibo", "douyin", "generic")


def _rss() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB (Linux /proc)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _shift(dialect: str, column: str, seconds: int, extra_hours: str | None = None) -> str:
    """SQL for `column` moved by `seconds` (and `extra_hours`, an SQL integer expression)."""
    if dialect == "postgresql":
        expr = f"{column} + make_interval(secs => {seconds})"
        return f"{expr} + make_interval(hours => {extra_hours})" if extra_hours else expr
    mods = f"'{seconds} seconds'" + (f", '+' || ({extra_hours}) || ' hours'" if extra_hours else "")
    # Stored as SQLAlchemy writes it: 'YYYY-MM-DD HH:MM:SS.ffffff' (%f gives milliseconds).
    return f"strftime('%Y-%m-%d %H:%M:%f', {column}, {mods}) || '000'"


def seed(n_seed: int, rng: random.Random) -> dict[str, Any]:
    """Units, accounts and `n_seed` messages through the real ingest and pipeline; returns names used later."""
    from app.accounts import service as accounts
    from app.accounts.models import AccountCreate, Platform
    from app.auth import SYSTEM
    from app.db import session_scope
    from app.intake.pipeline import Pipeline
    from app.intake.steps import default_steps
    from app.messages import service as message_service
    from app.messages.models import Author, MessageCreate
    from app.units import service as units
    from app.units.models import UnitCreate
    from scripts.bench_pipeline import _load, messages

    dev, board = _load()
    texts = messages(n_seed, dev, board, rng)
    now = datetime.now(UTC)
    with session_scope() as session:
        units.create(session=session, actor=SYSTEM, data=UnitCreate(code="zfb", name="县政府办公室"))
        for u in dev["units"]:
            data = UnitCreate(code=u["code"], name=u["name"], keywords=u["keywords"], supervisor_code="zfb")
            units.create(session=session, actor=SYSTEM, data=data)
        owners = ["zfb", *(u["code"] for u in dev["units"])][:8]
        made = []
        for i, platform in enumerate(PLATFORMS * 2):
            account = accounts.create(
                session=session,
                actor=SYSTEM,
                data=AccountCreate(
                    platform=Platform(platform),
                    name=f"账号{i}",
                    external_id=f"bench-{i}",
                    unit_code=owners[i % len(owners)],
                ),
            )
            made.append(account)
        for i, text in enumerate(texts):
            account = made[i % len(made)]
            assert account.id is not None
            message_service.ingest(
                session=session,
                actor=SYSTEM,
                account=account,
                data=MessageCreate(
                    account_id=account.id,
                    external_id=f"s{i}",
                    content=text,
                    author=Author(id=f"a{i % 997}"),
                    received_at=now - timedelta(seconds=rng.randrange(RECENT_DAYS * 86400)),
                ),
            )
    pipeline = Pipeline(default_steps())
    pipeline.drain(max_batches=10_000)
    return {"units": [u["code"] for u in dev["units"]]}


def copy_in_sql(total: int, n_seed: int) -> None:
    """Copies the seed until `total` messages exist, each round shifted further back (up to two years)."""
    from sqlalchemy import text

    from app.db import get_engine
    from app.messages.models import Message

    engine = get_engine()
    dialect = engine.dialect.name
    columns = [c.name for c in Message.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
    times = {"received_at", "created_at", "updated_at", "due_at", "due_soon_at", "platform_window_closes_at"}
    rounds = max(0, -(-(total - n_seed) // n_seed))
    for r in range(1, rounds + 1):
        shift = -int(r * SPAN_DAYS * 86400 / rounds)
        old = -shift > RECENT_DAYS * 86400
        reply_hours = "(id % 13 + 1) * 16"
        exprs = []
        for name in columns:
            if name in times:
                expr = _shift(dialect, name, shift)
            elif name == "external_id":
                expr = f"external_id || '-r{r}'"
            elif old and name == "status":
                expr = "CASE WHEN id % 20 = 0 THEN 'closed' WHEN id % 20 = 1 THEN 'open' ELSE 'published' END"
            elif old and name == "first_replied_at":
                expr = f"CASE WHEN id % 20 >= 2 THEN {_shift(dialect, 'received_at', shift, reply_hours)} END"
            elif old and name == "sla_state":
                expr = f"CASE WHEN id % 20 = 1 THEN 'overdue' WHEN {reply_hours} <= 120 THEN 'met' ELSE 'missed' END"
            elif old and name == "next_check_at":
                expr = "NULL"
            else:
                expr = name
            exprs.append(expr)
        limit = min(n_seed, total - n_seed * r)
        sql = (
            f"INSERT INTO messages ({', '.join(columns)}) SELECT {', '.join(exprs)} FROM messages "
            f"WHERE id <= {n_seed} ORDER BY id LIMIT {limit}"
        )
        with engine.begin() as conn:
            conn.execute(text(sql))
    # The copies' first replies were written in SQL: store their reply times as migration 0014 does.
    from app.db import session_scope
    from app.sla.service import fill_reply_times

    with session_scope() as session:
        fill_reply_times(session=session)
    copy_terms(rounds, n_seed)
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def copy_terms(rounds: int, n_seed: int) -> None:
    """Stores the seed's topic terms (the topic-alert job's term cache) and copies them to every copy in
    SQL, so that topic requests read stored terms as they do in service once the job has run."""
    from sqlalchemy import select, text

    from app.db import get_engine, session_scope
    from app.messages.models import Message
    from app.reports.models import MessageTerms
    from app.reports.topics import TERMS_VERSION, message_terms

    with session_scope() as session:
        seeds = session.execute(
            select(Message.id, Message.content).where(Message.id <= n_seed)  # type: ignore[arg-type,operator]
        ).all()
        for message_id, content in seeds:
            session.add(
                MessageTerms(message_id=message_id, version=TERMS_VERSION, terms=message_terms(content))
            )
    for r in range(1, rounds + 1):
        with get_engine().begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO message_terms (message_id, version, terms) "
                    "SELECT m.id, t.version, t.terms FROM messages s "
                    "JOIN message_terms t ON t.message_id = s.id "
                    "JOIN messages m ON m.account_id = s.account_id AND m.external_id = s.external_id || :suffix "
                    f"WHERE s.id <= {n_seed}"
                ),
                {"suffix": f"-r{r}"},
            )


def count_topic_days() -> str:
    """What the topic-alert job's first runs do: the daily per-term counts of every day before today
    (and, where the version has them, the sums of every whole week and month)."""
    from app.config import get_settings
    from app.db import session_scope
    from app.reports import topics

    if not hasattr(topics, "count_days"):
        return "no daily topic counts in this version"
    t0 = time.perf_counter()
    with session_scope() as session:
        days = topics.count_days(session=session, now=datetime.now(UTC), tz=get_settings().tz, max_days=None)
    spans = " and their week and month sums" if hasattr(topics, "MAX_SPANS_PER_RUN") else ""
    return f"daily topic counts of {days} days{spans} in {time.perf_counter() - t0:.1f} s"


def build_rollups() -> str:
    """What the report roll-up job's first runs do: every whole day and month before today."""
    from app.config import get_settings
    from app.db import session_scope

    try:
        from app.reports import rollups
    except ImportError:
        return "no report roll-ups in this version"
    t0 = time.perf_counter()
    with session_scope() as session:
        built = rollups.refresh(session=session, now=datetime.now(UTC), tz=get_settings().tz, max_spans=None)
    return f"report roll-ups of {built} days and months in {time.perf_counter() - t0:.1f} s"


def loaded_units() -> list[str]:
    """The codes of the units a kept database's seed made (all but the supervising office)."""
    from sqlalchemy import select

    from app.db import session_scope
    from app.identity import Unit

    with session_scope() as session:
        return [
            code for code in session.execute(select(Unit.code).order_by(Unit.id)).scalars() if code != "zfb"
        ]


def requests_to_measure(units: list[str]) -> list[tuple[str, str]]:
    """(label, path) of every list, queue, report, topic, board and metrics request measured."""
    from sqlalchemy import func, select

    from app.db import session_scope
    from app.messages.models import Message
    from app.messages.service import encode_cursor

    with session_scope() as session:
        count = session.execute(select(func.count()).select_from(Message)).scalar_one()
        mid_id = session.execute(
            select(Message.id).order_by(Message.id).offset(count // 2).limit(1)
        ).scalar_one()
        dated = select(Message.due_at, Message.id).where(Message.due_at.is_not(None))  # type: ignore[union-attr]
        n_dated = session.execute(select(func.count()).select_from(dated.subquery())).scalar_one()
        due, due_id = session.execute(
            dated.order_by(Message.due_at, Message.id).offset(n_dated // 2).limit(1)
        ).one()
    today = date.today()
    month, year = today - timedelta(days=30), today - timedelta(days=365)
    unit = units[0]
    deep = encode_cursor([mid_id])
    deep_due = encode_cursor([due, due_id])
    m = "/api/v1/messages"
    r = "/api/v1/reports"
    return [
        ("messages first page", f"{m}?limit=50"),
        ("messages status=open", f"{m}?limit=50&status=open"),
        ("messages unit filter", f"{m}?limit=50&unit_code={unit}"),
        ("messages deep cursor", f"{m}?limit=50&cursor={deep}"),
        ("messages sort=due_at first", f"{m}?limit=50&sort=due_at"),
        ("messages sort=due_at deep", f"{m}?limit=50&sort=due_at&cursor={deep_due}"),
        ("messages sort=due_at unit", f"{m}?limit=50&sort=due_at&unit_code={unit}"),
        ("queue (admin)", "/api/v1/queue?limit=50"),
        ("reports/units month", f"{r}/units?from={month}&to={today}"),
        ("reports/units year", f"{r}/units?from={year}&to={today}"),
        ("reports/accounts year", f"{r}/accounts?from={year}&to={today}"),
        ("reports/platforms year", f"{r}/platforms?from={year}&to={today}"),
        ("reports/periods year", f"{r}/periods?from={year}&to={today}&period=month"),
        ("reports/units all time", f"{r}/units"),
        ("reports/accounts year, unit", f"{r}/accounts?from={year}&to={today}&unit_code={unit}"),
        ("reports/overdue", f"{r}/overdue"),
        ("reports/topics 30 days", f"{r}/topics?window_hours=720&baseline_windows=3"),
        ("reports/topics 24 hours", f"{r}/topics"),
        ("reports/topics 30 days, unit", f"{r}/topics?window_hours=720&baseline_windows=3&unit_code={unit}"),
        ("board page", "/board"),
        # What the board asks for with no range (the last 30 days; a 26-week trend; topics over 7 days).
        ("board units 30 days", f"{r}/units?from={today - timedelta(days=29)}&to={today}"),
        ("board overdue", f"{r}/overdue"),
        ("board periods 26 weeks", f"{r}/periods?period=week&from={today - timedelta(weeks=25)}&to={today}"),
        ("board topics 7 days", f"{r}/topics?window_hours=168&baseline_windows=4"),
        ("metrics", "/metrics"),
    ]


def measure(client: Any, path: str, repeat: int) -> tuple[list[float], float, int]:
    """Latencies (ms) of `repeat` requests after one warm-up, the warm-up's own time, its status."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    t0 = time.perf_counter()
    first = client.get(path, headers=headers)
    cold = (time.perf_counter() - t0) * 1000
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        client.get(path, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
    return times, cold, first.status_code


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1_000, help="messages through the real pipeline")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per endpoint")
    parser.add_argument("--database-url", default=None, help="postgresql://… (a scratch database is made)")
    parser.add_argument(
        "--only", default=None, help="comma-separated words: measure only requests whose label holds one"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the loaded database and print its URL (to measure it again with --reuse)",
    )
    parser.add_argument(
        "--reuse", default=None, metavar="URL", help="measure a database an earlier --keep run loaded"
    )
    args = parser.parse_args()

    from scripts.scratch_db import scratch_database

    tmp = Path(tempfile.mkdtemp(prefix="huiying-scale-"))
    url = args.database_url
    scratch = scratch_database(url) if not args.reuse and url and url.startswith("postgresql") else None
    os.environ["HUIYING_DATABASE_URL"] = args.reuse or (
        scratch[0] if scratch else url or f"sqlite:///{tmp / 'scale.db'}"
    )
    os.environ.setdefault("HUIYING_SECRET_KEY", "bench-secret")
    os.environ["HUIYING_ADMIN_TOKEN"] = TOKEN
    os.environ["HUIYING_SCHEDULER"] = "off"
    try:
        from fastapi.testclient import TestClient

        from app.config import get_settings
        from app.db import get_engine, make_engine, migrate, set_engine
        from app.main import create_app

        get_settings.cache_clear()
        set_engine(make_engine(get_settings()))
        migrate(get_engine())
        dialect = get_engine().dialect.name
        if args.reuse:
            units = loaded_units()
        else:
            rng = random.Random(7)
            t0 = time.perf_counter()
            units = seed(args.seed, rng)["units"]
            t1 = time.perf_counter()
            copy_in_sql(args.messages, args.seed)
            t2 = time.perf_counter()
            print(
                f"{dialect}: {args.messages:,} messages (seed {args.seed:,} through the pipeline in "
                f"{t1 - t0:.1f} s, copies in SQL in {t2 - t1:.1f} s); {count_topic_days()}; {build_rollups()}"
            )
        if args.keep:
            print(f"kept: --reuse {os.environ['HUIYING_DATABASE_URL']}", flush=True)
        if dialect == "postgresql" and not args.reuse:
            # What autovacuum does soon after: the counts just built, and the 1M changes the roll-up job
            # read and deleted, leave dead rows and no statistics. Measured after it, not while it runs.
            from sqlalchemy import text

            with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        if not args.reuse:
            # Measured by a process of its own, as a server would be: not one whose heap holds the load's
            # objects (a larger heap makes every full garbage collection during a request slower).
            set_engine(None)
            command = [
                sys.executable,
                "-m",
                "scripts.bench_scale",
                "--reuse",
                os.environ["HUIYING_DATABASE_URL"],
            ]
            command += ["--requests", str(args.requests), *(["--only", args.only] if args.only else [])]
            subprocess.run(command, check=True, cwd=ROOT)
            return
        todo = requests_to_measure(units)
        with TestClient(create_app(start_scheduler=False)) as client:
            print(f"{'request':<30} {'status':>6} {'first':>9} {'p50':>9} {'p99':>9}   RSS now/peak MB")
            for label, path in todo:
                if args.only and not any(word in label for word in args.only.split(",")):
                    continue
                times, cold, status = measure(client, path, args.requests)
                rss, peak = _rss()
                print(
                    f"{label:<30} {status:>6} {cold:>8.1f}ms {statistics.median(times):>8.1f}ms "
                    f"{_p(times, 0.99):>8.1f}ms   {rss:.0f}/{peak:.0f}",
                    flush=True,
                )
        set_engine(None)
    finally:
        if scratch and not args.keep:
            scratch[1]()


if __name__ == "__main__":
    main()
