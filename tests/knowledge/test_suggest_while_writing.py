"""The first suggestion while another transaction writes (a 10,000-entry KB load, an import) answers:
the index load only reads, and reads never wait for SQLite's write gate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from app.db import get_engine
from app.knowledge import api as kb_api
from app.knowledge.index import KnowledgeIndex
from app.units.models import Unit
from tests.knowledge.conftest import Desk


def test_first_suggestion_during_a_long_write(stocked: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kb_api, "knowledge_index", KnowledgeIndex())  # not loaded yet in this process
    with Session(get_engine()) as loader:
        at = datetime(2026, 3, 2, tzinfo=UTC)
        loader.add(Unit(code="busy", name="写入中", created_at=at, updated_at=at))
        loader.flush()  # a write transaction stays open meanwhile
        top = stocked.top("我身份证下个月就过期了，现在能提前去换吗？")
        assert top["question"] == "居民身份证到期了怎么换领？"
        loader.rollback()
