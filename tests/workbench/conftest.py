"""Fixtures for the workbench: users with a username and password, and signed-in clients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

PASSWORD = "Huiying-2026!"


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
