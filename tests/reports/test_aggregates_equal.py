"""The reports computed from stored reply times and SQL histograms equal the row-by-row computation
(every answer read back and measured, every overdue row walked) on random data made through the real
services: ingest and pipeline, assignment, transfers, deadline extensions, first replies (on time and
late), closes without reply and out-of-scope marks, in Beijing time and in a zone with summer time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select, update

from app.auth import SYSTEM, Principal
from app.config import get_settings
from app.db import get_engine, session_scope
from app.intake.pipeline import Pipeline
from app.messages import service as messages
from app.messages.models import OPEN_STATUSES, Message, MessageCreate, MessageStatus
from app.replies import service as replies
from app.replies.models import CloseReason
from app.reports import service
from app.reports.models import Dimension
from app.reports.periods import Period
from app.routing import transfers
from app.routing.models import AssignCreate, TransferCreate
from app.sla import service as sla
from app.sla.escalation import load_settings
from app.supervision import extensions
from app.supervision.models import ExtensionRequest
from app.users.models import Role
from tests.reports.rowwise import build_report_rowwise, overdue_report_rowwise

UNITS = ("gaj", "ybj", "zjj")
PLATFORMS = ("wechat", "weibo", "generic")
# From before National Day 2025 to after the 2026 Spring Festival; Europe/Berlin leaves summer time
# on 26 October 2025 inside it.
FIRST_DAY = datetime(2025, 9, 20, tzinfo=UTC)
SPAN_DAYS = 170
NOW = FIRST_DAY + timedelta(days=SPAN_DAYS + 12)


def _random_moment(rng: random.Random, after: datetime, days: float) -> datetime:
    return after + timedelta(seconds=rng.randrange(1, int(days * 86400)))


def _build(rng: random.Random, accounts: list[dict[str, Any]], count: int, frozen_clock: Any) -> None:
    """`count` messages received over the span, each then living its own random life."""
    received = sorted(_random_moment(rng, FIRST_DAY, SPAN_DAYS) for _ in range(count))
    ids: list[tuple[int, datetime]] = []
    for n, at in enumerate(received):
        frozen_clock.set(at)
        account = rng.choice(accounts)
        data = MessageCreate(
            account_id=int(account["id"]), external_id=f"r-{n}", content=f"第{n}条：路灯坏了", received_at=at
        )
        with session_scope() as session:
            receipt, _ = messages.ingest(session=session, actor=SYSTEM, data=data)
            assert receipt.id is not None
            ids.append((receipt.id, at))
    frozen_clock.set(NOW)
    Pipeline().drain(now=NOW)
    for message_id, at in ids:
        _live(rng, message_id, at, frozen_clock)


def _live(rng: random.Random, message_id: int, received_at: datetime, frozen_clock: Any) -> None:
    frozen_clock.set(received_at + timedelta(minutes=5))
    with _session() as s:
        transfers.assign(
            session=s, actor=SYSTEM, message_id=message_id, data=AssignCreate(unit_code=rng.choice(UNITS))
        )
    with _session() as s:
        message = s.get(Message, message_id)
        assert message is not None and message.due_at is not None
        due_at = message.due_at
        unit = message.unit_code
    if rng.random() < 0.25:  # transferred once or twice, before anything else happens
        for _ in range(rng.choice((1, 2))):
            frozen_clock.set(frozen_clock.at + timedelta(hours=rng.randrange(1, 30)))
            target = rng.choice([u for u in UNITS if u != unit])
            with _session() as s:
                transfers.transfer(
                    session=s,
                    actor=SYSTEM,
                    message_id=message_id,
                    data=TransferCreate(unit_code=target, reason="职责调整转办"),
                )
            unit = target
    if rng.random() < 0.2 and frozen_clock.at < due_at:  # an extension, approved or rejected
        with _session() as s:
            item = extensions.request(
                session=s,
                actor=SYSTEM,
                message_id=message_id,
                data=ExtensionRequest(working_days=rng.randrange(1, 6), reason="需现场核实"),
            )
            s.commit()
            assert item.id is not None
            extension_id = item.id
        frozen_clock.set(frozen_clock.at + timedelta(hours=1))
        approve = rng.random() < 0.7
        with _session() as s:
            extensions.decide(
                session=s,
                actor=SYSTEM,
                extension_id=extension_id,
                approve=approve,
                note=None if approve else "理由不充分",
            )
            s.commit()
    reviewer = Principal(
        user_id=None, name="审核人", role=Role.reviewer, unit_code=unit, units=frozenset({unit})
    )
    fate = rng.random()
    if fate < 0.55:  # answered: mostly within days, some late, a few stamped on a weekend or holiday
        replied_at = _random_moment(rng, frozen_clock.at, rng.choice((1, 4, 12, 30)))
        if replied_at >= NOW:
            return
        frozen_clock.set(replied_at)
        with _session() as s:
            message = s.get(Message, message_id)
            assert message is not None
            message.status = MessageStatus.published
            sla.mark_replied(session=s, message=message, replied_at=replied_at)
            s.commit()
    elif fate < 0.7:  # closed without reply, before or after its deadline
        closed_at = _random_moment(rng, frozen_clock.at, rng.choice((2, 20)))
        if closed_at >= NOW:
            return
        frozen_clock.set(closed_at)
        with _session() as s:
            replies.close_message(
                session=s,
                actor=reviewer,
                message_id=message_id,
                reason=rng.choice(list(CloseReason)),
                note="无需答复",
            )
            s.commit()
    elif fate < 0.78:  # out of scope: the same-day deadline and a pointer reply drafted
        with _session() as s:
            replies.mark_out_of_scope(
                session=s, actor=reviewer, message_id=message_id, text="请向市级部门反映"
            )
            s.commit()
    # The rest stay open: on track or overdue at NOW.


def _session() -> Session:
    """A session of its own for each service call (those that commit do so themselves)."""
    return Session(get_engine())


RANGES: list[tuple[date | None, date | None]] = [
    (None, None),
    (date(2025, 10, 1), None),
    (None, date(2025, 12, 31)),
    (date(2025, 9, 28), date(2026, 2, 20)),
    (date(2025, 10, 26), date(2025, 10, 26)),
]


def _shapes(full: bool) -> Iterator[tuple[Dimension, Period | None, date | None, date | None, str | None]]:
    """Every dimension and period with the range forms (none, from only, to only, both, one day); days
    only over short ranges. Not `full`: each dimension without periods, unbounded and bounded."""
    for dimension in Dimension:
        if dimension != Dimension.period:
            for date_from, date_to in RANGES if full else RANGES[::3]:
                yield dimension, None, date_from, date_to, None
            if full and dimension != Dimension.platform:
                yield dimension, None, None, None, "weibo"
        if not full:
            continue
        for period in (Period.week, Period.month, Period.quarter):
            for date_from, date_to in (RANGES[0], RANGES[3]):
                yield dimension, period, date_from, date_to, None
        yield dimension, Period.day, date(2025, 12, 25), date(2026, 1, 5), None
        yield dimension, Period.day, *RANGES[4], None


def _compare(
    session: Session, principal: Principal, *, unit_code: str | None = None, full: bool = True
) -> int:
    """The report shapes of `_shapes` and the overdue view, both ways; returns how many were compared."""
    calendar, tz = sla.load_calendar(session=session), get_settings().tz
    settings = load_settings(session=session)
    work_hours = (settings.work_start, settings.work_end)
    compared = 0
    for dimension, period, date_from, date_to, platform in _shapes(full):
        args: dict[str, Any] = {
            "session": session,
            "principal": principal,
            "dimension": dimension,
            "period": period,
            "date_from": date_from,
            "date_to": date_to,
            "now": NOW,
            "calendar": calendar,
            "tz": tz,
            "unit_code": unit_code,
            "platform": platform,
            "work_hours": work_hours,
        }
        fast = service.build_report(**args).model_dump()
        slow = build_report_rowwise(**args).model_dump()
        assert fast == slow, (dimension, period, date_from, date_to, platform)
        compared += 1
    for limit in (1, 3, 20, 200):
        compare_overdue(session, principal, NOW, unit_code=unit_code, limit=limit)
        compared += 1
    return compared


def compare_overdue(
    session: Session, principal: Principal, now: datetime, *, unit_code: str | None, limit: int
) -> dict[str, Any]:
    """The overdue view at `now` both ways; returns it."""
    calendar, tz = sla.load_calendar(session=session), get_settings().tz
    args = {"session": session, "principal": principal, "now": now, "calendar": calendar, "tz": tz}
    fast = service.overdue_report(**args, unit_code=unit_code, limit=limit).model_dump()
    slow = overdue_report_rowwise(**args, unit_code=unit_code, limit=limit).model_dump()
    # Units with as many overdue messages come in the database's order row by row: compare as sets.
    for body in (fast, slow):
        body["by_unit"] = sorted(body["by_unit"], key=lambda b: (-b["count"], b["key"]))
    assert fast == slow, (now, unit_code, limit)
    return fast


def build_world(
    rng: random.Random, make_unit: Any, make_account: Any, frozen_clock: Any
) -> list[dict[str, Any]]:
    """The supervising office, three units (one with a 7-day limit), their accounts, and 110 messages
    living their random lives; returns the accounts."""
    make_unit("zfb", "县政府办公室")
    for code in UNITS:
        make_unit(code, code, supervisor_code="zfb", **({"reply_working_days": 7} if code == "zjj" else {}))
    accounts = [
        make_account(code, platform) for code in UNITS for platform in PLATFORMS if rng.random() < 0.8
    ]
    _build(rng, accounts, 110, frozen_clock)
    return accounts


def compare_every_scope(session: Session) -> None:
    """Every shape for the administrator, and the short list for a unit role and a unit filter."""
    assert _compare(session, SYSTEM) > 50
    unit_role = Principal(
        user_id=None, name="gaj", role=Role.reviewer, unit_code="gaj", units=frozenset({"gaj"})
    )
    _compare(session, unit_role, full=False)
    _compare(session, SYSTEM, unit_code="ybj", full=False)


def test_reports_equal_row_by_row(
    zone: str, client: Any, make_unit: Any, make_account: Any, frozen_clock: Any
) -> None:
    build_world(random.Random(f"reports-{zone}"), make_unit, make_account, frozen_clock)

    with session_scope() as session:
        answered = session.exec(select(Message).where(col(Message.first_replied_at).is_not(None))).all()
        assert len(answered) > 30 and all(m.reply_working_days is not None for m in answered)
        stored = {m.id: (m.reply_working_days, m.reply_working_hours) for m in answered}
        unstored = [m.id for m in answered[::3]]
        assert any(m.first_replied_at and m.due_at and m.first_replied_at > m.due_at for m in answered)
        overdue = session.exec(
            select(Message).where(
                col(Message.first_replied_at).is_(None),
                col(Message.status).in_([s.value for s in OPEN_STATUSES]),
                col(Message.due_at) < NOW,
            )
        ).all()
        assert len(overdue) > 5
        assert session.exec(select(Message).where(col(Message.transfer_count) > 0)).first() is not None
        assert session.exec(select(Message).where(col(Message.status) == MessageStatus.closed)).first()

    with session_scope() as session:
        compare_every_scope(session)

    # The overdue view as it stood at other moments of the span (the messages as they are now): on
    # working days, weekends, the National Day holiday and its make-up Saturday, at the edges of a local
    # day, so that every bucket of working days late holds messages at some moment.
    moments = [
        FIRST_DAY + timedelta(days=d, hours=h) for d in range(3, SPAN_DAYS + 12, 4) for h in (1, 15, 23)
    ]
    moments += [datetime(2025, 10, 3, 12, tzinfo=UTC), datetime(2025, 10, 11, 2, tzinfo=UTC)]
    seen: set[str] = set()
    with session_scope() as session:
        for i, now in enumerate(moments):
            unit_code = (None, "gaj")[i % 2]
            report = compare_overdue(session, SYSTEM, now, unit_code=unit_code, limit=(1, 5, 20)[i % 3])
            seen.update(b["key"] for b in report["buckets"] if b["count"])
            seen.update(b["key"] for b in report["upcoming"] if b["count"])
    assert seen == {"lt1", "1-2", "3-5", "6-10", "gt10", "today", "3wd"}

    # Answers whose reply time was not stored (rows written another way) are measured on the fly, and
    # fill_reply_times (what migration 0014 runs) stores the same figures.
    with session_scope() as session:
        session.execute(
            update(Message)
            .where(col(Message.id).in_(unstored))
            .values(reply_working_days=None, reply_working_hours=None)
        )
        _compare(session, SYSTEM, full=False)
        assert sla.fill_reply_times(session=session, batch=7) == len(unstored)
        refilled = session.exec(select(Message).where(col(Message.first_replied_at).is_not(None))).all()
        assert {m.id: (m.reply_working_days, m.reply_working_hours) for m in refilled} == stored
