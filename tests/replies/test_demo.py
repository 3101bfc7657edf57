"""The demo loader records the board's real official replies once, at their real times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from app.db import session_scope
from app.messages.models import Message
from app.replies.demo import load
from app.replies.models import Reply
from app.sla import service as sla

DATA = Path(__file__).resolve().parents[2] / "data"


def test_official_replies_are_recorded_once_with_their_real_times(
    client, make_unit, make_account, admin_headers
):  # type: ignore[no-untyped-def]
    make_unit("zfb")
    board = make_account("zfb", platform="generic", external_id="gov-board")
    for external_id in ("wz-2549", "wz-not-in-file"):
        resp = client.post(
            "/api/v1/messages",
            json={
                "account_id": board["id"],
                "external_id": external_id,
                "content": "A2区景蓉华苑物业管理有问题",
                "received_at": "2019-04-25T09:32:09+08:00",
            },
            headers=admin_headers,
        )
        assert resp.status_code == 201
    summary: dict[str, int] = {}
    with session_scope() as session:
        load(session, DATA, summary)
    with session_scope() as session:
        load(session, DATA, summary)  # idempotent
    assert summary["replies"] == 1
    with session_scope() as session:
        replies = list(session.exec(select(Reply)))
        assert len(replies) == 1
        reply = replies[0]
        assert reply.state == "published" and reply.delivery == "manual"
        assert reply.published_at == datetime(2019, 5, 10, 6, 56, 53, tzinfo=UTC)
        message = session.get(Message, reply.message_id)
        assert message is not None and message.external_id == "wz-2549"
        assert message.status == "published"
        assert message.first_replied_at == reply.published_at
        # once the deadline step has run, the real verdict shows: answered after five working days
        sla.apply_deadline(session=session, message=message)
        assert message.sla_state == "missed"
