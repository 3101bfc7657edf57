"""Report roll-ups (app.reports.rollups): the triggers log exactly the changes that void a roll-up, the job
retires and rebuilds what changed, and every report shape read from roll-ups equals the row-by-row
computation before the job runs again, after it, and while changes wait for it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, text
from sqlmodel import Session, col, select, update

from app.auth import SYSTEM
from app.config import get_settings
from app.db import get_engine, session_scope
from app.messages import service as messages
from app.messages.models import REPORT_COLUMNS, Message, MessageCreate, MessageStatus
from app.reports import rollups
from app.reports.models import ReportCell, ReportChange, ReportSpan
from app.sla import service as sla
from tests.reports.test_aggregates_equal import NOW, _compare, build_world, compare_every_scope

BEIJING = "Asia/Shanghai"


def _changes(session: Session) -> list[datetime]:
    return [at for at in session.exec(select(ReportChange.received_at).order_by(col(ReportChange.id)))]


def _refresh(at: datetime = NOW, max_spans: int | None = None) -> int:
    with session_scope() as session:
        return rollups.refresh(session=session, now=at, tz=get_settings().tz, max_spans=max_spans)


def _readable(session: Session) -> dict[tuple[str, date], rollups.Span]:
    return rollups.readable_spans(
        session, zone=get_settings().tz.key, lo=date(2025, 1, 1), hi=date(2027, 1, 1)
    )


def test_reports_from_rollups_equal_row_by_row(
    zone: str,
    client: Any,
    make_unit: Any,
    make_account: Any,
    frozen_clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts = build_world(random.Random(f"rollups-{zone}"), make_unit, make_account, frozen_clock)

    built = _refresh()
    with session_scope() as session:
        spans = _readable(session)
        assert built == len(spans) > 150
        assert {kind for kind, _ in spans} == {"day", "week", "month"}
        assert not _changes(session)
        # The all-time range is read from the roll-ups but for the days since the last one was built.
        tz = get_settings().tz
        first = session.exec(select(func.min(Message.received_at))).one()
        assert first is not None
        cover = rollups.plan(
            session, tz=tz, ranges=[(first.astimezone(tz).date(), NOW.astimezone(tz).date(), None)]
        )
        assert len(cover.spans) > 5 and len(cover.live) == 1
        compare_every_scope(session)

    # Changes the job has not seen yet: answers to waiting messages, a unit changed and reply times removed
    # by bulk statements, an old message received late and closed.
    with session_scope() as session:
        waiting = session.exec(
            select(Message).where(
                col(Message.first_replied_at).is_(None), col(Message.status) == MessageStatus.open
            )
        ).all()
        assert len(waiting) >= 3
        for message in waiting[:3]:
            message.status = MessageStatus.published
            sla.mark_replied(session=session, message=message, replied_at=NOW - timedelta(hours=2))
        answered = session.exec(select(Message.id).where(col(Message.first_replied_at).is_not(None))).all()
        session.execute(update(Message).where(col(Message.id) == answered[5]).values(unit_code="zjj"))
        session.execute(
            update(Message)
            .where(col(Message.id).in_(answered[10:14]))
            .values(reply_working_days=None, reply_working_hours=None)
        )
    account = accounts[0]
    late = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)
    with session_scope() as session:
        receipt, _ = messages.ingest(
            session=session,
            actor=SYSTEM,
            data=MessageCreate(
                account_id=int(account["id"]), external_id="late-1", content="补录留言", received_at=late
            ),
        )
        late_id = receipt.id
    with session_scope() as session:
        session.execute(
            update(Message)
            .where(col(Message.id) == late_id)
            .values(status=MessageStatus.closed, closed_at=NOW - timedelta(hours=1))
        )
    with session_scope() as session:
        assert len(_changes(session)) >= 3 + 1 + 4 + 1
        assert len(_readable(session)) < len(spans)
        assert _compare(session, SYSTEM, full=False) > 5
        _compare(session, SYSTEM, unit_code="zjj", full=False)
        # More changes than a report reads itself: the database tells which spans they void.
        readable, original = _readable(session).keys(), rollups.CHANGES_READ
        monkeypatch.setattr(rollups, "CHANGES_READ", 2)
        assert _readable(session).keys() == readable
        _compare(session, SYSTEM, full=False)
        monkeypatch.setattr(rollups, "CHANGES_READ", original)

    # The job retires what changed, rebuilds it (storing the missing reply times first), and the reports
    # still agree.
    _refresh(NOW + timedelta(minutes=5))
    _refresh(NOW + timedelta(minutes=10))
    with session_scope() as session:
        assert not _changes(session)
        assert len(_readable(session)) == len(spans)
        retired = session.exec(select(ReportSpan).where(col(ReportSpan.retired_at).is_not(None))).all()
        assert retired
        assert (
            session.exec(select(Message).where(col(Message.id).in_(answered[10:14])))
            .first()
            .reply_working_days
            is not None
        )  # type: ignore[union-attr]
        assert _compare(session, SYSTEM) > 50
    # Long-retired spans and their cells are deleted.
    _refresh(NOW + rollups.RETIRED_KEPT + timedelta(minutes=11))
    with session_scope() as session:
        assert not session.exec(select(ReportSpan).where(col(ReportSpan.retired_at).is_not(None))).all()
        ids = set(session.exec(select(ReportSpan.id)).all())
        assert set(session.exec(select(ReportCell.span_id)).all()) <= ids


def test_triggers_log_what_the_rollups_count(make_unit: Any, make_account: Any) -> None:
    make_unit("gaj", "公安局")
    make_unit("ybj", "医保局")
    account = make_account("gaj", "wechat")
    other = make_account("ybj", "weibo")
    at = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    table = Message.__table__  # type: ignore[attr-defined]
    # A waiting message (open, unanswered) is never logged, whatever changes.
    with session_scope() as session:
        session.execute(insert(table), [_full_row(table, account["id"], 1, at)])
        waiting_id = session.exec(select(Message.id).where(Message.external_id == "t-1")).one()
        session.execute(
            update(table).where(table.c.id == waiting_id).values(unit_code="gaj", escalation_level=1)
        )
        session.execute(update(table).where(table.c.id == waiting_id).values(content="改"))
        assert _changes(session) == []
    # Answered: the message leaves the waiting set and is logged at its receipt time.
    with session_scope() as session:
        session.execute(
            update(table)
            .where(table.c.id == waiting_id)
            .values(first_replied_at=at + timedelta(days=1), status="published")
        )
        assert _changes(session) == [at]
    # Each column the reports read is logged once when it changes; other columns never.
    values: dict[str, Any] = {
        "unit_code": "ybj",
        "account_id": other["id"],
        "platform": "weibo",
        "status": "closed",
        "first_replied_at": at + timedelta(days=2),
        "due_at": at + timedelta(days=7),
        "closed_at": at + timedelta(days=3),
        "out_of_scope": True,
        "transfer_count": 2,
        "escalation_level": 2,
        "reply_working_days": 3,
        "reply_working_hours": 20.5,
    }
    assert set(values) | {"received_at"} == set(REPORT_COLUMNS)
    for name, value in values.items():
        with session_scope() as session:
            session.execute(delete(ReportChange))
            session.execute(update(table).where(table.c.id == waiting_id).values(**{name: value}))
            session.execute(update(table).where(table.c.id == waiting_id).values(**{name: value}))
            session.execute(
                update(table).where(table.c.id == waiting_id).values(content=f"{name}", sla_state="met")
            )
            assert _changes(session) == [at], name
    # Moved to another receipt time: both times; deleted: its time.
    with session_scope() as session:
        session.execute(delete(ReportChange))
        later = at + timedelta(days=40)
        session.execute(update(table).where(table.c.id == waiting_id).values(received_at=later))
        assert _changes(session) == [at, later]
        session.execute(delete(ReportChange))
        session.execute(delete(table).where(table.c.id == waiting_id))
        assert _changes(session) == [later]
    # Inserted already answered or closed: logged; inserted waiting: not.
    with session_scope() as session:
        session.execute(delete(ReportChange))
        session.execute(insert(table), [_full_row(table, account["id"], 2, at, status="closed")])
        session.execute(insert(table), [_full_row(table, account["id"], 3, at, status="received")])
        assert _changes(session) == [at]


def _full_row(table: Any, account_id: int, n: int, at: datetime, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.name == "id" or column.nullable:
            continue
        row[column.name] = _filler(column, at)
    row.update(
        account_id=account_id,
        platform="wechat",
        external_id=f"t-{n}",
        received_at=at,
        status=MessageStatus.open.value,
    )
    row.update(values)
    return row


def _filler(column: Any, at: datetime) -> Any:
    kind = type(column.type).__name__
    if kind == "UTCDateTime":
        return at
    if kind == "JSON":
        return {}
    if kind == "Boolean":
        return False
    if kind == "Integer":
        return 0
    return "x"


def test_job_retires_spans_of_another_zone_and_reads_only_its_own(
    monkeypatch: pytest.MonkeyPatch, make_unit: Any, make_account: Any
) -> None:
    make_unit("gaj", "公安局")
    account = make_account("gaj", "wechat")
    table = Message.__table__  # type: ignore[attr-defined]
    at = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    with session_scope() as session:
        session.execute(
            insert(table),
            [_full_row(table, account["id"], n, at - timedelta(days=n), status="closed") for n in range(40)],
        )
    now = at + timedelta(days=3)
    monkeypatch.setenv("HUIYING_TIMEZONE", BEIJING)
    get_settings.cache_clear()
    try:
        assert _refresh(now) > 40
        monkeypatch.setenv("HUIYING_TIMEZONE", "Europe/Berlin")
        get_settings.cache_clear()
        with session_scope() as session:
            # Beijing's spans are not Berlin's days.
            assert _readable(session) == {}
        _refresh(now)
        with session_scope() as session:
            live = session.exec(select(ReportSpan.zone).where(col(ReportSpan.retired_at).is_(None))).all()
            assert set(live) == {"Europe/Berlin"}
    finally:
        get_settings.cache_clear()


def test_job_retires_the_span_of_a_change_and_deletes_the_changes_it_read(
    make_unit: Any, make_account: Any
) -> None:
    make_unit("gaj", "公安局")
    account = make_account("gaj", "wechat")
    table = Message.__table__  # type: ignore[attr-defined]
    at = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    now = at + timedelta(days=40)
    with session_scope() as session:
        session.execute(insert(table), [_full_row(table, account["id"], 1, at, status="closed")])
    _refresh(now)
    with session_scope() as session:
        day = at.astimezone(get_settings().tz).date()
        before = _readable(session)
        monday = day - timedelta(days=day.weekday())
        assert {("day", day), ("week", monday), ("month", day.replace(day=1))} <= before.keys()
        # Ids with a gap (a writer's rolled-back insert): all read, all deleted.
        session.execute(insert(ReportChange), [{"id": 10, "received_at": at}, {"id": 12, "received_at": at}])
    with session_scope() as session:
        assert ("day", day) not in _readable(session)
        retired = rollups.retire_changed(session=session, now=now, zone=get_settings().tz.key)
        assert retired == 3  # the day, its week and its month
        assert _changes(session) == []
    assert _refresh(now) == 3
    with session_scope() as session:
        assert _readable(session).keys() == before.keys()


def test_triggers_exist_after_migrations() -> None:
    engine = get_engine()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            names = (
                conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
            )
        else:
            names = (
                conn.execute(
                    text(
                        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'messages'::regclass AND NOT tgisinternal"
                    )
                )
                .scalars()
                .all()
            )
    assert {"tr_messages_report_insert", "tr_messages_report_delete", "tr_messages_report_update"} <= set(
        names
    )
