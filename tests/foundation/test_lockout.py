"""No lock-out: the last active admin cannot be deactivated, and HUIYING_ADMIN_TOKEN revives a revoked
bootstrap token on start."""

from __future__ import annotations

import secrets
from typing import Any

from app.db import session_scope
from app.users.service import ensure_admin_token


def me(client: Any, headers: dict[str, str]) -> int:
    resp = client.get("/api/v1/me", headers=headers)
    assert resp.status_code == 200, resp.text
    return int(resp.json()["user_id"])


def test_the_only_admin_cannot_deactivate_itself(client: Any, admin_headers: dict[str, str]) -> None:
    admin_id = me(client, admin_headers)
    resp = client.post(f"/api/v1/users/{admin_id}/deactivate", headers=admin_headers)
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["code"] == "last_admin"
    assert client.get("/api/v1/users", headers=admin_headers).status_code == 200


def test_with_a_second_admin_one_may_go_but_not_both(client: Any, admin_headers: dict[str, str]) -> None:
    admin_id = me(client, admin_headers)
    created = client.post(
        "/api/v1/users", json={"name": "第二管理员", "role": "admin"}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    second = {"Authorization": f"Bearer {created.json()['token']}"}
    second_id = int(created.json()["id"])
    assert client.post(f"/api/v1/users/{admin_id}/deactivate", headers=second).status_code == 200
    assert client.post(f"/api/v1/users/{second_id}/deactivate", headers=second).status_code == 409
    assert client.get("/api/v1/users", headers=second).status_code == 200


def test_restarting_with_the_bootstrap_token_restores_it(client: Any) -> None:
    token = "hy_boot_" + secrets.token_hex(8)
    headers = {"Authorization": f"Bearer {token}"}
    with session_scope() as session:
        ensure_admin_token(session, token)
    admin_id = me(client, headers)
    created = client.post("/api/v1/users", json={"name": "另一管理员", "role": "admin"}, headers=headers)
    other = {"Authorization": f"Bearer {created.json()['token']}"}
    assert client.post(f"/api/v1/users/{admin_id}/deactivate", headers=other).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    with session_scope() as session:  # what start-up does with HUIYING_ADMIN_TOKEN set
        ensure_admin_token(session, token)
    assert me(client, headers) == admin_id
    events = client.get(
        "/api/v1/audit/events", params={"action": "user.bootstrap_restore"}, headers=other
    ).json()
    assert len(events) == 1
