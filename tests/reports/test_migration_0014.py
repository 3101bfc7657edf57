"""Migrations that fill new columns from rows already stored: 0014 on a database that already holds
answered messages (upgrading from 0013 stores each one's reply time as the first reply would have, and
leaves the unanswered without one), and 0018 on counted topic days and spans (it sums their terms as the
topic-alert job does)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic import command
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import AccountCreate, Platform
from app.auth import SYSTEM
from app.calendar.timing import reply_time
from app.config import Settings, get_settings
from app.db import alembic_config, current_revisions, is_migrated, make_engine
from app.messages.models import Message
from app.reports import topics
from app.reports.models import TopicDay, TopicDayTerm, TopicDayUnit, TopicSpan, TopicTermId
from app.reports.stats import HISTOGRAM
from app.sla.escalation import load_settings
from app.sla.service import load_calendar
from app.units import service as units
from app.units.models import UnitCreate


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """An empty database of the kind the suite runs on (SQLite file or PostgreSQL), and its engine."""
    base = os.environ.get("HUIYING_TEST_DATABASE_URL", "")
    drop = None
    if base.startswith("postgresql"):
        from scripts.scratch_db import scratch_database

        url, drop = scratch_database(base)
        url = url.replace("postgresql://", "postgresql+psycopg://")
    else:
        url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    engine = make_engine(Settings(database_url=url))
    try:
        yield url, engine
    finally:
        engine.dispose()
        if drop is not None:
            drop()


def _migrate(url: str, engine: Engine, revision: str, *, down: bool = False) -> None:
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _site_account(session: Session, unit_code: str) -> int:
    """A unit and its website account."""
    units.create(session=session, actor=SYSTEM, data=UnitCreate(code=unit_code, name="县公安局"))
    account = accounts.create(
        session=session,
        actor=SYSTEM,
        data=AccountCreate(platform=Platform.generic, name="网站", external_id="site", unit_code=unit_code),
    )
    assert account.id is not None
    return account.id


def _message(account_id: int, external_id: str, content: str, received: datetime, **fields: Any) -> Message:
    """A row as an older version of the service wrote it (no pipeline)."""
    return Message(
        account_id=account_id,
        platform="generic",
        external_id=external_id,
        kind="comment",
        content=content,
        received_at=received,
        created_at=received,
        updated_at=received,
        **{"status": "open", **fields},
    )


def test_upgrade_fills_reply_times_of_existing_rows(scratch: tuple[str, Engine]) -> None:
    url, engine = scratch
    _migrate(url, engine, "head")
    rng = random.Random(14)
    start = datetime(2025, 9, 25, 1, tzinfo=UTC)  # National Day and its make-up Sunday in the span
    with Session(engine) as session:
        account_id = _site_account(session, "gaj")
        for n in range(60):
            received = start + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
            replied = received + timedelta(minutes=rng.randrange(-60, 20 * 24 * 60)) if n % 4 else None
            session.add(
                _message(
                    account_id,
                    f"m-{n}",
                    "路灯坏了",
                    received,
                    status="published" if replied else "open",
                    unit_code="gaj",
                    first_replied_at=replied,
                )
            )
        session.commit()

    # Back to 0013 (the columns go) and up again: the rows are now as 0014 finds them in service.
    _migrate(url, engine, "0013", down=True)
    assert current_revisions(engine) == {"0013"}
    _migrate(url, engine, "head")
    assert is_migrated(engine)

    with Session(engine) as session:
        settings, calendar = load_settings(session=session), load_calendar(session=session)
        rows = session.exec(select(Message).order_by(col(Message.id))).all()
        assert len(rows) == 60
        answered = 0
        for message in rows:
            if message.first_replied_at is None:
                assert message.reply_working_days is None and message.reply_working_hours is None
                continue
            answered += 1
            expected = reply_time(
                calendar,
                get_settings().tz,
                message.received_at,
                message.first_replied_at,
                day_start=settings.work_start,
                day_end=settings.work_end,
            )
            assert (message.reply_working_days, message.reply_working_hours) == expected
        assert answered == 45
        assert any(m.reply_working_days for m in rows) and any(m.reply_working_days == 0 for m in rows)


def test_upgrade_0018_sums_the_terms_of_counted_days_and_spans(scratch: tuple[str, Engine]) -> None:
    url, engine = scratch
    _migrate(url, engine, "head")
    rng = random.Random(18)
    start = datetime(2025, 9, 25, 1, tzinfo=UTC)
    words = ["路灯", "噪音", "停车", "学校", "供暖", "占道"]
    with Session(engine) as session:
        units.create(session=session, actor=SYSTEM, data=UnitCreate(code="ybj", name="ybj"))
        account_id = _site_account(session, "gaj")
        for n in range(150):
            received = start + timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
            text = f"{rng.choice(words)}问题，{rng.choice(words)}"
            session.add(
                _message(account_id, f"t-{n}", text, received, unit_code=rng.choice(("gaj", "ybj", None)))
            )
        session.commit()
        at = start + timedelta(days=45)
        assert topics.count_days(session=session, now=at, tz=get_settings().tz, max_days=None) > 40
        days = {
            (row.day, row.unit_code): _by_term(session, row.sums)
            for row in session.exec(select(TopicDayUnit))
        }
        assert {day for day, _ in days} == {row.day for row in session.exec(select(TopicDay)) if row.units}
        spans = {
            (row.kind, row.start): _by_term(session, row.sums) for row in session.exec(select(TopicSpan))
        }
    assert {kind for kind, _ in spans} == {"week", "month"}
    assert sum(sum(terms.values()) for terms in days.values()) > 150
    assert {code for _, code in days} == {"gaj", "ybj", ""}
    assert all(terms == {} or min(terms.values()) > 0 for terms in days.values())
    # The job's own figures: every message of a day counted once per term it holds.
    with Session(engine) as session:
        for (day, code), terms in days.items():
            rows = session.exec(
                select(TopicDayTerm).where(TopicDayTerm.day == day, TopicDayTerm.unit_code == code)
            )
            assert terms == {row.term: row.count for row in rows}

    _migrate(url, engine, "0017", down=True)
    _migrate(url, engine, "head")
    with Session(engine) as session:
        assert {
            (row.day, row.unit_code): _by_term(session, row.sums)
            for row in session.exec(select(TopicDayUnit))
        } == days
        assert {
            (row.kind, row.start): _by_term(session, row.sums) for row in session.exec(select(TopicSpan))
        } == spans


def _by_term(session: Session, sums: bytes) -> dict[str, int]:
    """Stored counts by term number, as counts by term."""
    pairs = np.frombuffer(sums, dtype=HISTOGRAM)
    names = dict(session.exec(select(TopicTermId.id, TopicTermId.term)).all())
    assert list(pairs["v"]) == sorted(pairs["v"]) and all(pairs["n"] > 0)
    return {names[int(v)]: int(n) for v, n in zip(pairs["v"], pairs["n"], strict=True)}
