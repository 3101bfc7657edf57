"""Personal data is masked by role everywhere it can appear; reveal is the one audited way to the original."""

from __future__ import annotations

import json
from typing import Any

from tests.replies.conftest import Desk

PHONE = "13912345678"


def test_an_auditor_sees_no_personal_data_anywhere(
    desk: Desk, make_user: Any, admin_headers: dict[str, str]
) -> None:
    auditor = make_user("auditor", name="审计员")
    supervisor = make_user("supervisor", name="督办员")
    message_id = desk.message(
        content=f"我叫赵六，电话{PHONE}，身份证过期了怎么办", author_id="wx-openid-zhaoliu-001"
    )
    from app.db import session_scope
    from app.messages.models import Message

    with session_scope() as session:
        message = session.get(Message, message_id)
        assert message is not None
        message.author_name = f"赵六 {PHONE}"
        message.routing = {
            "unit_code": "a",
            "confidence": 0.9,
            "reason": "命中规则：身份证号 110101199003078515",
        }
        session.add(message)
    reply_id = desk.draft(message_id, f"赵六您好，请携带身份证到派出所办理，如有疑问回电{PHONE}。")
    assert desk.post(f"/replies/{reply_id}/submit", desk.operator).status_code == 200

    for who in (auditor, supervisor, admin_headers):
        seen = [
            desk.get(f"/messages/{message_id}", who).json(),
            desk.get(f"/messages/{message_id}/full", who).json(),
            desk.get("/replies", who).json(),
            desk.get("/audit/events", who).json(),
        ]
        text = json.dumps(seen, ensure_ascii=False)
        assert PHONE not in text, text[:2000]
        assert "110101199003078515" not in text and "wx-openid-zhaoliu-001" not in text
        for message in (seen[0], seen[1]["message"]):
            assert message["author"]["name"] == "赵***", message["author"]

    # The people who answer the citizen see the name (contact numbers stay masked in the message).
    handler = desk.get(f"/messages/{message_id}", desk.operator).json()
    assert handler["author"]["name"].startswith("赵六") and PHONE not in handler["author"]["name"]
    assert PHONE in desk.reply(reply_id)["text"]


def test_reveal_takes_its_reason_in_the_body_and_is_audited(
    desk: Desk, admin_headers: dict[str, str]
) -> None:
    message_id = desk.message(content=f"电话{PHONE}")
    assert (
        desk.client.post(
            f"/api/v1/messages/{message_id}/reveal", params={"reason": "回访核实"}, headers=desk.operator
        ).status_code
        == 422
    )
    resp = desk.post(f"/messages/{message_id}/reveal", desk.operator, {"reason": "回访核实"})
    assert resp.status_code == 200 and PHONE in resp.json()["content"]
    events = desk.get("/audit/events", admin_headers, action="message.reveal").json()
    assert events[0]["note"] == "回访核实"


def test_propose_kb_does_not_copy_personal_data(
    desk: Desk, platform: Any, run_outbox: Any, frozen_clock: Any
) -> None:
    import httpx

    from tests.replies.conftest import GENERIC_SECRETS

    platform.post(GENERIC_SECRETS["reply_url"]).mock(return_value=httpx.Response(201, json={"id": "r1"}))
    # A private reply: a phone number there is a warning, not a block (a public one could not be approved).
    message_id = desk.message(kind="private")
    reply_id = desk.approved(message_id, f"您好，可到派出所换领，联系电话{PHONE}。")
    run_outbox(frozen_clock.at)
    assert desk.reply(reply_id)["state"] == "published"
    resp = desk.post(f"/replies/{reply_id}/propose-kb", desk.leader, {})
    assert resp.status_code in (200, 201), resp.text
    assert PHONE not in json.dumps(resp.json(), ensure_ascii=False)
