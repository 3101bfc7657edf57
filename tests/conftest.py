"""Test set-up: one fresh database per run (SQLite file, or a new PostgreSQL database when
HUIYING_TEST_DATABASE_URL points at a server), migrated once; tables emptied after each test."""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

_tmp = Path(tempfile.mkdtemp(prefix="huiying-test-"))
os.environ["HUIYING_SECRET_KEY"] = "test-secret-key"
os.environ["HUIYING_SCHEDULER"] = "off"
# Users made by the fixtures sign in with the password the admin gave them; the first-sign-in change is
# tested on its own (tests/workbench/test_signin.py, which switches it on).
os.environ["HUIYING_PASSWORD_CHANGE_REQUIRED"] = "false"
os.environ.pop("HUIYING_ADMIN_TOKEN", None)

_pg_base = os.environ.get("HUIYING_TEST_DATABASE_URL", "")
_pg_db: str | None = None
if _pg_base.startswith("postgresql"):
    import psycopg

    _pg_db = f"huiying_test_{os.getpid()}_{secrets.token_hex(4)}"
    _admin_url = _pg_base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{_pg_db}"')
        # A throw-away database: no need to wait for the disk at every commit.
        conn.execute(f'ALTER DATABASE "{_pg_db}" SET synchronous_commit = off')
    _base, _, _ = _pg_base.rpartition("/")
    os.environ["HUIYING_DATABASE_URL"] = f"{_base}/{_pg_db}".replace("postgresql://", "postgresql+psycopg://")
else:
    os.environ["HUIYING_DATABASE_URL"] = f"sqlite:///{_tmp / 'test.db'}"

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import clock, wiring  # noqa: E402
from app.accounts.service import forget_cached  # noqa: E402
from app.auth import token_cache  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.db import get_engine, make_engine, migrate, set_engine  # noqa: E402
from app.models import metadata  # noqa: E402
from app.users import throttle  # noqa: E402

get_settings.cache_clear()
set_engine(make_engine(get_settings()))
migrate(get_engine())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    set_engine(None)
    if _pg_db:
        import psycopg

        with psycopg.connect(_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{_pg_db}" WITH (FORCE)')


def _empty_tables() -> None:
    engine = get_engine()
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # TRUNCATE costs per table, so only the tables this test wrote to (one query finds them).
            probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
            used = [row[0] for row in conn.execute(text(probe))]
            if used:
                conn.execute(
                    text("TRUNCATE " + ", ".join(f'"{t}"' for t in used) + " RESTART IDENTITY CASCADE")
                )
        else:
            # Deleting messages logs report changes (triggers of migration 0017): that log goes last.
            for table in sorted(tables, key=lambda name: name == "report_changes"):
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(autouse=True, scope="session")
def _wiring() -> None:
    """The cross-domain hooks, installed as every entry point installs them at start-up, for the tests
    that call a service without creating the app first."""
    wiring.install()


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Tests never touch the network, DNS included: names resolve only if a test maps them here."""
    from app import outbound

    names: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host in names:
            return names[host]
        raise socket.gaierror(f"{host}: not resolvable in tests")

    monkeypatch.setattr(outbound, "resolver", resolve)
    return names


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    yield
    clock.set_clock(None)
    token_cache.clear()
    forget_cached()
    throttle.failures.clear()
    _empty_tables()


class FrozenClock:
    """A clock that stands still until moved."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


@pytest.fixture
def frozen_clock() -> FrozenClock:
    fc = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    clock.set_clock(fc)
    return fc


_app = None


def _get_app():  # type: ignore[no-untyped-def]
    global _app
    if _app is None:
        from app.main import create_app

        _app = create_app(start_scheduler=False)
    return _app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(_get_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin_headers() -> dict[str, str]:
    from app.db import session_scope
    from app.users.service import ensure_admin_token

    token = "hy_test_admin_" + secrets.token_hex(8)
    with session_scope() as session:
        ensure_admin_token(session, token)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_user(client: TestClient, admin_headers: dict[str, str]) -> Callable[..., dict[str, str]]:
    """Creates a user through the API; returns its auth headers."""

    def _make(role: str, unit_code: str | None = None, name: str | None = None) -> dict[str, str]:
        resp = client.post(
            "/api/v1/users",
            json={"name": name or f"{role}-{unit_code}", "role": role, "unit_code": unit_code},
            headers=admin_headers,
        )
        assert resp.status_code == 201, resp.text
        return {"Authorization": f"Bearer {resp.json()['token']}"}

    return _make


@pytest.fixture
def make_unit(client: TestClient, admin_headers: dict[str, str]) -> Callable[..., dict[str, object]]:
    def _make(code: str, name: str | None = None, **extra: object) -> dict[str, object]:
        resp = client.post(
            "/api/v1/units", json={"code": code, "name": name or code, **extra}, headers=admin_headers
        )
        assert resp.status_code == 201, resp.text
        result: dict[str, object] = resp.json()
        return result

    return _make


@pytest.fixture
def make_account(client: TestClient, admin_headers: dict[str, str]) -> Callable[..., dict[str, object]]:
    def _make(
        unit_code: str, platform: str = "generic", external_id: str | None = None, **extra: object
    ) -> dict[str, object]:
        resp = client.post(
            "/api/v1/accounts",
            json={
                "platform": platform,
                "name": f"{platform}-{unit_code}",
                "external_id": external_id or f"{platform}-{unit_code}-{secrets.token_hex(3)}",
                "unit_code": unit_code,
                **extra,
            },
            headers=admin_headers,
        )
        assert resp.status_code == 201, resp.text
        result: dict[str, object] = resp.json()
        return result

    return _make
