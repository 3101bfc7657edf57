"""Fixtures for the routing API tests: a small invented county (units, an account, people), ingesting
messages over the API and running the production pipeline at the frozen time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.intake.pipeline import BatchResult, Pipeline
from tests.helpers import ok_json, post_message

_ids = count(1)


@dataclass
class County:
    client: TestClient
    admin: dict[str, str]
    account_id: int  # owned by the county office (办公室)
    people: Callable[..., dict[str, str]]

    def ingest(self, content: str, *, account_id: int | None = None, author: str = "u1") -> int:
        body = {
            "account_id": account_id or self.account_id,
            "external_id": f"m{next(_ids)}",
            "content": content,
            "author": {"id": author, "name": author},
        }
        return post_message(self.client, self.admin, body)

    def get(self, message_id: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
        resp = self.client.get(f"/api/v1/messages/{message_id}", headers=headers or self.admin)
        return ok_json(resp)


def drain() -> BatchResult:
    """Runs the production pipeline (moderation → routing → … → deadline) over everything queued."""
    return Pipeline().drain()


@pytest.fixture
def county(
    client: TestClient,
    admin_headers: dict[str, str],
    make_unit: Callable[..., dict[str, object]],
    make_account: Callable[..., dict[str, object]],
    make_user: Callable[..., dict[str, str]],
    frozen_clock: Any,
) -> County:
    make_unit("office", "青禾县政府办公室")
    make_unit("police", "青禾县公安局", keywords=["派出所", "户口", "身份证"], supervisor_code="office")
    make_unit("hrss", "青禾县人社局", keywords=["社保", "欠薪", "工伤"], supervisor_code="office")
    make_unit("edu", "青禾县教育局", keywords=["学校", "入学", "学区"], supervisor_code="office")
    account = make_account("office")
    return County(client=client, admin=admin_headers, account_id=int(str(account["id"])), people=make_user)
