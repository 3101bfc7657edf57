"""Fixtures for report tests: messages written straight into the table with hand-chosen outcomes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.config import get_settings
from app.db import session_scope
from app.messages.models import Message

TZ = ZoneInfo("Asia/Shanghai")
_ids = itertools.count(1)


def local(*parts: int) -> datetime:
    """A local (Asia/Shanghai) time as aware UTC, e.g. local(2025, 3, 3, 9)."""
    return datetime(*parts, tzinfo=TZ).astimezone(UTC)  # type: ignore[misc]


def end_of(year: int, month: int, day: int) -> datetime:
    """23:59:59 local of that day: where every deadline falls."""
    return local(year, month, day, 23, 59, 59)


@pytest.fixture
def add_message() -> Callable[..., int]:
    def _add(
        account: dict[str, Any],
        received_at: datetime,
        *,
        unit_code: str | None = None,
        due_at: datetime | None = None,
        replied_at: datetime | None = None,
        status: str | None = None,
        out_of_scope: bool = False,
        transfer_count: int = 0,
        escalation_level: int = 0,
        content: str = "路灯坏了，晚上出行不便",
    ) -> int:
        with session_scope() as session:
            message = Message(
                account_id=int(account["id"]),
                platform=str(account["platform"]),
                external_id=f"t-{next(_ids)}",
                kind="comment",
                content=content,
                received_at=received_at,
                created_at=received_at,
                updated_at=received_at,
                status=status or ("published" if replied_at else "open"),
                unit_code=unit_code or str(account["unit_code"]),
                out_of_scope=out_of_scope,
                transfer_count=transfer_count,
                escalation_level=escalation_level,
                due_at=due_at,
                working_days=0 if out_of_scope else 5,
                first_replied_at=replied_at,
            )
            session.add(message)
            session.flush()
            assert message.id is not None
            return message.id

    return _add


@pytest.fixture(params=["Asia/Shanghai", "Europe/Berlin"])
def zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HUIYING_TIMEZONE", request.param)
    get_settings.cache_clear()
    yield request.param
    monkeypatch.undo()
    get_settings.cache_clear()
