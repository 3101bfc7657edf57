"""Ingest, scoping, secrets, audit and bad input through the HTTP API."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from app.db import session_scope
from app.messages.models import IntakeItem, Message


def _count(model: type) -> int:
    with session_scope() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _setup(make_unit, make_account, make_user):  # type: ignore[no-untyped-def]
    make_unit("a", "甲单位")
    make_unit("a1", "甲下属", parent_code="a")
    make_unit("b", "乙单位")
    acc_a = make_account("a1")
    acc_b = make_account("b")
    return acc_a, acc_b, make_user("operator", "a"), make_user("operator", "b")


def test_duplicate_delivery_stores_one_message(client, make_unit, make_account, make_user):
    acc_a, _, op_a, _ = _setup(make_unit, make_account, make_user)
    body = {
        "account_id": acc_a["id"],
        "external_id": "x-1",
        "kind": "private",
        "author": {"id": "u1", "name": "市民"},
        "content": "路灯坏了",
    }
    first = client.post("/api/v1/messages", json=body, headers=op_a)
    second = client.post("/api/v1/messages", json=body, headers=op_a)
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert _count(Message) == 1
    assert _count(IntakeItem) == 1
    got = client.get(f"/api/v1/messages/{first.json()['id']}", headers=op_a).json()
    assert got["status"] == "received"
    assert got["platform"] == "generic"
    assert got["unit_code"] == "a1"


def test_operator_of_other_unit_gets_404_and_cannot_list(client, make_unit, make_account, make_user):
    acc_a, acc_b, op_a, op_b = _setup(make_unit, make_account, make_user)
    mid = client.post(
        "/api/v1/messages",
        json={"account_id": acc_a["id"], "external_id": "1", "content": "问题"},
        headers=op_a,
    ).json()["id"]
    assert client.get(f"/api/v1/messages/{mid}", headers=op_b).status_code == 404
    assert client.get(f"/api/v1/messages/{mid}", headers=op_b).json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/messages", headers=op_b).json()["items"] == []
    assert [m["id"] for m in client.get("/api/v1/messages", headers=op_a).json()["items"]] == [mid]
    # cannot post into another unit's account either, and learns nothing about it
    resp = client.post(
        "/api/v1/messages", json={"account_id": acc_a["id"], "external_id": "2", "content": "x"}, headers=op_b
    )
    assert resp.status_code == 404
    assert client.get(f"/api/v1/accounts/{acc_a['id']}", headers=op_b).status_code == 404
    assert {u["code"] for u in client.get("/api/v1/units", headers=op_a).json()} == {"a", "a1"}


def test_secrets_never_come_back(client, make_unit, admin_headers):
    make_unit("a")
    secret = "s3cr3t-value-must-not-leak"
    created = client.post(
        "/api/v1/accounts",
        json={
            "platform": "weibo",
            "name": "微博",
            "external_id": "123",
            "unit_code": "a",
            "secrets": {"app_secret": secret, "app_key": "k"},
        },
        headers=admin_headers,
    )
    assert created.status_code == 201
    assert created.json()["secret_keys"] == ["app_key", "app_secret"]
    assert secret not in created.text
    for path in (f"/api/v1/accounts/{created.json()['id']}", "/api/v1/accounts", "/api/v1/audit/events"):
        resp = client.get(path, headers=admin_headers)
        assert resp.status_code == 200
        assert secret not in resp.text
    with session_scope() as session:
        from app.accounts.models import Account

        stored = session.exec(select(Account)).one()
        assert secret not in (stored.secrets_encrypted or "")
    bad = client.post(
        "/api/v1/accounts",
        json={
            "platform": "weibo",
            "name": "x",
            "external_id": "9",
            "unit_code": "a",
            "secrets": {"password": "x"},
        },
        headers=admin_headers,
    )
    assert bad.status_code == 422


def test_every_write_leaves_an_audit_event(client, make_unit, make_account, make_user, admin_headers):
    make_unit("a")
    acc = make_account("a")
    op = make_user("operator", "a")
    client.patch("/api/v1/units/a", json={"name": "新名称"}, headers=admin_headers)
    client.post(
        "/api/v1/messages", json={"account_id": acc["id"], "external_id": "1", "content": "hi"}, headers=op
    )
    actions = [
        e["action"] for e in client.get("/api/v1/audit/events?limit=100", headers=admin_headers).json()
    ]
    assert {"unit.create", "account.create", "user.create", "unit.update", "message.ingest"} <= set(actions)
    update = next(
        e for e in client.get("/api/v1/audit/events?action=unit.update", headers=admin_headers).json()
    )
    assert update["before"]["name"] == "a" and update["after"]["name"] == "新名称"


def test_bad_input_is_4xx_in_error_format_and_stores_nothing(client, make_unit, make_account, make_user):
    make_unit("a")
    acc = make_account("a")
    op = make_user("operator", "a")
    before = _count(Message)
    headers = {**op, "Content-Type": "application/json"}
    cases = [
        (b"{not json", 400),
        (b'{"account_id": "abc", "external_id": "1", "content": "x"}', 422),
        (b'{"account_id": 1, "external_id": 5, "content": ["x"]}', 422),
        ('{"account_id": %d, "external_id": "1", "content": "\xff\xfe"}' % acc["id"], None),
        (b'{"account_id": 99999, "external_id": "1", "content": "x"}', 404),
        (b'{"account_id": %d, "external_id": "", "content": "x"}' % acc["id"], 422),
        (
            b'{"account_id": %d, "external_id": "1", "content": "x", "received_at": "2026-01-01T10:00:00"}'
            % acc["id"],
            400,
        ),
    ]
    for body, expected in cases:
        raw = body.encode("latin-1") if isinstance(body, str) else body
        resp = client.post("/api/v1/messages", content=raw, headers=headers)
        assert 400 <= resp.status_code < 500, (body, resp.status_code, resp.text)
        if expected:
            assert resp.status_code == expected, (body, resp.text)
        assert set(resp.json()["error"]) >= {"code", "message"}
    big = b'{"account_id": %d, "external_id": "big", "content": "' % acc["id"] + b"a" * 2_000_000 + b'"}'
    resp = client.post("/api/v1/messages", content=big, headers=headers)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"
    assert _count(Message) == before


def test_oversize_chunked_body_is_refused():
    import asyncio

    from app.main import Edge

    sent: list[dict] = []

    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        raise AssertionError("app reached")

    chunks = [{"type": "http.request", "body": b"x" * 600, "more_body": True}] * 3

    async def receive():
        return chunks.pop(0)

    async def send(event):
        sent.append(event)

    asyncio.run(Edge(app, 1000)({"type": "http", "method": "POST", "headers": []}, receive, send))
    assert sent[0]["status"] == 413


def test_auth_errors(client):
    assert client.get("/api/v1/messages").status_code == 401
    resp = client.get("/api/v1/messages", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthorized"


def test_operator_cannot_create_units_or_users(client, make_unit, make_user):
    make_unit("a")
    op = make_user("operator", "a")
    assert client.post("/api/v1/units", json={"code": "z", "name": "z"}, headers=op).status_code == 403
    assert client.post("/api/v1/users", json={"name": "x", "role": "admin"}, headers=op).status_code == 403


def test_cursor_pagination_walks_every_message_once(client, make_unit, make_account, make_user):
    make_unit("a")
    acc = make_account("a")
    op = make_user("operator", "a")
    for i in range(7):
        client.post(
            "/api/v1/messages",
            json={"account_id": acc["id"], "external_id": str(i), "content": f"m{i}"},
            headers=op,
        )
    seen, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/messages", params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=op
        ).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)
    assert client.get("/api/v1/messages?cursor=@@@", headers=op).status_code == 400


def test_unit_tree_refuses_cycles_and_unknown_links(client, make_unit, admin_headers):
    make_unit("a")
    make_unit("b", parent_code="a")
    assert (
        client.patch("/api/v1/units/a", json={"parent_code": "b"}, headers=admin_headers).status_code == 422
    )
    assert (
        client.post(
            "/api/v1/units", json={"code": "c", "name": "c", "parent_code": "nope"}, headers=admin_headers
        ).status_code
        == 422
    )
    assert (
        client.post("/api/v1/units", json={"code": "a", "name": "dup"}, headers=admin_headers).status_code
        == 409
    )


def test_pii_is_masked_and_reveal_is_audited(client, make_unit, make_account, make_user, admin_headers):
    make_unit("a")
    acc = make_account("a")
    op = make_user("operator", "a")
    mid = client.post(
        "/api/v1/messages",
        json={"account_id": acc["id"], "external_id": "p", "content": "我的电话13907351286请回电"},
        headers=op,
    ).json()["id"]
    shown = client.get(f"/api/v1/messages/{mid}", headers=op).json()["content"]
    assert "13907351286" not in shown
    revealed = client.post(f"/api/v1/messages/{mid}/reveal", json={"reason": "回访核实"}, headers=op).json()
    assert "13907351286" in revealed["content"]
    events = client.get("/api/v1/audit/events?action=message.reveal", headers=admin_headers).json()
    assert events and events[0]["note"] == "回访核实"


def test_health_ready_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "huiying_http_requests_total" in metrics.text


def test_concurrent_deliveries_are_grouped_and_deduplicated(client, make_unit, make_account, make_user):
    """Many requests at once (group commit): every distinct message stored once, duplicates get its id."""
    import asyncio

    import httpx

    from tests.conftest import _get_app

    make_unit("a")
    acc = make_account("a")
    op = make_user("operator", "a")

    async def fire() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=_get_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as ac:
            bodies = [
                {"account_id": acc["id"], "external_id": f"c{i % 10}", "content": f"并发{i % 10}"}
                for i in range(30)
            ]
            return list(
                await asyncio.gather(*(ac.post("/api/v1/messages", json=b, headers=op) for b in bodies))
            )

    responses = asyncio.run(fire())
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    assert sum(r.status_code == 201 for r in responses) == 10
    ids: dict[str, set[int]] = {}
    for i, r in enumerate(responses):
        ids.setdefault(f"c{i % 10}", set()).add(r.json()["id"])
    assert all(len(v) == 1 for v in ids.values())
    assert _count(Message) == 10 and _count(IntakeItem) == 10
