"""Database: the one engine and session factory, SQLite pragmas, column types, and the migration check."""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Connection, DateTime, Engine, event, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from app.config import Settings, get_settings
from app.errors import Unavailable

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back timezone-aware UTC datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON that is JSONB on PostgreSQL would tie queries to one dialect; plain JSON works on both.
JSONType = JSON

_engine: Engine | None = None


def json_dumps(value: Any) -> str:
    # JSON columns are written on every pipeline step, so their encoder is on the hot path: orjson is
    # compiled code (the standard library's is not, for this shape of value), and it keeps Chinese text
    # readable in the database (no escaped code points).
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def json_loads(text: str | bytes) -> Any:
    # Reports read many JSON values a request (topic terms of thousands of messages): orjson parses each
    # several times faster. Values written before it was the encoder may hold escaped lone surrogates,
    # which it refuses: those go to the standard library, which reads them.
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _json_default(value: Any) -> Any:
    """What the standard library would have written too: subclasses of float and int (numpy's float64)."""
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": settings.sqlite_busy_timeout_ms / 1000},
            # As many pooled connections as worker threads, so that none is opened per request.
            pool_size=40,
            max_overflow=10,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
        )
        _configure_sqlite(engine, settings)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        json_serializer=json_dumps,
        json_deserializer=json_loads,
    )


# Statements that only read: they may run in a plain (deferred) read transaction. A SAVEPOINT counts
# as a write (it guards writes, and a read snapshot holding one could not be left for a write one).
_READ_VERBS = frozenset({"SELECT", "PRAGMA", "EXPLAIN", "VALUES"})
_WRITE_IN_CTE = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _is_write(statement: str, context: Any) -> bool:
    """True if `statement` writes or (on PostgreSQL) would lock rows (`SELECT ... FOR UPDATE`, which
    SQLite's compiler drops: the lock it stands for is the write gate here)."""
    compiled = getattr(context, "compiled", None)
    if compiled is not None and getattr(compiled.statement, "_for_update_arg", None) is not None:
        return True
    verb = statement.lstrip(" \t\r\n(").split(None, 1)[0].upper() if statement.strip() else ""
    if verb == "WITH":
        return bool(_WRITE_IN_CTE.search(statement))
    return verb not in _READ_VERBS


class DatabaseBusy(Unavailable):
    """SQLite's write gate stayed taken longer than the busy timeout (another writer ran too long): 503.

    Not a `TimeoutError`: SQLAlchemy takes that for an interrupted connection and discards it."""


_GATES: weakref.WeakKeyDictionary[Engine, _SqliteGate] = weakref.WeakKeyDictionary()


def for_writing(connection: Connection) -> None:
    """Call before writing on the driver connection directly (SQLAlchemy's statement events do not see
    it): on SQLite, takes the write gate and starts the write transaction a first write statement would."""
    gate = _GATES.get(connection.engine)
    if gate is not None:
        gate.for_writing(connection)


class _SqliteGate:
    """SQLite transactions of one engine: reads start as plain (deferred) read transactions and never wait;
    only a transaction's first write takes the process-wide write gate and `BEGIN IMMEDIATE`.

    SQLite has one writer at a time. Waiting for it in SQLite's busy handler means sleeping and polling
    (a waiter wakes late, not when the writer is done), so this process queues its writers on a lock instead;
    other processes still meet the busy timeout. A semaphore, because a request's transaction may end
    on another thread than the one that began it. A transaction that read before it writes ends its
    read snapshot when it takes the gate and continues in a write transaction that sees every commit so
    far: the statement-level visibility PostgreSQL's READ COMMITTED gives, and never the "database is
    locked" a deferred transaction meets when it upgrades from a stale snapshot. BEGIN is issued lazily
    (at the first statement), so a session that never writes never touches the gate.
    """

    def __init__(self, timeout: float) -> None:
        self._gate = threading.BoundedSemaphore(1)
        self._timeout = timeout
        # Per connection: "pending" (begun, no statement yet), "read" or "write". Kept here rather than
        # in `Connection.info`, which an invalidated connection no longer reaches.
        self._modes: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def install(self, engine: Engine) -> None:
        _GATES[engine] = self
        event.listen(engine, "begin", self._on_begin)
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "commit", self._on_commit)
        event.listen(engine, "rollback", self._on_rollback)

    @staticmethod
    def _raw(conn: Any, sql: str) -> None:
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def _on_begin(self, conn: Any) -> None:
        self._modes[conn] = "pending"

    def _take_gate(self) -> None:
        if not self._gate.acquire(timeout=self._timeout):
            raise DatabaseBusy("系统繁忙：数据库写入排队超时，请稍后重试", code="database_busy")

    def _before_execute(
        self, conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        mode = self._modes.get(conn)
        if mode is None or mode == "write":
            return
        if not _is_write(statement, context):
            if mode == "pending":
                self._raw(conn, "BEGIN")
                self._modes[conn] = "read"
            return
        self._to_write(conn, mode)

    def for_writing(self, conn: Any) -> None:
        """Makes `conn`'s transaction a write transaction now (as its first write statement would)."""
        mode = self._modes.get(conn)
        if mode is None:
            raise RuntimeError("for_writing needs a transaction begun on the connection")
        if mode != "write":
            self._to_write(conn, mode)

    def _to_write(self, conn: Any, mode: str) -> None:
        self._take_gate()
        try:
            if mode == "read":
                # Leave the read snapshot (nothing to keep) for a write transaction that sees the latest.
                self._raw(conn, "COMMIT")
            self._modes[conn] = "pending"
            self._raw(conn, "BEGIN IMMEDIATE")
        except BaseException:
            self._gate.release()
            raise
        self._modes[conn] = "write"

    def _end(self, conn: Any, sql: str) -> None:
        mode = self._modes.pop(conn, None)
        if mode in ("read", "write"):
            try:
                # Ended here rather than by the driver afterwards, so the gate opens after the commit.
                if not conn.invalidated and not conn.closed:
                    self._raw(conn, sql)
            finally:
                if mode == "write":
                    self._gate.release()

    def _on_commit(self, conn: Any) -> None:
        self._end(conn, "COMMIT")

    def _on_rollback(self, conn: Any) -> None:
        self._end(conn, "ROLLBACK")


def _configure_sqlite(engine: Engine, settings: Settings) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling is off: `_SqliteGate` issues BEGIN itself.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cur.close()

    _SqliteGate(settings.sqlite_busy_timeout_ms / 1000).install(engine)


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = make_engine(get_settings())
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Use another engine (tests, CLI with a different URL)."""
    global _engine
    if _engine is not None and engine is not _engine:
        _engine.dispose()
    _engine = engine


def get_db() -> Iterator[Session]:
    """FastAPI dependency: one session per request."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for jobs and the CLI that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None) -> Any:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return cfg


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The newest revisions the code knows (read once: the migration files do not change at run time)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return set()
        return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}


def migrate(engine: Engine | None = None) -> None:
    """Bring the database to the newest migration."""
    engine = engine or get_engine()
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def is_migrated(engine: Engine | None = None) -> bool:
    return current_revisions(engine or get_engine()) == migration_heads()


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"
