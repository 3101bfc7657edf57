"""Replies to a website's reply_url go through the outbound policy; operators never see the remote body."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from app import outbound
from app.replies import outbox
from connectors.base import InMemoryTokenStore
from tests.replies.conftest import GENERIC_SECRETS, Desk


def test_a_reply_url_that_now_resolves_inside_is_undeliverable_not_sent(
    desk: Desk, frozen_clock: Any, dns: dict[str, list[str]]
) -> None:
    dns["board.example.gov.cn"] = ["192.168.10.4"]  # rebound after the account was saved
    reply_id = desk.approved(desk.message("generic"))
    with outbound.client(timeout=2) as client:
        outbox.drain(now=frozen_clock.at, tokens=InMemoryTokenStore(), http=client)
    reply = desk.reply(reply_id)
    assert reply["state"] == "undeliverable"
    assert reply["error_code"] == "outbound_refused"
    assert "内网" in reply["last_error"]


def test_a_refusal_shows_a_status_and_keeps_the_body_for_the_audit_log(
    desk: Desk, platform: respx.MockRouter, run_outbox: Any, frozen_clock: Any, admin_headers: dict[str, str]
) -> None:
    platform.post(GENERIC_SECRETS["reply_url"]).mock(
        return_value=httpx.Response(403, text="<html>Tomcat 8.5.1 admin console, db=10.0.0.3</html>")
    )
    reply_id = desk.approved(desk.message("generic"))
    run_outbox(frozen_clock.at)
    reply = desk.reply(reply_id)
    assert reply["state"] == "undeliverable"
    assert "HTTP 403" in reply["last_error"] and "Tomcat" not in json.dumps(reply)
    events = desk.client.get(
        "/api/v1/audit/events", params={"action": "reply.undeliverable"}, headers=admin_headers
    ).json()
    assert "Tomcat" in events[0]["after"]["remote_detail"]


def test_redirects_are_not_followed(
    desk: Desk, platform: respx.MockRouter, run_outbox: Any, frozen_clock: Any
) -> None:
    platform.post(GENERIC_SECRETS["reply_url"]).mock(
        return_value=httpx.Response(307, headers={"Location": "http://127.0.0.1:8080/admin"})
    )
    internal = platform.post("http://127.0.0.1:8080/admin").mock(return_value=httpx.Response(200))
    reply_id = desk.approved(desk.message("generic"))
    run_outbox(frozen_clock.at)
    assert not internal.called
    assert desk.reply(reply_id)["state"] == "undeliverable"
