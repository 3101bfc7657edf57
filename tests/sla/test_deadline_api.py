"""The deadline calculator, a message's deadline and its basis, and calendar changes through the API:
overrides and a whole year's arrangement recompute exactly the open deadlines they can move, audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.calendar.workdays import WorkCalendar
from app.db import session_scope
from app.messages.models import Message
from app.sla.service import apply_deadline, mark_replied
from tests.sla.conftest import local, message

needs_uncovered_2027 = pytest.mark.skipif(
    WorkCalendar.covers_officially(2027), reason="installed chinesecalendar already has 2027 data"
)


def _iso(at):  # type: ignore[no-untyped-def]
    return at.isoformat().replace("+00:00", "Z")


def test_deadline_endpoint_shows_counted_and_skipped_days_with_sources(
    client, admin_headers, make_user, make_unit
):
    make_unit("a")
    operator = make_user("operator", "a")
    resp = client.get(
        "/api/v1/calendar/deadline",
        params={"received_at": "2026-02-12T10:00:00+08:00", "working_days": 5},
        headers=operator,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["due_at"] == "2026-02-26T15:59:59Z"
    assert body["provisional"] is False and body["working_days"] == 5
    basis = body["basis"]
    assert [d["date"] for d in basis["counted"]] == [
        "2026-02-13",
        "2026-02-14",
        "2026-02-24",
        "2026-02-25",
        "2026-02-26",
    ]
    saturday = basis["counted"][1]
    assert (saturday["label"], saturday["source"]) == ("调休上班（春节）", "official")
    assert len(basis["skipped"]) == 9 and {d["source"] for d in basis["skipped"]} == {"official"}
    assert "2月15日周日至2月23日周一 放假（春节）" in basis["explanation"]

    # An unencoded "+" arrives as a space; a time without offset is Beijing time; a date alone is 00:00.
    for raw in ("2026-02-12T10:00:00 08:00", "2026-02-12T10:00:00", "2026-02-12T02:00:00Z"):
        again = client.get("/api/v1/calendar/deadline", params={"received_at": raw}, headers=operator)
        assert again.json()["due_at"] == "2026-02-26T15:59:59Z", raw

    same_day = client.get(
        "/api/v1/calendar/deadline",
        params={"received_at": "2026-02-15T09:00:00+08:00", "working_days": 0},
        headers=operator,
    ).json()
    assert same_day["due_at"] == "2026-02-24T15:59:59Z"  # Spring Festival: the next working day

    for bad in ({"received_at": "明天"}, {"received_at": "2026-02-12", "working_days": -1}):
        resp = client.get("/api/v1/calendar/deadline", params=bad, headers=operator)
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid"
    assert client.get("/api/v1/calendar/deadline", params={"received_at": "2026-02-12"}).status_code == 401


def test_deadline_endpoint_uses_the_units_limit(client, admin_headers, make_unit):
    make_unit("fast", reply_working_days=3)
    body = client.get(
        "/api/v1/calendar/deadline",
        params={"received_at": "2026-03-02T10:00:00+08:00", "unit_code": "fast"},
        headers=admin_headers,
    ).json()
    assert (body["working_days"], body["due_at"]) == (3, "2026-03-05T15:59:59Z")


def test_message_gets_its_deadline_and_the_basis_is_visible_to_its_unit(
    client, admin_headers, make_unit, make_account, make_user, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 2, 12, 10, 5))
    make_unit("a")
    make_unit("b")
    acc = make_account("a")
    message_id = ingest(acc["id"], local(2026, 2, 12, 10))
    detail = client.get(f"/api/v1/messages/{message_id}", headers=admin_headers).json()
    assert detail["due_at"] == "2026-02-26T15:59:59Z"
    assert (detail["provisional"], detail["sla_state"]) == (False, "on_track")

    leader = make_user("leader", "a")
    view = client.get(f"/api/v1/messages/{message_id}/deadline", headers=leader)
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["working_days"] == 5 and body["due_at"] == "2026-02-26T15:59:59Z"
    assert body["due_soon_at"] == "2026-02-25T16:00:00Z"  # 00:00 Beijing of the due day
    assert body["next_check_at"] == body["due_soon_at"]
    assert body["basis"]["counted"][1]["source"] == "official"
    assert "收到当日不计入" in body["basis"]["rule"]
    assert body["notifications"] == []
    other = make_user("operator", "b")
    assert client.get(f"/api/v1/messages/{message_id}/deadline", headers=other).status_code == 404


def test_transfer_does_not_restart_the_clock_and_out_of_scope_is_same_day(
    client, make_unit, make_account, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 6, 10))
    make_unit("a")
    make_unit("b", reply_working_days=10)
    acc = make_account("a")
    message_id = ingest(acc["id"], local(2026, 3, 2, 10))
    assert message(message_id).due_at == local(2026, 3, 9, 23, 59, 59)
    with session_scope() as session:
        moved = session.get(Message, message_id)
        assert moved is not None
        # Transfer to a unit with the same limit: the deadline still counts from receipt.
        moved.unit_code, moved.transfer_count = "a", 1
        apply_deadline(session=session, message=moved, working_days=5)
        assert moved.due_at == local(2026, 3, 9, 23, 59, 59)
        assert moved.sla_state == "on_track"
        moved.out_of_scope = True
        apply_deadline(session=session, message=moved)
        # Out of scope: 23:59:59 of the receipt day (a Monday), already past on Friday.
        assert (moved.working_days, moved.due_at) == (0, local(2026, 3, 2, 23, 59, 59))
        assert moved.sla_state == "overdue"


def test_override_recomputes_only_the_open_deadlines_it_can_move_and_is_audited(
    client, admin_headers, make_unit, make_account, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 2, 12))
    make_unit("a")
    acc = make_account("a")
    affected = ingest(acc["id"], local(2026, 3, 2, 10))  # 3/3 … 3/9
    frozen_clock.set(local(2026, 3, 10, 12))  # receipt times are never in the future
    later = ingest(acc["id"], local(2026, 3, 10, 10))  # received after the changed day
    frozen_clock.set(local(2026, 3, 2, 12))
    earlier = ingest(acc["id"], local(2026, 2, 20, 10))  # due 2/28, before the changed day
    answered = ingest(acc["id"], local(2026, 3, 2, 11))
    with session_scope() as session:
        done = session.get(Message, answered)
        assert done is not None
        mark_replied(session=session, message=done, replied_at=local(2026, 3, 2, 16))
    untouched_before = {mid: message(mid) for mid in (later, earlier, answered)}
    assert message(affected).due_at == local(2026, 3, 9, 23, 59, 59)

    resp = client.put(
        "/api/v1/calendar/days/2026-03-05",
        json={"kind": "holiday", "note": "临时停电放假"},
        headers=admin_headers,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["recomputed"] == 1
    assert (body["day"]["source"], body["day"]["workday"], body["day"]["note"]) == (
        "override",
        False,
        "临时停电放假",
    )

    moved = message(affected)
    assert moved.due_at == local(2026, 3, 10, 23, 59, 59)
    assert moved.deadline_basis is not None
    skipped = {d["date"]: d for d in moved.deadline_basis["skipped"]}
    assert skipped["2026-03-05"]["source"] == "override"
    for mid, before in untouched_before.items():
        after = message(mid)
        assert (after.due_at, after.updated_at, after.deadline_basis) == (
            before.due_at,
            before.updated_at,
            before.deadline_basis,
        ), mid

    events = client.get(
        "/api/v1/audit/events", params={"action": "message.deadline_recomputed"}, headers=admin_headers
    ).json()
    assert [e["entity_id"] for e in events] == [str(affected)]
    assert events[0]["before"]["due_at"].startswith("2026-03-09T15:59:59")
    assert events[0]["after"]["due_at"].startswith("2026-03-10T15:59:59")
    assert "临时停电放假" in events[0]["note"]
    day_events = client.get(
        "/api/v1/audit/events", params={"entity_type": "calendar_day"}, headers=admin_headers
    ).json()
    assert [(e["action"], e["after"]) for e in day_events] == [
        ("calendar.day_set", {"kind": "holiday", "note": "临时停电放假"})
    ]

    # The calculator sees the override at once.
    calc = client.get(
        "/api/v1/calendar/deadline",
        params={"received_at": "2026-03-02T10:00:00+08:00"},
        headers=admin_headers,
    ).json()
    assert calc["due_at"] == "2026-03-10T15:59:59Z"

    resp = client.delete("/api/v1/calendar/days/2026-03-05", headers=admin_headers)
    assert resp.status_code == 200 and resp.json()["recomputed"] == 1
    assert resp.json()["day"]["source"] == "official"
    assert message(affected).due_at == local(2026, 3, 9, 23, 59, 59)
    assert client.delete("/api/v1/calendar/days/2026-03-05", headers=admin_headers).status_code == 404


def test_a_working_saturday_override_moves_deadlines_earlier(
    client, admin_headers, make_unit, make_account, ingest, frozen_clock
):
    frozen_clock.set(local(2026, 3, 2, 12))
    make_unit("a")
    acc = make_account("a")
    mid = ingest(acc["id"], local(2026, 3, 2, 10))
    resp = client.put("/api/v1/calendar/days/2026-03-07", json={"kind": "workday"}, headers=admin_headers)
    assert resp.json()["recomputed"] == 1
    assert message(mid).due_at == local(2026, 3, 7, 23, 59, 59)
    listed = client.get("/api/v1/calendar/days", params={"year": 2026}, headers=admin_headers).json()
    saturday = next(d for d in listed["days"] if d["date"] == "2026-03-07")
    assert (saturday["source"], saturday["workday"], saturday["label"]) == ("override", True, "调休上班")
    assert listed["official"] is True and listed["provisional"] is False


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# A plausible (not the real) 2027 arrangement, as an administrator would enter it.
ARRANGEMENT_2027 = [
    *[
        {"date": d.isoformat(), "kind": "holiday", "note": "元旦"}
        for d in _days(date(2027, 1, 1), date(2027, 1, 3))
    ],
    {"date": "2027-01-31", "kind": "workday", "note": "春节调休上班"},
    *[
        {"date": d.isoformat(), "kind": "holiday", "note": "春节"}
        for d in _days(date(2027, 2, 5), date(2027, 2, 13))
    ],
    {"date": "2027-02-20", "kind": "workday", "note": "春节调休上班"},
    *[
        {"date": d.isoformat(), "kind": "holiday", "note": "劳动节"}
        for d in _days(date(2027, 5, 1), date(2027, 5, 5))
    ],
    *[
        {"date": d.isoformat(), "kind": "holiday", "note": "国庆节"}
        for d in _days(date(2027, 10, 1), date(2027, 10, 7))
    ],
]


@needs_uncovered_2027
def test_2027_is_provisional_until_its_arrangement_is_entered(
    client, admin_headers, make_unit, make_account, make_user, ingest, frozen_clock
):
    frozen_clock.set(local(2027, 1, 29, 11))
    make_unit("a")
    acc = make_account("a")
    year_end = ingest(acc["id"], local(2026, 12, 28, 10))
    spring = ingest(acc["id"], local(2027, 1, 29, 10))
    before = message(year_end)
    assert (before.due_at, before.provisional) == (local(2027, 1, 5, 23, 59, 59), True)
    assert (
        before.deadline_basis is not None and "2027年放假安排尚未录入" in before.deadline_basis["explanation"]
    )
    # Provisional: 2/1–2/4, then the statutory Spring Festival (2/5–2/8, made up 2/9–2/10) rests: 2/11.
    assert (message(spring).due_at, message(spring).provisional) == (local(2027, 2, 11, 23, 59, 59), True)
    listed = client.get("/api/v1/calendar/days", params={"year": 2027}, headers=admin_headers).json()
    assert (listed["official"], listed["complete"], listed["provisional"]) == (False, False, True)
    assert {d["source"] for d in listed["days"]} == {"provisional"}

    leader = make_user("leader", "a")
    assert (
        client.put("/api/v1/calendar/years/2027", json={"days": ARRANGEMENT_2027}, headers=leader).status_code
        == 403
    )
    resp = client.put(
        "/api/v1/calendar/years/2027",
        json={"days": ARRANGEMENT_2027, "complete": True, "note": "国办发明电（测试）"},
        headers=admin_headers,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["recomputed"] == 2 and resp.json()["complete"] is True

    exact = message(year_end)
    assert (exact.due_at, exact.provisional) == (local(2027, 1, 5, 23, 59, 59), False)
    assert exact.deadline_basis is not None and "尚未录入" not in exact.deadline_basis["explanation"]
    # 1/31 (Sunday) is now a working day: 1/31, 2/1, 2/2, 2/3, 2/4.
    assert (message(spring).due_at, message(spring).provisional) == (local(2027, 2, 4, 23, 59, 59), False)
    calc = client.get(
        "/api/v1/calendar/deadline", params={"received_at": "2027-02-01T10:00:00+08:00"}, headers=leader
    ).json()
    assert (calc["due_at"], calc["provisional"]) == ("2027-02-16T15:59:59Z", False)

    listed = client.get("/api/v1/calendar/days", params={"year": 2027}, headers=leader).json()
    assert (listed["complete"], listed["provisional"]) == (True, False)
    assert {d["source"] for d in listed["days"]} == {"override"}
    assert len(listed["days"]) == len(ARRANGEMENT_2027)
    year_events = client.get(
        "/api/v1/audit/events", params={"entity_type": "calendar_year"}, headers=admin_headers
    ).json()
    assert len(year_events) == 1 and year_events[0]["after"]["complete"] is True


def test_calendar_writes_are_admin_only_and_inputs_are_checked(client, admin_headers, make_unit, make_user):
    make_unit("a")
    for role in ("operator", "leader", "reviewer"):
        headers = make_user(role, "a")
        assert (
            client.put(
                "/api/v1/calendar/days/2026-03-05", json={"kind": "holiday"}, headers=headers
            ).status_code
            == 403
        )
        assert client.delete("/api/v1/calendar/days/2026-03-05", headers=headers).status_code == 403
        assert client.get("/api/v1/calendar/days", params={"year": 2026}, headers=headers).status_code == 200
    supervisor = make_user("supervisor")
    assert (
        client.put(
            "/api/v1/calendar/days/2026-03-05", json={"kind": "holiday"}, headers=supervisor
        ).status_code
        == 403
    )
    bad = [
        client.put("/api/v1/calendar/days/2026-02-30", json={"kind": "holiday"}, headers=admin_headers),
        client.put("/api/v1/calendar/days/2026-03-05", json={"kind": "rest"}, headers=admin_headers),
        client.put("/api/v1/calendar/years/1999", json={"days": []}, headers=admin_headers),
        client.put(
            "/api/v1/calendar/years/2027",
            json={"days": [{"date": "2028-01-01", "kind": "holiday"}]},
            headers=admin_headers,
        ),
        client.put(
            "/api/v1/calendar/years/2027",
            json={
                "days": [{"date": "2027-01-01", "kind": "holiday"}, {"date": "2027-01-01", "kind": "workday"}]
            },
            headers=admin_headers,
        ),
    ]
    assert [r.status_code for r in bad] == [422] * len(bad)
    assert all("error" in r.json() for r in bad)
