"""After `huiying demo`, a reply drafted and approved on the demo website account reaches the demo receiver
exactly once: a real loopback server (the app in demo mode), the real outbox and its real HTTP client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from app.accounts.models import Account
from app.accounts.service import secrets_of
from app.config import Settings, get_settings
from app.db import session_scope
from app.demo import load_demo
from app.main import create_app
from app.messages.models import Message
from app.replies import outbox
from connectors.generic import signed_headers
from tests.helpers import ok_json, serving

DATA = Path(__file__).resolve().parents[2] / "data"
TEXT = "您好，您反映的问题已转交相关部门核实处理，处理结果将在本网站公开答复。感谢您的监督。"


@pytest.fixture
def receiver(frozen_clock, monkeypatch) -> Iterator[str]:
    """The service in demo mode on a loopback port; loopback is allowed for outbound calls as in `make run`."""
    monkeypatch.setenv("HUIYING_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32")
    get_settings.cache_clear()
    app = create_app(Settings(demo_receiver=True), start_scheduler=False)
    try:
        with serving(app) as url:
            yield url
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.fixture
def demo(receiver) -> dict[str, object]:
    return load_demo(data_dir=DATA, receiver_url=f"{receiver}/demo/receiver")


def _board() -> Account:
    with session_scope() as session:
        return session.exec(select(Account).where(Account.external_id == "gov-board")).one()


def _open_board_message() -> Message:
    """One of the board's unanswered ('hot') messages that the pipeline routed to a unit."""
    with session_scope() as session:
        return session.exec(
            select(Message)
            .where(col(Message.external_id).like("wzhot-%"), col(Message.unit_code).is_not(None))
            .order_by(col(Message.id))
        ).first()


def test_demo_reply_reaches_the_demo_receiver_exactly_once(client, make_user, demo, receiver, frozen_clock):
    secrets = secrets_of(_board())
    assert secrets["reply_url"] == f"{receiver}/demo/receiver"
    assert len(secrets["hmac_secret"]) >= 32
    message = _open_board_message()
    assert message is not None and message.id is not None
    operator = make_user("operator", message.unit_code, name="经办人")
    reviewer = make_user("reviewer", message.unit_code, name="审核人")
    leader = make_user("leader", message.unit_code, name="分管领导")

    reply = ok_json(
        client.post(f"/api/v1/messages/{message.id}/replies", json={"text": TEXT}, headers=operator), 201
    )
    ok_json(client.post(f"/api/v1/replies/{reply['id']}/submit", headers=operator))
    approved = ok_json(client.post(f"/api/v1/replies/{reply['id']}/approve", headers=reviewer))
    if approved["state"] == "leader_review":
        approved = ok_json(client.post(f"/api/v1/replies/{reply['id']}/approve", headers=leader))
    assert approved["state"] == "approved"

    assert httpx.get(f"{receiver}/demo/receiver").json()["posts"] == 0  # nothing leaves before the outbox
    result = outbox.drain(now=frozen_clock())
    assert (result.published, result.undeliverable) == (1, 0)
    # later runs, and a run a day later, send nothing again
    outbox.drain(now=frozen_clock())
    outbox.drain(now=frozen_clock() + timedelta(days=1))

    inbox = httpx.get(f"{receiver}/demo/receiver").json()
    assert "演示接收端" in inbox["label"]
    assert (inbox["posts"], inbox["duplicates"]) == (1, 0)
    [delivery] = inbox["deliveries"]
    assert delivery["text"] == TEXT
    assert delivery["external_id"] == message.external_id
    published = ok_json(client.get(f"/api/v1/replies/{reply['id']}", headers=operator))
    assert published["state"] == "published"
    assert published["platform_reply_id"] == delivery["id"]

    # Loading the demo again keeps the account's secret (the receiver still verifies the same signature).
    load_demo(data_dir=DATA, receiver_url=f"{receiver}/demo/receiver")
    assert secrets_of(_board())["hmac_secret"] == secrets["hmac_secret"]


def _post(receiver: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{receiver}/demo/receiver", content=body, headers={"Content-Type": "application/json", **headers}
    )


def test_demo_receiver_refuses_what_a_real_website_would_refuse(demo, receiver, frozen_clock):
    secret = secrets_of(_board())["hmac_secret"]
    body = json.dumps({"external_id": "wz-1", "text": "伪造", "idempotency_key": "k1"}).encode()
    # unsigned, signed with another secret, and an old (replayed) signature: 401, nothing received
    assert _post(receiver, body, {}).status_code == 401
    assert (
        _post(receiver, body, signed_headers("not-the-secret", body, now=frozen_clock())).status_code == 401
    )
    stale = signed_headers(secret, body, now=frozen_clock() - timedelta(minutes=10))
    refused = _post(receiver, body, stale)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    # signed but malformed: 400 in the error format
    for bad in (b"not json", b"[1, 2]", json.dumps({"external_id": "x", "text": ""}).encode()):
        resp = _post(receiver, bad, signed_headers(secret, bad, now=frozen_clock()))
        assert resp.status_code == 400 and "error" in resp.json(), resp.text
    assert httpx.get(f"{receiver}/demo/receiver").json()["posts"] == 0
    # the same idempotency key twice is kept once
    for _ in range(2):
        ok = _post(receiver, body, signed_headers(secret, body, now=frozen_clock()))
        assert ok.status_code == 200
    inbox = httpx.get(f"{receiver}/demo/receiver").json()
    assert (inbox["posts"], inbox["duplicates"], len(inbox["deliveries"])) == (2, 1, 1)


def test_receiver_is_off_outside_demo_mode(client):
    assert client.get("/demo/receiver").status_code == 404
    assert "/demo/receiver" not in client.get("/openapi.json").json()["paths"]
