"""先审后发 cannot be side-stepped: `retry` and every other people's move name their source states."""

from __future__ import annotations

from tests.replies.conftest import Desk


def test_the_author_cannot_retry_a_reply_in_review_into_the_outbox(desk: Desk) -> None:
    message_id = desk.message()
    reply_id = desk.draft(message_id)
    assert desk.post(f"/replies/{reply_id}/submit", desk.operator).status_code == 200
    resp = desk.post(f"/replies/{reply_id}/retry", desk.operator)
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["code"] == "illegal_transition"
    assert desk.reply(reply_id)["state"] == "in_review"


def test_retry_cannot_skip_the_leader_review_of_a_sensitive_reply(desk: Desk) -> None:
    message_id = desk.message(flags=["sensitive"])
    reply_id = desk.draft(message_id)
    assert desk.post(f"/replies/{reply_id}/submit", desk.operator).status_code == 200
    assert desk.post(f"/replies/{reply_id}/approve", desk.reviewer).json()["state"] == "leader_review"
    for who in (desk.operator, desk.reviewer, desk.leader):
        resp = desk.post(f"/replies/{reply_id}/retry", who)
        assert resp.status_code == 409, resp.text
    assert desk.reply(reply_id)["state"] == "leader_review"


def test_retry_of_a_draft_is_refused(desk: Desk) -> None:
    reply_id = desk.draft(desk.message())
    assert desk.post(f"/replies/{reply_id}/retry", desk.operator).status_code == 409
    assert desk.reply(reply_id)["state"] == "drafting"
