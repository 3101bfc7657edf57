"""SQLite transactions: a session that only reads never takes the write gate, so a long read (a report)
cannot hold up a write (ingest); only a session's first write takes it, and a session that read first
then writes sees every commit made meanwhile instead of failing with "database is busy"."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.config import get_settings
from app.db import DatabaseBusy, for_writing, get_engine, make_engine
from app.units.models import Unit

pytestmark = pytest.mark.skipif(
    get_engine().dialect.name != "sqlite", reason="SQLite's write gate (PostgreSQL has none)"
)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def impatient() -> Engine:
    """A second engine on the test database whose writers give up after 0.2 s (a held gate shows quickly)."""
    settings = get_settings().model_copy(update={"sqlite_busy_timeout_ms": 200})
    engine = make_engine(settings)
    yield engine
    engine.dispose()


def _unit(code: str) -> Unit:
    return Unit(code=code, name=f"单位{code}", created_at=NOW, updated_at=NOW)


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Unit)).one()


def test_an_open_read_does_not_hold_up_a_write(impatient: Engine) -> None:
    with Session(impatient) as reader, Session(impatient) as writer:
        assert _count(reader) == 0  # a read transaction is now open, as in a long report
        writer.add(_unit("a1"))
        writer.commit()  # before: waited for the reader's gate and failed with "database is busy"
        assert _count(reader) == 0  # the reader keeps its snapshot until it ends
        reader.commit()
        assert _count(reader) == 1


def test_a_read_then_write_session_sees_the_commits_made_meanwhile(impatient: Engine) -> None:
    with Session(impatient) as slow, Session(impatient) as quick:
        assert _count(slow) == 0
        quick.add(_unit("b1"))
        quick.commit()
        # Upgrading the stale read snapshot would fail at once ("database is locked"); the first write
        # starts a write transaction that sees b1 instead.
        slow.add(_unit("b2"))
        slow.flush()
        assert _count(slow) == 2
        slow.commit()
    with Session(impatient) as check:
        assert sorted(u.code for u in check.exec(select(Unit))) == ["b1", "b2"]


def test_writers_still_queue_one_at_a_time(impatient: Engine) -> None:
    with Session(impatient) as first:
        first.add(_unit("c1"))
        first.flush()  # holds the gate
        failed: list[BaseException] = []

        def second_writer() -> None:
            try:
                with Session(impatient) as second:
                    second.add(_unit("c2"))
                    second.commit()
            except BaseException as exc:
                failed.append(exc)

        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join()
        assert len(failed) == 1 and isinstance(failed[0], DatabaseBusy)
        assert failed[0].status == 503 and failed[0].code == "database_busy"
        first.commit()
    with Session(impatient) as later:
        later.add(_unit("c3"))
        later.commit()  # the gate was released with the first commit
        assert {u.code for u in later.exec(select(Unit))} == {"c1", "c3"}


def test_a_rolled_back_write_releases_the_gate(impatient: Engine) -> None:
    with Session(impatient) as first:
        first.add(_unit("d1"))
        first.flush()
        first.rollback()
    with Session(impatient) as second:
        second.add(_unit("d2"))
        second.commit()
        assert [u.code for u in second.exec(select(Unit))] == ["d2"]


def test_writing_on_the_driver_connection_takes_the_gate_first(impatient: Engine) -> None:
    """The ingest hot path writes through the driver's cursor (no statement events): `for_writing` makes
    its inserts one write transaction that holds the gate until commit, and a rollback leaves nothing."""
    with Session(impatient) as ingest:
        assert _count(ingest) == 0  # a read first, as a request's token check does
        connection = ingest.connection()
        for_writing(connection)
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(
            "INSERT INTO units (code, name, keywords, created_at, updated_at) VALUES (?, ?, '[]', ?, ?)",
            ("raw", "直写", "2026-03-02 01:00:00.000000", "2026-03-02 01:00:00.000000"),
        )
        with Session(impatient) as other:
            other.add(_unit("e1"))
            with pytest.raises(DatabaseBusy):
                other.flush()
        with Session(impatient) as reader:
            assert _count(reader) == 0  # not committed yet: the insert is inside the transaction
        ingest.rollback()
    with Session(impatient) as check:
        assert _count(check) == 0
