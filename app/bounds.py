"""The bounds every input is held to, in one place: ids fit a signed 64-bit column, times and dates lie
between 2000-01-01 and 2100-01-01 (the calendar's years), text carries no NUL character. Path ids and NUL
characters are checked at the edge (`app.main.Edge`); dates and times with the annotated types here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator

MAX_ID = 2**63 - 1
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
RANGE_TEXT = "应在 2000-01-01 至 2100-01-01 之间"


def in_range(value: datetime) -> bool:
    """Whether an instant (a naive one read as UTC) lies within EARLIEST … LATEST."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return EARLIEST <= aware < LATEST


def _datetime(value: datetime) -> datetime:
    if not in_range(value):
        raise ValueError(f"时间{RANGE_TEXT}")
    return value


def _date(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"日期{RANGE_TEXT}")
    return value


# Use these for every date or time a request carries (query, path or body).
BoundedDatetime = Annotated[datetime, AfterValidator(_datetime)]
BoundedDate = Annotated[date, AfterValidator(_date)]


def oversized_id(segment: str) -> bool:
    """A path segment that is a number too large to be any row's id."""
    return segment.isascii() and segment.isdigit() and (len(segment) > 19 or int(segment) > MAX_ID)
