"""Found during the supervision review: after a transfer the routing text and later deadline alerts name
the new unit; the account's owning office dispatching a message it received by the account fallback is
an assignment (分派), not a transfer out (转出)."""

from __future__ import annotations

from sqlmodel import select

from app.db import session_scope
from app.notifications.models import SlaNotification
from app.routing.transfers import transfers_out
from tests.routing.conftest import County, drain


def test_the_owning_office_dispatches_without_counting_a_transfer_out(county: County) -> None:
    # Nothing in the text names a unit: routing is unsure and the account fallback sends it to the office.
    message_id = county.ingest("你们什么时候给个说法")
    drain()
    assert county.get(message_id)["unit_code"] == "office"
    office_operator = county.people("operator", "office")
    resp = county.client.post(
        f"/api/v1/messages/{message_id}/transfer",
        json={"unit_code": "police", "reason": "按职责分派"},
        headers=office_operator,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["transfer"]["kind"] == "assign" and body["transfer_count"] == 0
    with session_scope() as session:
        assert transfers_out(session=session).get("office", 0) == 0
    # The routing record now names the unit that holds it, and says how it got there.
    routing = county.client.get(f"/api/v1/messages/{message_id}", headers=county.admin).json()["routing"]
    assert routing["unit_code"] == "police"
    assert "已由office分派至police（按职责分派）" in routing["reason"]

    # A second hand-off, by the police, is a transfer out of the police.
    police = county.people("operator", "police")
    again = county.client.post(
        f"/api/v1/messages/{message_id}/transfer",
        json={"unit_code": "hrss", "reason": "涉及欠薪"},
        headers=police,
    )
    assert again.json()["transfer"]["kind"] == "transfer" and again.json()["transfer_count"] == 1
    with session_scope() as session:
        assert transfers_out(session=session) == {"police": 1}


def test_a_message_routed_with_confidence_is_still_a_transfer(county: County) -> None:
    message_id = county.ingest("老板拖欠我三个月工资，欠薪问题谁来管？")
    drain()
    hrss = county.people("operator", "hrss")
    resp = county.client.post(
        f"/api/v1/messages/{message_id}/transfer",
        json={"unit_code": "police", "reason": "涉嫌诈骗"},
        headers=hrss,
    )
    assert resp.json()["transfer"]["kind"] == "transfer"
    with session_scope() as session:
        assert transfers_out(session=session) == {"hrss": 1}


def test_unsent_deadline_notices_follow_the_message(county: County, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from app.sla.sweep import sweep

    message_id = county.ingest("老板拖欠我三个月工资，欠薪问题谁来管？")
    drain()
    # Far past the deadline: the sweep records the breach notices for hrss (no channel: they wait).
    frozen_clock.set(datetime(2026, 3, 20, 2, 0, tzinfo=UTC))
    sweep()
    with session_scope() as session:
        before = session.exec(select(SlaNotification).where(SlaNotification.message_id == message_id)).all()
        assert before and all(n.state in ("pending", "skipped") for n in before)
        pending_before = [n for n in before if n.state == "pending"]
    supervisor = county.people("supervisor")
    resp = county.client.post(
        f"/api/v1/messages/{message_id}/transfer",
        json={"unit_code": "police", "reason": "涉嫌诈骗"},
        headers=supervisor,
    )
    assert resp.status_code == 200
    sweep()
    with session_scope() as session:
        after = session.exec(select(SlaNotification).where(SlaNotification.message_id == message_id)).all()
        pending = [n for n in after if n.state == "pending"]
    assert pending_before and any("青禾县人社局" in n.text for n in pending_before)
    assert {n.unit_code for n in pending_before} & {"hrss", "office"}
    # The unsent ones were recorded again for the police; none still names the old unit.
    assert pending and all("青禾县人社局" not in n.text for n in pending)
    assert any(n.unit_code == "police" for n in pending)
