"""The version rows and the per-process cache that routing, moderation and the SLA calendar share."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from app import versioning
from app.calendar.models import CalendarVersion
from app.db import session_scope
from app.versioning import VersionedCache, VersionKey

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_bump_creates_the_row_then_advances_it_with_a_new_stamp() -> None:
    with session_scope() as session:
        assert versioning.read(CalendarVersion, session=session, row_id=1) is None
        versioning.bump(CalendarVersion, session=session, row_id=1, now=NOW)
        first = versioning.read(CalendarVersion, session=session, row_id=1)
        versioning.bump(CalendarVersion, session=session, row_id=1, now=NOW)
        second = versioning.read(CalendarVersion, session=session, row_id=1)
    assert first is not None and second is not None
    assert (first[0], second[0]) == (1, 2)
    assert first[1] != second[1] and len(second[1]) == 32


def test_cache_rebuilds_only_when_the_key_changes() -> None:
    cache: VersionedCache[VersionKey, str] = VersionedCache("test.value")
    keys: list[VersionKey | None] = [None, None, (1, "a"), (1, "a"), (2, "b"), None, None]
    builds: list[VersionKey | None] = []

    def build(_session: Session, key: VersionKey | None) -> str:
        builds.append(key)
        return f"built for {key}"

    values = []
    for key in keys:
        session = Session()
        values.append(cache.get(session, key=lambda _s, k=key: k, build=build))
        # Within a session the value is not looked up again.
        assert cache.get(session, key=lambda _s: (9, "z"), build=build) == values[-1]
    # Kept until the key changes; "no version row yet" is a key too (built once, not per session), and a
    # database emptied or recreated (no row again) gets a value built for it, not the last one held.
    assert builds == [None, (1, "a"), (2, "b"), None]
    assert values[3] == "built for (1, 'a')"


def test_forget_drops_the_sessions_value() -> None:
    cache: VersionedCache[VersionKey, str] = VersionedCache("test.value")
    session = Session()
    assert cache.get(session, key=lambda _s: (1, "a"), build=lambda _s, k: "first") == "first"
    cache.forget(session)
    assert cache.get(session, key=lambda _s: (2, "b"), build=lambda _s, k: "second") == "second"
