"""A throw-away PostgreSQL database for a benchmark: made on the server of a given URL, dropped after."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable


def scratch_database(url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the server of PostgreSQL `url` (the database `url` names is only used
    to connect), and the function that drops it."""
    import psycopg

    admin = url.replace("postgresql+psycopg://", "postgresql://")
    name = f"huiying_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.rpartition("/")[0] + "/" + name, drop
