"""Hostile: 提请领导复核 is a first-level review decision, so it obeys the first level's rule — nobody who
wrote or edited the reply may take it. Otherwise the author of a sensitive reply could escalate it
themselves and reach the outbox with one independent approval instead of two."""

from __future__ import annotations

from tests.replies.conftest import Desk


def test_the_author_cannot_escalate_their_own_sensitive_reply(desk: Desk) -> None:
    message_id = desk.message(external_id="esc-own", flags=["sensitive"])
    # A reviewer drafts (reviewers may draft) and submits the reply to a sensitive message.
    drafted = desk.post(
        f"/messages/{message_id}/replies", desk.reviewer, {"text": "您好，已转相关部门核实。"}
    )
    assert drafted.status_code == 201, drafted.text
    rid = drafted.json()["id"]
    assert desk.post(f"/replies/{rid}/submit", desk.reviewer).status_code == 200

    own = desk.post(f"/replies/{rid}/escalate", desk.reviewer, {"reason": "请领导把关"})
    assert own.status_code == 403, own.text
    assert desk.reply(rid)["state"] == "in_review"
    # The leader's approval alone cannot take it out of first-level review either.
    assert desk.post(f"/replies/{rid}/approve", desk.leader).json()["state"] == "leader_review"
    assert desk.post(f"/replies/{rid}/approve", desk.leader).status_code == 403  # same person twice
    assert desk.post(f"/replies/{rid}/approve", desk.leader2).json()["state"] == "approved"


def test_an_editor_cannot_escalate_either(desk: Desk) -> None:
    message_id = desk.message(external_id="esc-edit")
    rid = desk.draft(message_id)
    edited = desk.client.patch(
        f"/api/v1/replies/{rid}", json={"text": "您好，请到派出所办理。"}, headers=desk.leader
    )
    assert edited.status_code == 200, edited.text
    assert desk.post(f"/replies/{rid}/submit", desk.operator).status_code == 200
    assert desk.post(f"/replies/{rid}/escalate", desk.leader, {"reason": "我改过的稿子"}).status_code == 403
    assert desk.post(f"/replies/{rid}/escalate", desk.reviewer, {"reason": "请领导把关"}).status_code == 200
    assert desk.post(f"/replies/{rid}/approve", desk.leader).status_code == 403  # an editor of it
    assert desk.post(f"/replies/{rid}/approve", desk.leader2).json()["state"] == "approved"
