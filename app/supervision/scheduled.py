"""Supervision's background jobs: the daily reminder to enter next year's holiday arrangement, and send the recorded notices (zombie warnings and notices, escalations,
bulletins, calendar alerts) to the units' channels."""

from __future__ import annotations

from app import clock
from app.config import Settings
from app.db import session_scope
from app.jobs import Job
from app.supervision.calendar_alert import check_next_year
from app.supervision.notices import send_pending
from app.supervision.posts import run as poll_posts

NOTICE_SECONDS = 60.0
CALENDAR_SECONDS = 3600.0
POSTS_SECONDS = 3600.0


def _send() -> int:
    with session_scope() as session:
        return send_pending(session=session, now=clock.now())


def _calendar(settings: Settings) -> int:
    with session_scope() as session:
        return check_next_year(session=session, now=clock.now(), tz=settings.tz)


def _posts() -> int:
    with session_scope() as session:
        return poll_posts(session=session, now=clock.now())


def jobs(settings: Settings) -> list[Job]:
    return [
        Job("supervision-notices", _send, NOTICE_SECONDS, True),
        # Hourly; the notice's key holds the local date, so each day is reminded once.
        Job("calendar-arrangement-alert", lambda: _calendar(settings), CALENDAR_SECONDS, True),
        # The accounts' own posts (the zombie check's input), hourly.
        Job("account-posts", _posts, POSTS_SECONDS, True),
    ]
