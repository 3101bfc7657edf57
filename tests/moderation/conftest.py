"""Fixtures for the moderation API tests: a unit with its supervising office, an account, ingesting
messages over the API and running the production pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ok_json, post_message

_ids = count(1)


@dataclass
class Desk:
    client: TestClient
    admin: dict[str, str]
    account_id: int  # owned by the police unit, supervised by the office
    people: Callable[..., dict[str, str]]

    def ingest(self, content: str, *, author: str = "citizen-1", account_id: int | None = None) -> int:
        body = {
            "account_id": account_id or self.account_id,
            "external_id": f"mod{next(_ids)}",
            "content": content,
            "author": {"id": author, "name": f"网友{author}"},
        }
        return post_message(self.client, self.admin, body)

    def check(self, text: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        resp = self.client.post(
            "/api/v1/moderation/check", json={"text": text}, headers=headers or self.admin
        )
        return ok_json(resp)


@pytest.fixture
def desk(
    client: TestClient,
    admin_headers: dict[str, str],
    make_unit: Callable[..., dict[str, object]],
    make_account: Callable[..., dict[str, object]],
    make_user: Callable[..., dict[str, str]],
    frozen_clock: Any,
) -> Desk:
    make_unit("office", "青禾县政府办公室")
    make_unit("police", "青禾县公安局", keywords=["派出所", "户口", "身份证"], supervisor_code="office")
    account = make_account("police")
    return Desk(client=client, admin=admin_headers, account_id=int(str(account["id"])), people=make_user)
