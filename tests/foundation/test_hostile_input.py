"""Hostile input gets a 4xx in the contract's format, never a 500, and stores nothing (issue 13 items 5, 6)."""

from __future__ import annotations

from typing import Any

import pytest

BIG = "18446744073709551615"


@pytest.fixture
def world(client: Any, admin_headers: dict[str, str], make_unit: Any, make_account: Any) -> dict[str, Any]:
    make_unit("a", "县公安局")
    account = make_account("a", platform="generic")
    return {"account_id": account["id"]}


def assert_4xx(resp: Any, *allowed: int) -> None:
    assert resp.status_code in (allowed or (400, 404, 413, 422)), (resp.status_code, resp.text[:300])
    assert set(resp.json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/messages/{BIG}",
        f"/api/v1/messages/{BIG}/full",
        f"/api/v1/replies/{BIG}",
        f"/api/v1/accounts/{BIG}",
        f"/api/v1/kb/entries/{BIG}",
        f"/api/v1/users/{BIG}/tokens",
        f"/api/v1/webhooks/generic/{BIG}",
        "/api/v1/messages/99999999999999999999999999999999",
    ],
)
def test_ids_beyond_int64_are_404(client: Any, admin_headers: dict[str, str], path: str) -> None:
    resp = client.get(path, headers=admin_headers)
    if resp.status_code == 405:
        resp = client.post(path, headers=admin_headers, json={})
    assert_4xx(resp, 404)


def test_ids_beyond_int64_in_queries_are_4xx(client: Any, admin_headers: dict[str, str]) -> None:
    assert_4xx(client.get("/api/v1/audit/events", params={"before_id": BIG}, headers=admin_headers))
    assert_4xx(client.get("/api/v1/messages", params={"account_id": BIG}, headers=admin_headers))


def test_nul_bytes_in_text_are_refused_and_not_stored(
    client: Any, admin_headers: dict[str, str], world: dict[str, Any]
) -> None:
    body = {
        "account_id": world["account_id"],
        "external_id": "nul-1",
        "kind": "comment",
        "author": {"id": "c1", "name": "市民\u0000"},
        "content": "你好\u0000世界",
    }
    assert_4xx(client.post("/api/v1/messages", json=body, headers=admin_headers), 400, 422)
    assert client.get("/api/v1/messages", headers=admin_headers).json()["items"] == []
    assert_4xx(client.get("/api/v1/messages", params={"q": "a\x00b"}, headers=admin_headers), 400, 422)
    assert_4xx(client.post("/api/v1/units", json={"code": "x\u0000", "name": "单位"}, headers=admin_headers))


@pytest.mark.parametrize(
    "received_at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:00:00-05:00", "1999-12-31T23:59:59+00:00"]
)
def test_absurd_receipt_times_are_422(
    client: Any, admin_headers: dict[str, str], world: dict[str, Any], received_at: str
) -> None:
    body = {
        "account_id": world["account_id"],
        "external_id": f"t-{received_at[:4]}",
        "kind": "comment",
        "author": {"id": "c1", "name": "市民"},
        "content": "问个事",
        "received_at": received_at,
    }
    assert_4xx(client.post("/api/v1/messages", json=body, headers=admin_headers), 422)
    assert client.get("/api/v1/messages", headers=admin_headers).json()["items"] == []
    for path in ("/api/v1/reports/units", "/api/v1/reports/periods", "/api/v1/reports/overdue"):
        assert client.get(path, headers=admin_headers).status_code == 200


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/calendar/deadline", {"received_at": "9999-12-31T10:00:00+08:00"}),
        ("/api/v1/calendar/deadline", {"received_at": "0001-01-01T10:00:00"}),
        ("/api/v1/reports/topics", {"at": "0001-01-01T00:00:00+08:00"}),
        ("/api/v1/reports/topics", {"at": "9999-12-31T23:59:59+00:00"}),
        ("/api/v1/reports/units", {"from": "0001-01-01", "to": "9999-12-31"}),
        ("/api/v1/reports/periods", {"from": "0001-01-01", "period": "day"}),
        ("/api/v1/messages", {"received_from": "0001-01-01T00:00:00+14:00"}),
    ],
)
def test_absurd_query_dates_are_422(
    client: Any, admin_headers: dict[str, str], path: str, params: dict[str, str]
) -> None:
    assert_4xx(client.get(path, params=params, headers=admin_headers), 422)


def test_user_lexicon_and_settings_edge_cases(
    client: Any, admin_headers: dict[str, str], world: dict[str, Any]
) -> None:
    for role in ("operator", "auditor", "admin"):
        body = {"name": "某人", "role": role, "unit_code": ""}
        assert_4xx(client.post("/api/v1/users", json=body, headers=admin_headers), 422)
    assert_4xx(
        client.post(
            "/api/v1/moderation/lexicon", json={"kind": "abuse", "term": "骂" * 500}, headers=admin_headers
        )
    )
    current = client.get("/api/v1/sla/settings", headers=admin_headers).json()
    assert_4xx(
        client.put(
            "/api/v1/sla/settings", json={**current, "work_start": "08:30:00+08:00"}, headers=admin_headers
        )
    )


def test_a_busy_database_is_503_with_retry_after(
    client: Any, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.audit import service

    def busy(**_: Any) -> Any:
        raise TimeoutError("database is busy (SQLite write lock held too long)")

    monkeypatch.setattr(service, "list_events", busy)
    resp = client.get("/api/v1/audit/events", headers=admin_headers)
    assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
    assert resp.json()["error"]["code"] == "busy"


def test_a_cursor_that_is_not_ascii_is_400(client: Any, admin_headers: dict[str, str]) -> None:
    for path in ("/api/v1/messages", "/api/v1/queue"):
        assert_4xx(client.get(path, params={"cursor": "ab游标x"}, headers=admin_headers), 400)
