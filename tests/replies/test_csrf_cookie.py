"""Hostile: a sign-in cookie alone (what a foreign page can make a browser send) never changes state.

Every POST/PUT/PATCH/DELETE of `/api/v1` that takes a principal answers 403 `csrf_failed` to a session
cookie without the session's CSRF token (or with a wrong or foreign one), before it reads its body; and
for a representative set across domains (approve a reply, transfer a message, create a unit, write a KB
entry) nothing stored changes. A bearer token still needs no CSRF token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import _get_app
from tests.replies.conftest import Desk

PASSWORD = "Huiying-2026!"
STATE_CHANGING = ("post", "put", "patch", "delete")
# Operations no principal guards: platforms sign their pushes, and signing in is how a session starts.
# They never read the session cookie (a cookie there grants nothing).
UNAUTHENTICATED = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/webhooks/wechat/{account_id}"),
    ("post", "/api/v1/webhooks/weibo/{account_id}"),
    ("post", "/api/v1/webhooks/douyin/{account_id}"),
    ("post", "/api/v1/webhooks/generic/{account_id}"),
    ("post", "/api/v1/webhooks/generic/{account_id}/posts"),
}


def _operations() -> list[tuple[str, str]]:
    spec = _get_app().openapi()
    return sorted(
        (method, path)
        for path, ops in spec["paths"].items()
        if path.startswith("/api/v1")
        for method in ops
        if method in STATE_CHANGING
    )


def _concrete(path: str) -> str:
    """The path with every parameter filled by an id that may or may not exist (1)."""
    parts = [("1" if part.startswith("{") else part) for part in path.split("/")]
    return "/".join(parts)


def _login_user(desk: Desk, admin: dict[str, str], username: str, role: str, unit: str | None) -> None:
    resp = desk.client.post(
        "/api/v1/users",
        json={"name": username, "role": role, "unit_code": unit, "username": username, "password": PASSWORD},
        headers=admin,
    )
    assert resp.status_code == 201, resp.text


@pytest.fixture
def browser() -> Iterator[TestClient]:
    """A second client with its own cookie jar: the signed-in browser."""
    with TestClient(_get_app(), raise_server_exceptions=False) as c:
        yield c


def _sign_in(browser: TestClient, username: str) -> str:
    resp = browser.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    assert browser.cookies.get("hy_session")
    token: str = resp.json()["csrf_token"]
    return token


def test_every_guarded_state_change_refuses_a_cookie_without_csrf(
    desk: Desk, admin_headers: dict[str, str], browser: TestClient
) -> None:
    _login_user(desk, admin_headers, "root", "admin", None)
    csrf = _sign_in(browser, "root")
    operations = _operations()
    assert len(operations) > 60  # the sweep covers the whole API, not a handful
    spec_paths = {path for _, path in operations}
    assert set(path for _, path in UNAUTHENTICATED) <= spec_paths  # the exceptions still exist
    leaks = []
    for method, path in operations:
        if (method, path) in UNAUTHENTICATED:
            continue
        url = _concrete(path)
        for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": csrf[:-1]}):
            resp = browser.request(method.upper(), url, json={}, headers=headers)
            code = resp.json().get("error", {}).get("code") if resp.content else None
            if resp.status_code != 403 or code != "csrf_failed":
                leaks.append((method, path, headers, resp.status_code, resp.text[:120]))
    assert leaks == []


def test_a_cookie_with_a_non_bearer_authorization_header_still_needs_csrf(
    desk: Desk, admin_headers: dict[str, str], browser: TestClient
) -> None:
    _login_user(desk, admin_headers, "root", "admin", None)
    _sign_in(browser, "root")
    for header in ("Basic cm9vdDpyb290", "Bearer", "Token abc", ""):
        resp = browser.post(
            "/api/v1/units", json={"code": "evil", "name": "伪造"}, headers={"Authorization": header}
        )
        assert resp.status_code in (401, 403), (header, resp.text)
    assert all(u["code"] != "evil" for u in desk.client.get("/api/v1/units", headers=admin_headers).json())


def _snapshot(desk: Desk, admin: dict[str, str], reply_id: int, message_id: int) -> dict[str, Any]:
    reply = desk.get(f"/replies/{reply_id}", admin).json()
    message = desk.get(f"/messages/{message_id}", admin).json()
    units = desk.get("/units", admin).json()
    entries = desk.get("/kb/entries", admin).json()
    return {
        "reply": (reply["state"], reply["text"]),
        "message": (message["status"], message.get("unit_code")),
        "units": sorted((u["code"], u["name"]) for u in units),
        "entries": entries,
    }


def test_representative_changes_by_cookie_without_csrf_store_nothing(
    desk: Desk, admin_headers: dict[str, str], browser: TestClient
) -> None:
    message_id = desk.message(external_id="csrf-1")
    reply_id = desk.draft(message_id)
    assert desk.post(f"/replies/{reply_id}/submit", desk.operator).status_code == 200
    _login_user(desk, admin_headers, "shen.he", "reviewer", "a")
    _login_user(desk, admin_headers, "root", "admin", None)
    entry = desk.post(
        "/kb/entries", admin_headers, {"question": "身份证怎么换领？", "answer": "到派出所办理。"}
    )
    assert entry.status_code == 201, entry.text
    entry_id = entry.json()["id"]
    before = _snapshot(desk, admin_headers, reply_id, message_id)

    _sign_in(browser, "shen.he")
    attempts = [
        ("POST", f"/api/v1/replies/{reply_id}/approve", {}),
        ("POST", f"/api/v1/replies/{reply_id}/escalate", {"reason": "请领导把关"}),
        ("POST", f"/api/v1/replies/{reply_id}/reject", {"reason": "请修改"}),
        ("PATCH", f"/api/v1/replies/{reply_id}", {"text": "偷改的文字"}),
        ("POST", f"/api/v1/messages/{message_id}/transfer", {"unit_code": "b", "reason": "不属本单位职责"}),
    ]
    for method, url, body in attempts:
        resp = browser.request(method, url, json=body)
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "csrf_failed", (url, resp.text)

    browser.cookies.clear()
    _sign_in(browser, "root")
    admin_attempts = [
        ("POST", "/api/v1/units", {"code": "evil", "name": "伪造单位"}),
        ("POST", "/api/v1/kb/entries", {"question": "伪造问题？", "answer": "伪造答案。"}),
        ("POST", f"/api/v1/messages/{message_id}/transfer", {"unit_code": "b", "reason": "不属本单位职责"}),
        ("PATCH", "/api/v1/units/a1", {"name": "伪造名称"}),
        ("DELETE", f"/api/v1/kb/entries/{entry_id}", None),
    ]
    for method, url, body in admin_attempts:
        resp = browser.request(method, url, json=body)
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "csrf_failed", (url, resp.text)

    assert _snapshot(desk, admin_headers, reply_id, message_id) == before
    # The same session with its CSRF token does get through (the refusals above were the token's).
    browser.cookies.clear()
    csrf = _sign_in(browser, "shen.he")
    ok = browser.post(f"/api/v1/replies/{reply_id}/approve", json={}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
