"""The functions other domains call: the cached calendar stays in step across processes; settings
changes reach open messages."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from app import clock
from app.calendar.models import CalendarDay
from app.calendar.service import calendar_changed, load_calendar
from app.config import get_settings
from app.db import make_engine, session_scope
from tests.sla.conftest import local, message


def test_cached_calendar_is_reused_until_another_process_changes_it(client, admin_headers):
    assert (
        client.put(
            "/api/v1/calendar/days/2026-03-05", json={"kind": "holiday"}, headers=admin_headers
        ).status_code
        == 200
    )
    with session_scope() as session:
        first = load_calendar(session=session)
        assert load_calendar(session=session) is first
    with session_scope() as session:
        assert load_calendar(session=session) is first  # same version: no reload
        assert not first.is_workday(date(2026, 3, 5))

    # "Another process": its own engine writes an override and bumps the version.
    other = make_engine(get_settings())
    try:
        with Session(other) as session:
            session.add(
                CalendarDay(
                    day=date(2026, 3, 6), kind="holiday", note="", updated_by="x", updated_at=clock.now()
                )
            )
            calendar_changed(session=session, now=clock.now())
            session.commit()
    finally:
        other.dispose()
    with session_scope() as session:
        fresh = load_calendar(session=session)
    assert fresh is not first
    assert not fresh.is_workday(date(2026, 3, 6)) and first.is_workday(date(2026, 3, 6))


def test_changing_the_due_soon_rule_moves_open_messages(
    client, admin_headers, make_unit, make_account, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 2, 12))
    make_unit("a")
    acc = make_account("a")
    mid = ingest(acc["id"], local(2026, 3, 2, 10))
    assert message(mid).due_soon_at == local(2026, 3, 9, 0, 0)
    settings = client.get("/api/v1/sla/settings", headers=admin_headers).json()
    resp = client.put(
        "/api/v1/sla/settings",
        json={**settings, "due_soon_policy": "hours_before", "due_soon_hours": 48},
        headers=admin_headers,
    )
    assert resp.status_code == 200, resp.text
    moved = message(mid)
    assert moved.due_soon_at == local(2026, 3, 9, 23, 59, 59) - timedelta(hours=48)
    assert moved.next_check_at == local(2026, 3, 2, 12)  # the sweep looks at it again under the new rule
    events = client.get(
        "/api/v1/audit/events", params={"action": "sla.settings_update"}, headers=admin_headers
    ).json()
    assert len(events) == 1 and events[0]["after"]["due_soon_hours"] == 48
