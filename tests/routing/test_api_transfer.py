"""Transfers and assignments: reason required, the deadline kept, counted and recorded, scoped, audited."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import session_scope
from app.routing.models import RoutingExample
from app.routing.transfers import transfers_out
from tests.routing.conftest import County, drain


def _transfer(
    county: County, message_id: int, unit: str, headers: dict[str, str], reason: str = "属于该单位职责"
):  # type: ignore[no-untyped-def]
    return county.client.post(
        f"/api/v1/messages/{message_id}/transfer", json={"unit_code": unit, "reason": reason}, headers=headers
    )


def test_transfer_keeps_the_deadline_counts_and_records_history(county: County, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    message_id = county.ingest("老板拖欠我三个月工资，欠薪问题谁来管？")
    drain()
    before = county.get(message_id)
    assert before["unit_code"] == "hrss"

    frozen_clock.set(datetime(2026, 3, 4, 2, 0, tzinfo=UTC))  # two days later
    operator = county.people("operator", "hrss")
    resp = _transfer(county, message_id, "police", operator, reason="涉嫌诈骗，请公安处理")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["unit_code"] == "police" and body["transfer_count"] == 1
    assert body["due_at"] == before["due_at"]
    assert body["transfer"]["from_unit"] == "hrss" and body["transfer"]["to_unit"] == "police"

    after = county.get(message_id)
    assert after["due_at"] == before["due_at"] and after["transfer_count"] == 1
    # The former unit's operator no longer sees it; the new unit's operator does and may pass it on.
    assert county.client.get(f"/api/v1/messages/{message_id}", headers=operator).status_code == 404
    police = county.people("operator", "police")
    assert _transfer(county, message_id, "edu", police).status_code == 200

    history = county.client.get(f"/api/v1/messages/{message_id}/transfers", headers=county.admin).json()
    assert [(h["from_unit"], h["to_unit"], h["kind"]) for h in history] == [
        ("hrss", "police", "transfer"),
        ("police", "edu", "transfer"),
    ]
    assert history[0]["reason"] == "涉嫌诈骗，请公安处理" and history[0]["actor_name"] == "operator-hrss"
    assert county.get(message_id)["transfer_count"] == 2
    with session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "message.transfer")).all()
        assert len(events) == 2 and events[0].note == "涉嫌诈骗，请公安处理"
        assert transfers_out(session=session) == {"hrss": 1, "police": 1}
        assert transfers_out(session=session, start=datetime(2026, 3, 5, tzinfo=UTC)) == {}
        # The last unit is what the router learns from.
        examples = session.exec(select(RoutingExample)).all()
        assert [(e.unit_code, e.source) for e in examples] == [("edu", "transfer")]


def test_transfer_errors(county: County) -> None:
    message_id = county.ingest("老板拖欠我三个月工资，欠薪问题谁来管？")
    drain()
    operator = county.people("operator", "hrss")
    assert _transfer(county, message_id, "nowhere", operator).status_code == 422
    assert _transfer(county, message_id, "hrss", operator).status_code == 422
    assert _transfer(county, message_id, "police", operator, reason="a").status_code == 422
    assert _transfer(county, message_id, "police", operator, reason="  ").status_code == 422
    missing = county.client.post(
        f"/api/v1/messages/{message_id}/transfer", json={"unit_code": "police"}, headers=operator
    )
    assert missing.status_code == 422
    # Outside the caller's units it does not exist; roles that do not handle messages may not.
    assert _transfer(county, message_id, "police", county.people("operator", "edu")).status_code == 404
    assert _transfer(county, 99999, "police", operator).status_code == 404
    assert _transfer(county, message_id, "police", county.people("reviewer", "hrss")).status_code == 403
    assert _transfer(county, message_id, "police", county.people("auditor")).status_code == 403
    history = county.client.get(
        f"/api/v1/messages/{message_id}/transfers", headers=county.people("operator", "edu")
    )
    assert history.status_code == 404
    assert county.get(message_id)["transfer_count"] == 0


def test_a_supervisor_and_the_leader_may_transfer_but_not_once_a_draft_exists(county: County) -> None:
    message_id = county.ingest("老板拖欠我三个月工资，欠薪问题谁来管？")
    drain()
    assert _transfer(county, message_id, "police", county.people("supervisor")).status_code == 200
    assert _transfer(county, message_id, "hrss", county.people("leader", "police")).status_code == 200
    operator = county.people("operator", "hrss")
    draft = county.client.post(
        f"/api/v1/messages/{message_id}/replies",
        json={"text": "您好，已转劳动监察大队核查。"},
        headers=operator,
    )
    assert draft.status_code == 201, draft.text
    resp = _transfer(county, message_id, "edu", operator)
    assert resp.status_code == 409


def test_assign_by_supervisor_or_dispatcher_settles_out_of_scope(county: County) -> None:
    county.client.put(
        "/api/v1/routing/settings",
        json={"fallback": "dispatcher", "dispatcher_unit_code": "office"},
        headers=county.admin,
    )
    message_id = county.ingest("我在杭州旅游时被景区商家宰客了，你们管一管")
    drain()
    suspected = county.get(message_id)
    assert suspected["out_of_scope"] is True and suspected["unit_code"] == "office"

    assert (
        county.client.post(
            f"/api/v1/messages/{message_id}/assign",
            json={"unit_code": "edu"},
            headers=county.people("operator", "edu"),
        ).status_code
        == 404
    )
    assert (
        county.client.post(
            f"/api/v1/messages/{message_id}/assign",
            json={"unit_code": "edu"},
            headers=county.people("reviewer", "office"),
        ).status_code
        == 403
    )
    dispatcher = county.people("operator", "office")
    resp = county.client.post(
        f"/api/v1/messages/{message_id}/assign",
        json={"unit_code": "hrss", "reason": "本县企业组织的旅游"},
        headers=dispatcher,
    )
    assert resp.status_code == 200, resp.text
    body = county.get(message_id)
    assert body["unit_code"] == "hrss" and body["transfer_count"] == 0
    assert body["out_of_scope"] is False and "out_of_scope" not in body["flags"]
    assert body["due_at"] > suspected["due_at"]  # five working days from receipt, not the same day
    history = county.client.get(f"/api/v1/messages/{message_id}/transfers", headers=county.admin).json()
    assert [(h["kind"], h["from_unit"], h["to_unit"]) for h in history] == [("assign", "office", "hrss")]
    with session_scope() as session:
        assert (
            session.exec(select(AuditEvent).where(AuditEvent.action == "message.assign")).first() is not None
        )
        assert [e.source for e in session.exec(select(RoutingExample))] == ["assign"]
    supervisor = county.people("supervisor")
    resp = county.client.post(
        f"/api/v1/messages/{message_id}/assign", json={"unit_code": "x"}, headers=supervisor
    )
    assert resp.status_code == 422
