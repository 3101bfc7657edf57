"""What the demo loaders of several domains share: the demo county's supervising office and how the
2020 board writes its times. Imports no domain, so the loaders need not import `app.demo` (the entry point
that calls them)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.units.models import UnitCreate

SUPERVISOR = UnitCreate(code="zfb", name="县政府办公室（督办）", keywords=[])


def parse_local_time(value: str, tz: ZoneInfo) -> datetime:
    """Board times look like 2020/1/6 12:09:38 or 2019-04-25 09:32:09 (local time)."""
    value = value.strip().replace("/", "-")
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
