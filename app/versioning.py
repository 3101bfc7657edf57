"""Version rows behind per-process caches: bumped with a random stamp in the transaction of each change,
read once per session to tell whether the value a process keeps is stale; and that cache."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from datetime import datetime
from threading import Lock
from typing import Generic, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, SQLModel

# (version, stamp): the stamp is random per change, so a database restored or recreated with the same
# version number still reads as new.
VersionKey = tuple[int, str]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _table(model: type[SQLModel]) -> Table:
    """The table of a model with columns `id`, `version`, `stamp` and `updated_at`."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def bump_statement(model: type[SQLModel], *, row_id: int, dialect: str, now: datetime) -> Insert:
    """An upsert that creates the row at version 1 or adds one to its version, with a new stamp."""
    table = _table(model)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stamp = secrets.token_hex(16)
    return (
        insert(table)
        .values(id=row_id, version=1, stamp=stamp, updated_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.id],
            set_={"version": table.c.version + 1, "stamp": stamp, "updated_at": now},
        )
    )


def bump(model: type[SQLModel], *, session: Session, row_id: int, now: datetime) -> None:
    """Bumps the version row in the caller's transaction."""
    session.execute(bump_statement(model, row_id=row_id, dialect=session.get_bind().dialect.name, now=now))


def read(model: type[SQLModel], *, session: Session, row_id: int) -> VersionKey | None:
    """(version, stamp) of the row, or None before its first change."""
    table = _table(model)
    row = session.execute(select(table.c.version, table.c.stamp).where(table.c.id == row_id)).first()
    return None if row is None else (int(row[0]), str(row[1]))


class VersionedCache(Generic[K, V]):
    """A value built from the database, kept in the process under the key (version) it was built at and
    in the session once checked, so a request or pipeline batch pays one small query for the key.

    "No key" (nothing ever changed, so no version row) is a key like any other: the first change creates
    the row with a new random stamp, which no held value matches, so a value built before it is never
    served after it."""

    def __init__(self, session_key: str) -> None:
        self.session_key = session_key
        self._lock = Lock()
        self._held: tuple[K | None, V] | None = None

    def get(
        self, session: Session, *, key: Callable[[Session], K | None], build: Callable[[Session, K | None], V]
    ) -> V:
        """The value for the database's current key; rebuilt when the key changed."""
        in_session: V | None = session.info.get(self.session_key)
        if in_session is not None:
            return in_session
        current = key(session)
        held = self._held
        if held is not None and held[0] == current:
            value = held[1]
        else:
            # Key first, rows second (in `build`): the rows are at least as new as the key they are kept under.
            value = build(session, current)
            with self._lock:
                self._held = (current, value)
        session.info[self.session_key] = value
        return value

    def forget(self, session: Session) -> None:
        """Drops the session's value (after a change made in it)."""
        session.info.pop(self.session_key, None)
