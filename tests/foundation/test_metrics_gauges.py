"""`/metrics` counts open messages by SLA state on every scrape (from the partial index
ix_messages_open_sla); a state whose last open message is answered or closed drops out of the gauge."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlmodel import select

from app.db import session_scope
from app.messages.models import Message

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _gauge(client) -> dict[str, float]:
    text = client.get("/metrics").text
    return {
        state: float(v)
        for state, v in re.findall(r'^huiying_open_messages\{sla_state="(\w+)"\} (\S+)$', text, re.M)
    }


def test_open_messages_by_sla_state_follow_the_messages(client, make_unit, make_account) -> None:
    make_unit("a", "甲局")
    account = make_account("a")
    with session_scope() as session:
        for i, (status, state) in enumerate(
            [("open", "overdue"), ("open", "on_track"), ("drafting", "on_track"), ("published", "met")]
        ):
            session.add(
                Message(
                    account_id=int(account["id"]),
                    platform=str(account["platform"]),
                    external_id=f"m-{i}",
                    kind="comment",
                    content="路灯坏了",
                    received_at=AT,
                    created_at=AT,
                    updated_at=AT,
                    status=status,
                    sla_state=state,
                    unit_code="a",
                )
            )
    assert _gauge(client) == {"overdue": 1.0, "on_track": 2.0}
    with session_scope() as session:
        late = session.exec(select(Message).where(Message.sla_state == "overdue")).one()
        late.status = "closed"
        session.add(late)
    assert _gauge(client) == {"on_track": 2.0}
