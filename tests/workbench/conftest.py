"""Fixtures for the workbench: users with a username and password, and signed-in clients."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

# The live uvicorn server the board's browser test uses (one fixture for both browser tests).
from tests.reports.test_board import server  # noqa: F401

PASSWORD = "Huiying-2026!"
REPLY_URL = "https://board.example.gov.cn/api/replies"
BOARD_SECRETS = {"hmac_secret": "board-hmac-secret", "reply_url": REPLY_URL}


@pytest.fixture
def board() -> Iterator[dict[str, Any]]:
    """The website board's reply endpoint, mocked: stores each reply once per idempotency key (the
    generic connector's documented answer: 201 with the board's id)."""
    seen: dict[str, Any] = {"requests": [], "stored": {}}

    def receive(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen["requests"].append(body)
        seen["stored"].setdefault(body["idempotency_key"], body)
        return httpx.Response(201, json={"id": f"board-reply-{len(seen['stored'])}"})

    with respx.mock(assert_all_called=False) as router:
        router.post(REPLY_URL).mock(side_effect=receive)
        yield seen


@pytest.fixture
def make_login_user(client: TestClient, admin_headers: dict[str, str]) -> Callable[..., dict[str, object]]:
    """Creates a user with a username and password through the API; returns the created user."""

    def _make(
        username: str, role: str, unit_code: str | None = None, password: str = PASSWORD
    ) -> dict[str, object]:
        resp = client.post(
            "/api/v1/users",
            json={
                "name": username,
                "role": role,
                "unit_code": unit_code,
                "username": username,
                "password": password,
            },
            headers=admin_headers,
        )
        assert resp.status_code == 201, resp.text
        body: dict[str, object] = resp.json()
        return body

    return _make


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Signs the client in (its cookie jar keeps the session); returns the CSRF token."""
    resp = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["csrf_token"]
    return token
