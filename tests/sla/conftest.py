"""Helpers for the SLA tests: ingest a message at a given local time and give it its deadline."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app import clock
from app.db import session_scope
from app.intake.pipeline import Pipeline
from app.intake.steps import set_deadline
from app.messages.models import Message
from tests.helpers import post_message

SH = ZoneInfo("Asia/Shanghai")


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0, ss: int = 0) -> datetime:
    """An instant given in Beijing time, as aware UTC."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH).astimezone(UTC)


def run_deadline_step(now: datetime) -> None:
    """Runs the pipeline with only the deadline step (the other steps belong to other domains)."""
    Pipeline([("deadline", set_deadline)]).drain(now=now)


def message(message_id: int) -> Message:
    with session_scope() as session:
        found = session.get(Message, message_id)
        assert found is not None
        session.expunge(found)
        return found


@pytest.fixture
def ingest(client, admin_headers) -> Callable[..., int]:  # type: ignore[no-untyped-def]
    """Stores a message received at `received_at` (aware) and runs the deadline step at the
    clock's time; returns its id."""

    def _ingest(
        account_id: int,
        received_at: datetime,
        *,
        kind: str = "comment",
        author: str = "citizen",
        content: str = "小区门口路灯坏了很久，请尽快修理。",
    ) -> int:
        body = {
            "account_id": account_id,
            "external_id": f"m-{secrets.token_hex(4)}",
            "kind": kind,
            "author": {"id": author, "name": author},
            "content": content,
            "received_at": received_at.isoformat(),
        }
        message_id = post_message(client, admin_headers, body)
        run_deadline_step(clock.now())
        return message_id

    return _ingest
