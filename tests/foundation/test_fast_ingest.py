"""`POST /api/v1/messages` beneath the framework (`app.messages.fast_route`): taken only when the token,
the account and the body need no database, answering as the FastAPI route does; everything else falls
through to the route, whose answers stay what they were."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app import deps
from app.db import DatabaseBusy, session_scope
from app.messages import group_commit as group_commit_module
from app.messages.models import IntakeItem, Message


def _message(account_id: object, external_id: str, **extra: object) -> dict[str, object]:
    return {"account_id": account_id, "external_id": external_id, "content": "路灯坏了", **extra}


@pytest.fixture
def warm(client, make_unit, make_account, make_user):  # type: ignore[no-untyped-def]
    """An operator and an account whose token and account reference are cached (one ingest through
    the route did that)."""
    make_unit("a", "甲单位")
    account = make_account("a")
    operator = make_user("operator", "a")
    first = client.post("/api/v1/messages", json=_message(account["id"], "warm-up"), headers=operator)
    assert first.status_code == 201, first.text
    return account, operator


@pytest.fixture
def no_route_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """The route's session dependency fails: a request that reaches the FastAPI route answers 500."""

    def refuse(*_: object, **__: object) -> object:
        raise RuntimeError("the request reached the framework's route")

    monkeypatch.setattr(deps, "Session", refuse)


def test_ordinary_ingest_needs_no_route_and_no_session(client, warm, no_route_session):
    account, operator = warm
    resp = client.post("/api/v1/messages", json=_message(account["id"], "m-1"), headers=operator)
    assert resp.status_code == 201, resp.text
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"id": resp.json()["id"], "status": "received", "duplicate": False}
    again = client.post("/api/v1/messages", json=_message(account["id"], "m-1"), headers=operator)
    assert again.status_code == 200
    assert again.json() == {"id": resp.json()["id"], "status": "received", "duplicate": True}


def test_the_stored_message_is_the_routes(client, warm, admin_headers):
    account, operator = warm
    body = _message(
        account["id"],
        "m-2",
        kind="private",
        author={"id": "u9", "name": "市民"},
        received_at="2026-03-02T09:30:00+08:00",
        thread_ref={"post_id": "p1"},
    )
    resp = client.post("/api/v1/messages", json=body, headers=operator)
    assert resp.status_code == 201, resp.text
    got = client.get(f"/api/v1/messages/{resp.json()['id']}", headers=admin_headers).json()
    assert (got["kind"], got["status"], got["unit_code"], got["platform"]) == (
        "private",
        "received",
        "a",
        "generic",
    )
    assert got["received_at"].startswith("2026-03-02T01:30:00")
    with session_scope() as session:
        stored = session.get(Message, resp.json()["id"])
        assert stored is not None
        assert stored.thread_ref == {"post_id": "p1"}
        assert session.exec(select(IntakeItem).where(IntakeItem.message_id == stored.id)).one()


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({"Content-Type": "application/json"}, b'{"account_id": 1,', 400, "malformed_json"),
        ({"Content-Type": "application/json"}, b'{"account_id": "x"}', 422, "invalid"),
        ({"Content-Type": "text/plain"}, b'{"account_id": 1}', 422, "invalid"),
    ],
)
def test_bodies_the_model_refuses_get_the_routes_answer(client, warm, headers, body, status, code):
    _, operator = warm
    resp = client.post("/api/v1/messages", content=body, headers={**operator, **headers})
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code


def test_refusals_fall_through_to_the_route(client, warm, make_unit, make_account, make_user, admin_headers):
    account, operator = warm
    make_unit("b", "乙单位")
    other = make_account("b")
    client.post("/api/v1/messages", json=_message(other["id"], "b-1"), headers=admin_headers)  # cached now
    # another unit's account: not found, as through the route
    resp = client.post("/api/v1/messages", json=_message(other["id"], "x"), headers=operator)
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "not_found")
    # a role that may not ingest
    auditor = make_user("auditor")
    client.get("/api/v1/messages", headers=auditor)  # its token cached
    resp = client.post("/api/v1/messages", json=_message(account["id"], "y"), headers=auditor)
    assert (resp.status_code, resp.json()["error"]["code"]) == (403, "forbidden")
    # a receipt time out of range
    resp = client.post(
        "/api/v1/messages",
        json=_message(account["id"], "z", received_at="1999-12-31T00:00:00+08:00"),
        headers=operator,
    )
    assert resp.status_code == 422
    # an unknown token, a missing one
    for headers in ({"Authorization": "Bearer nope"}, {}):
        resp = client.post("/api/v1/messages", json=_message(account["id"], "w"), headers=headers)
        assert (resp.status_code, resp.json()["error"]["code"]) == (401, "unauthorized")


def test_an_uncached_token_or_account_is_served_by_the_route(client, make_unit, make_account, make_user):
    make_unit("a", "甲单位")
    account = make_account("a")
    operator = make_user("operator", "a")
    from app.accounts.service import forget_cached
    from app.auth import token_cache

    token_cache.clear()
    forget_cached()
    resp = client.post("/api/v1/messages", json=_message(account["id"], "cold"), headers=operator)
    assert resp.status_code == 201, resp.text


def test_a_busy_database_is_503_in_the_error_format(client, warm, monkeypatch, no_route_session):
    account, operator = warm

    async def busy(_: object) -> tuple[int, bool]:
        raise DatabaseBusy("系统繁忙：数据库写入排队超时，请稍后重试", code="database_busy")

    monkeypatch.setattr(group_commit_module.group_commit, "store", busy)
    resp = client.post("/api/v1/messages", json=_message(account["id"], "busy"), headers=operator)
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "database_busy"


def test_an_unexpected_failure_is_the_usual_500(client, warm, monkeypatch):
    account, operator = warm

    async def broken(_: object) -> tuple[int, bool]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(group_commit_module.group_commit, "store", broken)
    resp = client.post("/api/v1/messages", json=_message(account["id"], "boom"), headers=operator)
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "internal"


def test_requests_are_counted_under_the_route_template(client, warm, monkeypatch):
    from app.auth import token_cache
    from app.ops import metrics

    account, operator = warm
    seen: list[dict[str, str]] = []
    labels = metrics.http_requests.labels
    monkeypatch.setattr(metrics.http_requests, "labels", lambda **kw: (seen.append(kw), labels(**kw))[1])
    client.post("/api/v1/messages", json=_message(account["id"], "counted"), headers=operator)
    token_cache.clear()  # through the FastAPI route this time
    client.post("/api/v1/messages", json=_message(account["id"], "counted-2"), headers=operator)
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert seen[0]["route"] != "unmatched"


def test_too_large_and_nul_bodies_are_refused_before_the_shortcut(client, warm):
    from app.config import get_settings

    account, operator = warm
    huge = b'{"content": "' + b"x" * get_settings().max_body_bytes + b'"}'
    resp = client.post(
        "/api/v1/messages", content=huge, headers={**operator, "Content-Type": "application/json"}
    )
    assert (resp.status_code, resp.json()["error"]["code"]) == (413, "payload_too_large")
    resp = client.post(
        "/api/v1/messages", json=_message(account["id"], "nul", content="a\u0000b"), headers=operator
    )
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "nul_character")
