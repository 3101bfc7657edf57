"""Deadline order (soonest first, undated last, ties by id) walked page by page through the keyset
cursor: every message once, in the order a full sort gives, for all messages, one unit, a status and the
reply queue; a forged cursor is a 400; and the database answers these pages from its indexes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from app.db import get_engine, session_scope
from app.messages.models import (
    OPEN_ORDER,
    OPEN_STATUSES,
    QUEUE_STATUSES,
    Message,
    MessageStatus,
    in_queue,
    status_in,
    status_in_sql,
)
from app.messages.service import encode_cursor

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
QUEUE = status_in_sql(QUEUE_STATUSES, "sqlite")


def _seed(accounts: dict[str, int], rng: random.Random, n: int = 90) -> list[Message]:
    rows = []
    dues = [T0 + timedelta(hours=rng.randrange(200)) for _ in range(12)]  # shared deadlines: ties
    with session_scope() as session:
        for i in range(n):
            unit = rng.choice(list(accounts))
            row = Message(
                account_id=accounts[unit],
                platform="weibo",
                external_id=f"e{i}",
                kind="comment",
                content=f"留言{i}",
                received_at=T0,
                created_at=T0,
                updated_at=T0,
                status=rng.choice(list(MessageStatus)).value,
                unit_code=unit,
                due_at=None if rng.random() < 0.25 else rng.choice(dues),
            )
            session.add(row)
            rows.append(row)
    return rows


def _order(rows: list[Message]) -> list[int]:
    far = datetime.max.replace(tzinfo=UTC)
    return [m.id for m in sorted(rows, key=lambda m: (m.due_at or far, m.id)) if m.id is not None]


def _walk(client: Any, path: str, headers: dict[str, str], **params: Any) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = client.get(path, params=query, headers=headers)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= params["limit"]
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen


@pytest.mark.parametrize("limit", [1, 4, 7, 50])
def test_pages_by_deadline_match_a_full_sort(
    client, make_unit, make_account, make_user, admin_headers, limit
):
    make_unit("a", "甲单位")
    make_unit("b", "乙单位")
    accounts = {code: make_account(code)["id"] for code in ("a", "b")}
    rows = _seed(accounts, random.Random(limit))
    operator_a = make_user("operator", "a")
    queue = [m for m in rows if m.status in {s.value for s in QUEUE_STATUSES}]

    assert _walk(client, "/api/v1/messages", admin_headers, sort="due_at", limit=limit) == _order(rows)
    mine = [m for m in rows if m.unit_code == "a"]
    assert _walk(client, "/api/v1/messages", operator_a, sort="due_at", limit=limit) == _order(mine)
    opened = [m for m in rows if m.status == "open"]
    assert _walk(
        client, "/api/v1/messages", admin_headers, sort="due_at", status="open", limit=limit
    ) == _order(opened)
    closed = [m for m in rows if m.status == "closed"]
    assert _walk(
        client, "/api/v1/messages", admin_headers, sort="due_at", status="closed", limit=limit
    ) == _order(closed)
    assert _walk(client, "/api/v1/queue", admin_headers, limit=limit) == _order(queue)
    assert _walk(client, "/api/v1/queue", operator_a, limit=limit) == _order(
        [m for m in queue if m.unit_code == "a"]
    )
    drafting = [m for m in queue if m.status == "drafting"]
    assert _walk(client, "/api/v1/queue", admin_headers, status="drafting", limit=limit) == _order(drafting)


def test_forged_cursors_are_400(client, make_unit, make_account, admin_headers):
    for cursor in [
        "@@@",
        encode_cursor(["yesterday", 3]),
        encode_cursor(["", "x"]),
        encode_cursor([1, 2, 3]),
    ]:
        for path in ("/api/v1/messages?sort=due_at", "/api/v1/queue?x=1"):
            resp = client.get(f"{path}&cursor={cursor}", headers=admin_headers)
            assert resp.status_code == 400, (path, cursor, resp.text)
            assert resp.json()["error"]["code"] == "bad_request"


def test_the_migration_and_the_models_share_the_partial_index_conditions() -> None:
    migration = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0013_scale.py"
    source = migration.read_text(encoding="utf-8")
    assert f'QUEUE = "{status_in_sql(QUEUE_STATUSES, "postgresql")}"' in source
    assert f'OPEN = "{status_in_sql(OPEN_ORDER, "postgresql")}"' in source
    assert status_in_sql(OPEN_ORDER, "sqlite") == "+" + status_in_sql(OPEN_ORDER, "postgresql")
    assert set(OPEN_ORDER) == OPEN_STATUSES


@pytest.mark.skipif(get_engine().dialect.name != "sqlite", reason="SQLite's plan text")
@pytest.mark.parametrize(
    ("where", "index"),
    [
        ("due_at IS NOT NULL AND (due_at, id) > ('2026-03-02', 5)", "ix_messages_due_id"),
        ("unit_code = 'a' AND (due_at, id) > ('2026-03-02', 5)", "ix_messages_unit_due_id"),
        (f"{QUEUE} AND (due_at, id) > ('2026-03-02', 5)", "ix_messages_queue_due_id"),
        (f"{QUEUE} AND unit_code = 'a' AND due_at IS NULL", "ix_messages_queue_unit_due_id"),
    ],
)
def test_sqlite_walks_an_index_without_sorting(where: str, index: str) -> None:
    with Session(get_engine()) as session:
        plan = " ".join(
            str(row[-1])
            for row in session.execute(
                text(f"EXPLAIN QUERY PLAN SELECT * FROM messages WHERE {where} ORDER BY due_at, id LIMIT 51")
            )
        )
    assert index in plan and "TEMP B-TREE" not in plan, plan


def _plan(statement: Any) -> str:
    sql = str(statement.compile(get_engine(), compile_kwargs={"literal_binds": True}))
    with Session(get_engine()) as session:
        return " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


@pytest.mark.skipif(get_engine().dialect.name != "sqlite", reason="SQLite's plan text")
def test_the_queries_as_written_use_the_partial_indexes() -> None:
    """The statements as SQLAlchemy writes them (not hand-written SQL) carry the indexes' exact condition."""
    counts = select(Message.sla_state, func.count()).where(status_in(OPEN_ORDER)).group_by(Message.sla_state)
    assert "COVERING INDEX ix_messages_open_sla" in _plan(counts)
    queue = select(Message).where(in_queue()).order_by(col(Message.due_at), col(Message.id)).limit(51)
    plan = _plan(queue.where(col(Message.due_at).is_not(None)))
    assert "ix_messages_queue_due_id" in plan and "TEMP B-TREE" not in plan, plan
    plan = _plan(queue.where(col(Message.unit_code).in_(["a"]), col(Message.status) == "open"))
    assert "ix_messages_queue_unit_due_id" in plan and "TEMP B-TREE" not in plan, plan
