"""Password sign-in: cookie flags, CSRF, lock-out (audited), expiry, change and reset, no clear text."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from sqlalchemy import MetaData, select

from app.db import get_engine
from tests.workbench.conftest import PASSWORD, sign_in


@pytest.fixture
def operator(make_unit, make_login_user):
    make_unit("U1", "城管局")
    return make_login_user("wang.op", "operator", "U1")


def _audit(client, admin_headers, action):
    resp = client.get("/api/v1/audit/events", params={"action": action, "limit": 100}, headers=admin_headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_login_sets_httponly_strict_cookie_and_me_works(client, operator):
    resp = client.post("/api/v1/auth/login", json={"username": "wang.op", "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    cookie = resp.headers["set-cookie"]
    assert "hy_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http in the test; see the https test below
    assert PASSWORD not in resp.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["role"] == "operator" and me.json()["unit_code"] == "U1"


def test_cookie_is_secure_behind_https(operator):
    from fastapi.testclient import TestClient

    from tests.conftest import _get_app

    with TestClient(_get_app(), base_url="https://testserver") as secure_client:
        resp = secure_client.post("/api/v1/auth/login", json={"username": "wang.op", "password": PASSWORD})
        assert resp.status_code == 200
        assert "Secure" in resp.headers["set-cookie"]


def test_wrong_and_unknown_get_the_same_answer(client, operator):
    wrong = client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "Nope-12345!"})
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "Nope-12345!"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"] == "用户名或密码错误"


def test_five_wrong_passwords_lock_the_account_and_are_audited(client, admin_headers, operator, frozen_clock):
    for _ in range(4):
        resp = client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "Wrong-pass-1"})
        assert resp.status_code == 401
    fifth = client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "Wrong-pass-1"})
    assert fifth.status_code == 403 and fifth.json()["error"]["code"] == "account_locked"
    # Locked: even the right password is refused.
    right = client.post("/api/v1/auth/login", json={"username": "wang.op", "password": PASSWORD})
    assert right.status_code == 403 and right.json()["error"]["code"] == "account_locked"
    failures = _audit(client, admin_headers, "auth.login_failed")
    assert len(failures) == 5 and all(e["entity_id"] == str(operator["id"]) for e in failures)
    assert all("Wrong-pass-1" not in str(e) for e in failures)
    assert len(_audit(client, admin_headers, "auth.locked")) == 1
    assert len(_audit(client, admin_headers, "auth.login_refused_locked")) == 1
    listed = client.get("/api/v1/users", headers=admin_headers).json()
    assert next(u["locked_until"] for u in listed if u["id"] == operator["id"]) is not None
    # The lock ends by itself after 30 minutes.
    frozen_clock.set(frozen_clock.at + timedelta(minutes=31))
    assert (
        client.post("/api/v1/auth/login", json={"username": "wang.op", "password": PASSWORD}).status_code
        == 200
    )


def test_a_success_resets_the_failure_count(client, operator):
    for _ in range(4):
        client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "Wrong-pass-1"})
    sign_in(client, "wang.op")
    for _ in range(4):
        assert (
            client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "x"}).status_code
            == 401
        )


def test_one_address_spraying_passwords_over_many_users_must_wait(
    client, admin_headers, operator, frozen_clock
):
    """20 failed sign-ins from one address in 15 minutes, each on another user (no account reaches its
    own lock-out): the address gets 429 even with a right password; another address does not; after
    the window it may try again."""
    from fastapi.testclient import TestClient

    from tests.conftest import _get_app

    for n in range(20):
        resp = client.post("/api/v1/auth/login", json={"username": f"user{n}", "password": "Spring-2026!"})
        assert resp.status_code == 401
    refused = client.post("/api/v1/auth/login", json={"username": "wang.op", "password": PASSWORD})
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "too_many_attempts" and "分钟后再试" in error["message"]
    assert "hy_session" not in refused.headers.get("set-cookie", "")
    assert len(_audit(client, admin_headers, "auth.login_refused_source")) == 1
    with TestClient(_get_app(), client=("198.51.100.7", 40000)) as elsewhere:
        ok = elsewhere.post("/api/v1/auth/login", json={"username": "wang.op", "password": PASSWORD})
        assert ok.status_code == 200
    frozen_clock.set(frozen_clock.at + timedelta(minutes=16))
    assert (
        client.post("/api/v1/auth/login", json={"username": "wang.op", "password": PASSWORD}).status_code
        == 200
    )


def test_cookie_post_without_csrf_is_refused(client, admin_headers, make_login_user, make_unit):
    make_login_user("root", "admin")
    csrf = sign_in(client, "root")
    body = {"code": "U9", "name": "新单位"}
    refused = client.post("/api/v1/units", json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/v1/units", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    assert client.get("/api/v1/units", headers=admin_headers).json() == []  # nothing was written
    ok = client.post("/api/v1/units", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    # A bearer-token call needs no CSRF token, cookie or not.
    assert (
        client.post("/api/v1/units", json={"code": "U8", "name": "乙"}, headers=admin_headers).status_code
        == 201
    )


def test_another_sessions_csrf_token_does_not_fit(client, make_login_user):
    from fastapi.testclient import TestClient

    from tests.conftest import _get_app

    make_login_user("root", "admin")
    make_login_user("root2", "admin")
    sign_in(client, "root")
    with TestClient(_get_app()) as other:
        other_csrf = sign_in(other, "root2")
    resp = client.post(
        "/api/v1/units", json={"code": "U9", "name": "x"}, headers={"X-CSRF-Token": other_csrf}
    )
    assert resp.status_code == 403


def test_session_idle_timeout(client, operator, frozen_clock):
    sign_in(client, "wang.op")
    frozen_clock.set(frozen_clock.at + timedelta(minutes=20))
    assert client.get("/api/v1/me").status_code == 200  # activity keeps it alive
    frozen_clock.set(frozen_clock.at + timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200
    frozen_clock.set(frozen_clock.at + timedelta(minutes=31))
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "session_expired"
    frozen_clock.set(frozen_clock.at - timedelta(minutes=31))
    assert client.get("/api/v1/me").status_code == 401  # an expired session stays ended


def test_session_absolute_expiry(client, operator, frozen_clock):
    sign_in(client, "wang.op")
    for _ in range(25):  # active every 29 minutes for 12 hours
        frozen_clock.set(frozen_clock.at + timedelta(minutes=29))
        if client.get("/api/v1/me").status_code != 200:
            break
    assert client.get("/api/v1/me").status_code == 401


def test_logout_ends_the_session(client, operator):
    csrf = sign_in(client, "wang.op")
    session_cookie = client.cookies.get("hy_session")
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.set("hy_session", session_cookie)  # replaying the old cookie does not help
    assert client.get("/api/v1/me").status_code == 401


def test_change_password(client, operator):
    csrf = sign_in(client, "wang.op")
    bad_old = client.post(
        "/api/v1/auth/password",
        json={"old_password": "Wrong-pass-1", "new_password": "Another-Pass-42"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad_old.status_code == 403
    weak = client.post(
        "/api/v1/auth/password",
        json={"old_password": PASSWORD, "new_password": "short"},
        headers={"X-CSRF-Token": csrf},
    )
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    ok = client.post(
        "/api/v1/auth/password",
        json={"old_password": PASSWORD, "new_password": "Another-Pass-42"},
        headers={"X-CSRF-Token": csrf},
    )
    assert ok.status_code == 204, ok.text
    assert client.get("/api/v1/me").status_code == 401  # sessions end with the change
    assert (
        client.post("/api/v1/auth/login", json={"username": "wang.op", "password": PASSWORD}).status_code
        == 401
    )
    sign_in(client, "wang.op", "Another-Pass-42")


@pytest.mark.parametrize(
    "password", ["Ab1!", "alllowercase123", "ALLUPPER-CASE", "wang.op-Pass-1", "aaaaaaaaaaaaaaaa"]
)
def test_password_complexity(client, admin_headers, make_unit, password):
    make_unit("U1")
    resp = client.post(
        "/api/v1/users",
        json={
            "name": "x",
            "role": "operator",
            "unit_code": "U1",
            "username": "wang.op",
            "password": password,
        },
        headers=admin_headers,
    )
    assert resp.status_code == 422, resp.text
    assert "密码不符合复杂度要求" in resp.json()["error"]["message"]


def test_admin_reset_unlocks_and_only_admin_may(client, admin_headers, operator, make_user):
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "Wrong-pass-1"})
    leader = make_user("leader", "U1")
    path = f"/api/v1/users/{operator['id']}/password"
    assert client.post(path, json={"password": "Reset-Pass-2026"}, headers=leader).status_code == 403
    resp = client.post(path, json={"password": "Reset-Pass-2026"}, headers=admin_headers)
    assert resp.status_code == 200 and resp.json()["locked_until"] is None
    sign_in(client, "wang.op", "Reset-Pass-2026")
    assert (
        client.post(
            "/api/v1/users/99999/password", json={"password": "Reset-Pass-2026"}, headers=admin_headers
        ).status_code
        == 404
    )


def test_duplicate_username_is_a_conflict(client, operator, make_login_user, admin_headers):
    resp = client.post(
        "/api/v1/users",
        json={
            "name": "y",
            "role": "operator",
            "unit_code": "U1",
            "username": "wang.op",
            "password": PASSWORD,
        },
        headers=admin_headers,
    )
    assert resp.status_code == 409


def test_password_is_never_stored_or_logged_in_clear(client, admin_headers, operator, caplog):
    caplog.set_level(logging.DEBUG)
    for _ in range(2):
        client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "Wrong-pass-1"})
    csrf = sign_in(client, "wang.op")
    client.post(
        "/api/v1/auth/password",
        json={"old_password": PASSWORD, "new_password": "Another-Pass-42"},
        headers={"X-CSRF-Token": csrf},
    )
    dump = io.StringIO()
    meta = MetaData()
    meta.reflect(get_engine())
    with get_engine().connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                dump.write(repr(tuple(row)))
    text = dump.getvalue()
    assert "$argon2id$" in text  # the hash is there…
    for secret in (PASSWORD, "Wrong-pass-1", "Another-Pass-42"):
        assert secret not in text  # …never the password
        assert secret not in caplog.text
    events = client.get(
        "/api/v1/audit/events", params={"action": "user.create"}, headers=admin_headers
    ).json()
    assert events and all("password_hash" not in (e["after"] or {}) for e in events)


def test_cli_creates_a_user_reading_the_password_from_stdin(make_unit, client, monkeypatch, capsys):
    from app import cli

    make_unit("U1")
    monkeypatch.setattr("sys.stdin", io.StringIO("Cli-Pass-2026\n"))
    assert cli.main(["users", "create", "--role", "operator", "--unit", "U1", "--username", "li.si"]) == 0
    out = capsys.readouterr().out
    assert "username: li.si" in out and "Cli-Pass-2026" not in out
    sign_in(client, "li.si", "Cli-Pass-2026")
    monkeypatch.setattr("sys.stdin", io.StringIO("weak\n"))
    assert cli.main(["users", "create", "--role", "operator", "--unit", "U1", "--username", "li.wu"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("Cli-Reset-2026\n"))
    assert cli.main(["users", "reset-password", "--username", "li.si"]) == 0
    sign_in(client, "li.si", "Cli-Reset-2026")


def test_the_address_window_stays_bounded():
    """A flood of forged source addresses cannot grow the memory: the longest-quiet ones are dropped."""
    from datetime import UTC, datetime

    from app.users.throttle import SourceFailures

    window, now = timedelta(minutes=15), datetime(2026, 12, 7, tzinfo=UTC)
    failures = SourceFailures(max_sources=3)
    for n in range(5):
        failures.fail(f"10.0.0.{n}", now=now, limit=1)
    assert failures.blocked_until("10.0.0.0", now=now, limit=1, window=window) is None  # dropped
    assert failures.blocked_until("10.0.0.4", now=now, limit=1, window=window) == now + window


@pytest.fixture
def initial_passwords(monkeypatch):
    """The deployed default: a password set by an administrator must be replaced at the next sign-in."""
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "password_change_required", True)


def test_an_initial_password_must_be_replaced_before_anything_else(
    client, admin_headers, operator, initial_passwords
):
    resp = client.post("/api/v1/auth/login", json={"username": "wang.op", "password": PASSWORD})
    assert resp.status_code == 200 and resp.json()["password_change_required"] is True
    csrf = resp.json()["csrf_token"]
    # Only /me, the password change and signing out; the API answers 403, the console sends to the form.
    assert client.get("/api/v1/me").status_code == 200
    refused = client.get("/api/v1/queue")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "password_change_required"
    page = client.get("/console", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/console/password?initial=1"
    assert "初始密码" in client.get("/console/password?initial=1").text
    changed = client.post(
        "/api/v1/auth/password",
        json={"old_password": PASSWORD, "new_password": "Own-choice-2026!"},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status_code == 204, changed.text
    again = client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "Own-choice-2026!"})
    assert again.status_code == 200 and again.json()["password_change_required"] is False
    assert client.get("/api/v1/queue").status_code == 200
    assert client.get("/console", follow_redirects=False).status_code == 200
    # An administrator's reset makes it an initial password again; API tokens are not affected.
    user_id = operator["id"]
    reset = client.post(
        f"/api/v1/users/{user_id}/password",
        json={"password": "Reset-by-admin-1!"},
        headers=admin_headers,
    )
    assert reset.status_code in (200, 204), reset.text
    client.cookies.clear()
    after_reset = client.post(
        "/api/v1/auth/login", json={"username": "wang.op", "password": "Reset-by-admin-1!"}
    )
    assert after_reset.json()["password_change_required"] is True
    assert client.get("/api/v1/queue").status_code == 403
    assert client.get("/api/v1/queue", headers=admin_headers).status_code == 200
