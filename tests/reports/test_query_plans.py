"""SQLite's planner has no statistics: grouped or filtered by unit, it would rather walk a unit's messages
in deadline order (ix_messages_unit_due_id) than read the range or the few rows a report needs. At 100k
messages that made a unit's 30-day hot topics take 2 s and the overdue report 180 ms. The statements
these reports send must keep to the narrow indexes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.auth import SYSTEM
from app.config import get_settings
from app.db import get_engine, session_scope
from app.reports import service, topics
from app.reports.models import Dimension
from app.sla import service as sla

AT = datetime(2026, 3, 2, 4, tzinfo=UTC)

pytestmark = pytest.mark.skipif(get_engine().dialect.name != "sqlite", reason="SQLite's plan text")


@contextmanager
def _statements() -> Iterator[list[tuple[str, Any]]]:
    """The statements on `messages` sent meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "FROM messages" in statement and not statement.startswith("EXPLAIN"):
            seen.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _plans(statements: list[tuple[str, Any]]) -> list[str]:
    with Session(get_engine()) as session:
        connection = session.connection()
        return [
            " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in statements
        ]


def _overdue(session: Session, unit_code: str | None) -> Any:
    calendar = sla.load_calendar(session=session)
    return service.overdue_report(
        session=session,
        principal=SYSTEM,
        now=AT,
        calendar=calendar,
        tz=get_settings().tz,
        unit_code=unit_code,
    )


@pytest.mark.parametrize(
    "report",
    [
        lambda session: topics.hot_topics(
            session=session,
            principal=None,
            at=AT,
            settings=topics.TopicSettings(window=timedelta(days=30), baseline_windows=3),
            unit_code="gaj",
            tz=get_settings().tz,
        ),
        lambda session: _overdue(session, "gaj"),
        lambda session: _overdue(session, None),
        lambda session: service.build_report(
            session=session,
            principal=SYSTEM,
            dimension=Dimension.account,
            period=None,
            date_from=date(2025, 3, 1),
            date_to=date(2026, 3, 1),
            now=AT,
            calendar=sla.load_calendar(session=session),
            tz=get_settings().tz,
            unit_code="gaj",
        ),
    ],
    ids=["unit topics", "unit overdue", "overdue", "unit report"],
)
def test_reports_keep_to_their_indexes(
    report: Callable[[Session], Any], client: Any, make_unit: Any, make_account: Any, add_message: Any
) -> None:
    make_unit("gaj", "县公安局")
    account = make_account("gaj")
    for n in range(3):
        received = AT - timedelta(days=9 + n)
        add_message(
            account,
            received,
            unit_code="gaj",
            due_at=received + timedelta(days=7),
            content=f"第{n}条：路灯坏了",
        )
    with _statements() as statements, session_scope() as session:
        report(session)
    plans = _plans(statements)
    assert plans and any("ix_messages_" in plan for plan in plans), plans
    assert not any("ix_messages_unit_due_id" in plan for plan in plans), plans
