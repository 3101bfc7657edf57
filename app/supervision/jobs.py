"""Supervision's background job: send the recorded notices (zombie warnings and notices, escalations,
bulletins, calendar alerts) to the units' channels."""

from __future__ import annotations

from app import clock
from app.config import Settings
from app.db import session_scope
from app.scheduler import Job
from app.supervision.notices import send_pending

NOTICE_SECONDS = 60.0


def _send() -> int:
    with session_scope() as session:
        return send_pending(session=session, now=clock.now())


def jobs(settings: Settings) -> list[Job]:
    return [Job("supervision-notices", _send, NOTICE_SECONDS, True)]
