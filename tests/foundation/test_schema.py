"""The migrations create exactly the schema the models describe; the app refuses an unmigrated database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.config import Settings
from app.db import get_engine, is_migrated, make_engine, set_engine
from app.models import include_name, metadata


def test_migrations_match_models():
    with get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False, "include_name": include_name})
        diff = compare_metadata(context, metadata)
    assert diff == []
    assert is_migrated(get_engine())


def test_app_refuses_unmigrated_database(tmp_path):
    from fastapi.testclient import TestClient

    from app.main import create_app

    engine = get_engine()
    fresh = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    import app.db as db

    db._engine = fresh
    try:
        with (
            pytest.raises(RuntimeError, match="huiying migrate"),
            TestClient(create_app(start_scheduler=False)),
        ):
            pass
    finally:
        db._engine = engine
        fresh.dispose()
    set_engine(engine)
