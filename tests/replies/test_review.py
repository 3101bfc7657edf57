"""Drafting and graded review (先审后发, 分级审核): who may do what, in which state, and what is recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from app.db import session_scope
from app.replies import service
from tests.replies.conftest import Desk

SUGGESTION = {
    "entry_id": 17,
    "version": 3,
    "question": "身份证到期前多久可以换领？",
    "answer": "居民身份证有效期满前三个月内，可到户籍所在地派出所申请换领。",
    "score": 0.93,
    "confident": True,
}


def test_draft_from_a_suggestion_records_entry_and_version_and_uses_its_answer(desk: Desk) -> None:
    message_id = desk.message(suggestions=[SUGGESTION])
    resp = desk.post(f"/messages/{message_id}/replies", desk.operator, {"kb_entry_id": 17})
    assert resp.status_code == 201, resp.text
    reply = resp.json()
    assert reply["text"] == SUGGESTION["answer"]
    assert (reply["kb_entry_id"], reply["kb_entry_version"]) == (17, 3)
    assert reply["state"] == "drafting" and reply["author_name"] == "经办人甲"
    assert desk.message_json(message_id)["status"] == "drafting"


def test_free_text_draft_edit_submit_approve(desk: Desk) -> None:
    message_id = desk.message()
    reply_id = desk.draft(message_id, "初稿")
    resp = desk.client.patch(
        f"/api/v1/replies/{reply_id}", json={"text": "您好，请携带旧证到派出所办理。"}, headers=desk.operator
    )
    assert resp.status_code == 200 and resp.json()["text"] == "您好，请携带旧证到派出所办理。"
    assert desk.post(f"/replies/{reply_id}/submit", desk.operator).json()["state"] == "in_review"
    assert desk.message_json(message_id)["status"] == "in_review"
    approved = desk.post(f"/replies/{reply_id}/approve", desk.reviewer).json()
    assert approved["state"] == "approved" and approved["review_levels"] == 1
    assert approved["approved_by_name"] == "审核人甲"
    assert [(r["level"], r["decision"], r["text"]) for r in approved["reviews"]] == [
        (1, "approved", "您好，请携带旧证到派出所办理。")
    ]
    assert desk.message_json(message_id)["status"] == "approved"


def test_a_reviewer_cannot_approve_a_draft_they_wrote_or_edited(desk: Desk) -> None:
    message_id = desk.message()
    own = desk.post(f"/messages/{message_id}/replies", desk.reviewer, {"text": "审核人自己写的"}).json()["id"]
    desk.post(f"/replies/{own}/submit", desk.reviewer)
    resp = desk.post(f"/replies/{own}/approve", desk.reviewer)
    assert resp.status_code == 403
    assert "不能审核本人起草" in resp.json()["error"]["message"]
    # Editing someone else's draft makes it one's own too.
    desk.post(f"/replies/{own}/withdraw", desk.reviewer)
    other = desk.draft(message_id)
    desk.client.patch(f"/api/v1/replies/{other}", json={"text": "审核人改过的"}, headers=desk.reviewer2)
    desk.post(f"/replies/{other}/submit", desk.operator)
    assert desk.post(f"/replies/{other}/approve", desk.reviewer2).status_code == 403
    assert desk.post(f"/replies/{other}/approve", desk.reviewer).json()["state"] == "approved"


def test_operators_cannot_approve(desk: Desk) -> None:
    reply_id = desk.draft(desk.message())
    desk.post(f"/replies/{reply_id}/submit", desk.operator)
    assert desk.post(f"/replies/{reply_id}/approve", desk.operator2).status_code == 403


def test_sensitive_message_needs_a_second_approval_by_another_leader(desk: Desk) -> None:
    message_id = desk.message(flags=["sensitive"])
    reply_id = desk.draft(message_id)
    desk.post(f"/replies/{reply_id}/submit", desk.operator)
    first = desk.post(f"/replies/{reply_id}/approve", desk.leader).json()
    assert first["state"] == "leader_review" and first["review_levels"] == 2
    assert desk.message_json(message_id)["status"] == "in_review"
    # a reviewer cannot give the second approval, nor can the leader who gave the first
    resp = desk.post(f"/replies/{reply_id}/approve", desk.reviewer)
    assert resp.status_code == 403 and "领导复核" in resp.json()["error"]["message"]
    assert desk.post(f"/replies/{reply_id}/approve", desk.leader).status_code == 403
    final = desk.post(f"/replies/{reply_id}/approve", desk.leader2).json()
    assert final["state"] == "approved"
    assert [(r["level"], r["reviewer_name"]) for r in final["reviews"]] == [
        (1, "分管领导甲"),
        (2, "分管领导乙"),
    ]
    assert final["approved_by_name"] == "分管领导乙"


def test_rejection_loop_goes_back_to_drafting_with_the_reason(desk: Desk) -> None:
    message_id = desk.message(flags=["sensitive"])
    reply_id = desk.draft(message_id, "第一稿")
    desk.post(f"/replies/{reply_id}/submit", desk.operator)
    desk.post(f"/replies/{reply_id}/approve", desk.reviewer)
    rejected = desk.post(f"/replies/{reply_id}/reject", desk.leader, {"reason": "办理地点写错了"}).json()
    assert rejected["state"] == "drafting" and rejected["rejection_reason"] == "办理地点写错了"
    assert desk.message_json(message_id)["status"] == "drafting"
    desk.client.patch(f"/api/v1/replies/{reply_id}", json={"text": "第二稿"}, headers=desk.operator)
    desk.post(f"/replies/{reply_id}/submit", desk.operator)
    desk.post(f"/replies/{reply_id}/approve", desk.reviewer)
    final = desk.post(f"/replies/{reply_id}/approve", desk.leader).json()
    assert final["state"] == "approved"
    assert [(r["level"], r["decision"], r["text"]) for r in final["reviews"]] == [
        (1, "approved", "第一稿"),
        (2, "rejected", "第一稿"),
        (1, "approved", "第二稿"),
        (2, "approved", "第二稿"),
    ]
    assert final["reviews"][1]["reason"] == "办理地点写错了"


def test_illegal_transitions_are_409(desk: Desk) -> None:
    message_id = desk.message()
    reply_id = desk.draft(message_id)
    assert desk.post(f"/replies/{reply_id}/approve", desk.reviewer).status_code == 409
    assert desk.post(f"/replies/{reply_id}/reject", desk.reviewer, {"reason": "不行"}).status_code == 409
    # one reply at a time per message
    assert desk.post(f"/messages/{message_id}/replies", desk.operator, {"text": "又一条"}).status_code == 409
    desk.post(f"/replies/{reply_id}/submit", desk.operator)
    again = desk.post(f"/replies/{reply_id}/submit", desk.operator)
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    assert "待审核" in again.json()["error"]["message"]
    edit = desk.client.patch(f"/api/v1/replies/{reply_id}", json={"text": "改"}, headers=desk.operator)
    assert edit.status_code == 409
    assert (
        desk.post(f"/messages/{message_id}/out-of-scope", desk.operator, {"text": "请找供电公司"}).status_code
        == 409
    )
    desk.post(f"/replies/{reply_id}/approve", desk.reviewer)
    assert desk.post(f"/replies/{reply_id}/withdraw", desk.operator).status_code == 409
    assert (
        desk.post(f"/messages/{message_id}/close", desk.reviewer, {"reason": "duplicate"}).status_code == 409
    )
    assert desk.post(f"/replies/{reply_id}/retry", desk.operator).status_code == 409
    assert (
        desk.post(f"/replies/{reply_id}/delivered-manually", desk.operator, {"note": "电话告知"}).status_code
        == 409
    )


def test_a_message_not_yet_routed_cannot_be_answered(desk: Desk) -> None:
    resp = desk.post(
        "/messages",
        desk.operator,
        {"account_id": desk.accounts["generic"], "external_id": "raw", "content": "刚收到"},
    )
    draft = desk.post(f"/messages/{resp.json()['id']}/replies", desk.operator, {"text": "答复"})
    assert draft.status_code == 409 and "待分办" in draft.json()["error"]["message"]


def test_other_units_get_404(desk: Desk) -> None:
    message_id = desk.message()
    reply_id = desk.draft(message_id)
    desk.post(f"/replies/{reply_id}/submit", desk.operator)
    assert desk.get(f"/replies/{reply_id}", desk.operator_b).status_code == 404
    assert desk.post(f"/replies/{reply_id}/approve", desk.reviewer_b).status_code == 404
    assert desk.post(f"/messages/{message_id}/replies", desk.operator_b, {"text": "x"}).status_code == 404
    assert (
        desk.post(f"/messages/{message_id}/close", desk.reviewer_b, {"reason": "duplicate"}).status_code
        == 404
    )
    assert desk.get(f"/messages/{message_id}/full", desk.operator_b).status_code == 404
    assert desk.get("/queue", desk.operator_b).json()["items"] == []
    assert desk.get("/replies", desk.operator_b).json()["items"] == []
    assert [r["id"] for r in desk.get("/replies", desk.operator).json()["items"]] == [reply_id]
    assert desk.get(f"/replies/{reply_id}", desk.reviewer).status_code == 200


def test_each_step_is_audited_with_the_text(desk: Desk, admin_headers: dict[str, str]) -> None:
    message_id = desk.message()
    reply_id = desk.approved(message_id, "审核通过的原文")
    events = desk.get("/audit/events", admin_headers, entity_type="reply", entity_id=str(reply_id)).json()
    by_action = {e["action"]: e for e in events}
    assert {"reply.draft", "reply.submit", "reply.approve"} <= set(by_action)
    assert by_action["reply.approve"]["after"]["text"] == "审核通过的原文"
    assert by_action["reply.approve"]["actor_name"] == "审核人甲"
    assert by_action["reply.approve"]["unit_code"] == "a"


def test_weibo_comment_reply_over_140_characters_is_refused_at_drafting(desk: Desk) -> None:
    message_id = desk.message(
        "weibo", thread_ref={"cid": "4912345678901234", "status_id": "4912345600000000"}
    )
    resp = desk.post(f"/messages/{message_id}/replies", desk.operator, {"text": "办" * 141})
    assert resp.status_code == 422
    assert "140" in resp.json()["error"]["message"] and "微博" in resp.json()["error"]["message"]
    reply_id = desk.draft(message_id, "办" * 140)
    edit = desk.client.patch(f"/api/v1/replies/{reply_id}", json={"text": "办" * 150}, headers=desk.operator)
    assert edit.status_code == 422
    assert desk.reply(reply_id)["text"] == "办" * 140


def test_close_without_reply_for_a_stated_reason(desk: Desk) -> None:
    message_id = desk.message()
    reply_id = desk.draft(message_id)
    assert (
        desk.post(f"/messages/{message_id}/close", desk.operator, {"reason": "thanks_only"}).status_code
        == 403
    )
    assert desk.post(f"/messages/{message_id}/close", desk.reviewer, {"reason": "other"}).status_code == 422
    closed = desk.post(f"/messages/{message_id}/close", desk.reviewer, {"reason": "thanks_only"}).json()
    assert closed["status"] == "closed" and "仅表示感谢" in closed["close_reason"]
    assert desk.reply(reply_id)["state"] == "withdrawn"
    assert desk.post(f"/messages/{message_id}/replies", desk.operator, {"text": "x"}).status_code == 409


def test_out_of_scope_gets_a_pointer_reply_due_the_same_working_day(desk: Desk, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    message_id = desk.message(content="小区停电了什么时候来电？")
    before = desk.message_json(message_id)
    resp = desk.post(
        f"/messages/{message_id}/out-of-scope", desk.operator, {"text": "您好，供电问题请拨打95598反映。"}
    )
    assert resp.status_code == 201, resp.text
    reply = resp.json()
    assert reply["kind"] == "pointer" and reply["state"] == "drafting"
    after = desk.message_json(message_id)
    assert after["out_of_scope"] is True
    # received Monday 2026-03-02 09:00 Beijing: due 23:59:59 that day, instead of five working days later
    assert after["due_at"].startswith("2026-03-02T15:59:59")
    assert before["due_at"] > after["due_at"]
    desk.post(f"/replies/{reply['id']}/submit", desk.operator)
    assert desk.post(f"/replies/{reply['id']}/approve", desk.reviewer).json()["state"] == "approved"


@pytest.fixture
def consistency_check() -> Iterator[None]:
    def check(draft: service.DraftContext) -> list[str]:
        return ["答复与问答库条目口径不一致"] if "不能" in draft.text else []

    service.draft_checks.append(check)
    yield
    service.draft_checks.remove(check)


def test_draft_checks_add_warnings_for_the_reviewer(desk: Desk, consistency_check: None) -> None:
    message_id = desk.message()
    reply_id = desk.draft(message_id, "不能提前换领。")
    assert desk.reply(reply_id)["warnings"] == ["答复与问答库条目口径不一致"]
    desk.client.patch(
        f"/api/v1/replies/{reply_id}", json={"text": "可以提前三个月换领。"}, headers=desk.operator
    )
    assert desk.reply(reply_id)["warnings"] == []


def test_my_queue_is_sorted_by_due_time_and_paginated(desk: Desk, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    start = frozen_clock.at
    late = desk.message(external_id="late", received_at=start)
    early = desk.message(external_id="early", received_at=start - timedelta(days=3))
    middle = desk.message(external_id="middle", received_at=start - timedelta(days=1))
    done = desk.message(external_id="done")
    desk.post(f"/messages/{done}/close", desk.reviewer, {"reason": "duplicate"})
    reply_id = desk.draft(middle)
    first = desk.get("/queue", desk.operator, limit=2).json()
    assert [m["id"] for m in first["items"]] == [early, middle]
    assert first["items"][1]["reply"]["id"] == reply_id
    assert first["items"][1]["reply"]["state_label"] == "起草中"
    second = desk.get("/queue", desk.operator, limit=2, cursor=first["next_cursor"]).json()
    assert [m["id"] for m in second["items"]] == [late] and second["next_cursor"] is None
    assert [m["id"] for m in desk.get("/queue", desk.reviewer, status="drafting").json()["items"]] == [middle]


def test_full_view_has_routing_suggestions_deadline_replies_and_history(desk: Desk) -> None:
    message_id = desk.message(suggestions=[SUGGESTION])
    reply_id = desk.approved(message_id)
    full = desk.get(f"/messages/{message_id}/full", desk.operator).json()
    assert full["message"]["id"] == message_id
    assert full["suggestions"][0]["entry_id"] == 17
    assert full["deadline"]["due_at"] and full["deadline"]["basis"]
    assert full["deadline"]["working_days"] == 5
    assert [r["id"] for r in full["replies"]] == [reply_id]
    actions = [e["action"] for e in full["history"]]
    assert actions[0] == "message.ingest"
    assert {"reply.draft", "reply.submit", "reply.approve"} <= set(actions)


def test_a_draft_past_the_wechat_48_hour_window_is_flagged(desk: Desk, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    ref = {"openid": "oK3Yp5yVbG8xq-citizen"}
    fresh = desk.message("wechat", external_id="fresh", kind="private", thread_ref=ref)
    assert desk.reply(desk.draft(fresh))["warnings"] == []
    old = desk.message(
        "wechat",
        external_id="old",
        kind="private",
        thread_ref={"openid": "oK3Yp5yVbG8xq-another"},
        author_id="another-citizen",
        received_at=frozen_clock.at - timedelta(hours=50),
    )
    warnings = desk.reply(desk.draft(old))["warnings"]
    assert len(warnings) == 1 and "48小时" in warnings[0]


def test_abusive_and_spam_messages_stay_out_of_the_queue_unless_asked_for(desk: Desk) -> None:
    normal = desk.message(external_id="normal")
    abusive = desk.message(external_id="abusive", flags=["abusive", "pii"])
    spam = desk.message(external_id="spam", flags=["spam"])
    assert [m["id"] for m in desk.get("/queue", desk.reviewer).json()["items"]] == [normal]
    flagged = desk.get("/queue", desk.reviewer, include_flagged="true").json()["items"]
    assert {m["id"] for m in flagged} == {normal, abusive, spam}
    assert desk.post(f"/messages/{abusive}/close", desk.reviewer, {"reason": "abusive"}).status_code == 200


def test_out_of_scope_without_text_takes_the_pointer_routing_suggested(desk: Desk) -> None:
    from app.db import session_scope
    from app.messages.models import Message

    message_id = desk.message(content="我在外省旅游被宰客了")
    assert desk.post(f"/messages/{message_id}/out-of-scope", desk.operator).status_code == 422
    with session_scope() as session:
        message = session.get(Message, message_id)
        assert message is not None
        message.routing = {
            "unit_code": "a",
            "confidence": 0.2,
            "reason": "疑似非本级职责",
            "pointer": "请向当地12345反映。",
        }
    resp = desk.post(f"/messages/{message_id}/out-of-scope", desk.operator)
    assert resp.status_code == 201, resp.text
    assert resp.json()["text"] == "请向当地12345反映。" and resp.json()["kind"] == "pointer"


def test_a_second_private_answer_to_a_weibo_mention_within_48_hours_is_flagged(
    desk: Desk, frozen_clock
) -> None:  # type: ignore[no-untyped-def]
    # Finding 7: Weibo answers an @-mention privately once per 48 hours.
    from datetime import timedelta

    from app.replies.models import Reply

    ref = {"sender_id": "6000000002"}
    first = desk.message(
        "weibo", external_id="mention-1", kind="mention", thread_ref=ref, author_id="6000000002"
    )
    assert desk.reply(desk.draft(first))["warnings"] == []
    with session_scope() as session:
        reply = session.exec(select(Reply).where(Reply.message_id == first)).one()
        reply.published_at = frozen_clock.at - timedelta(hours=47)
        session.add(reply)
        session.commit()
    second = desk.message(
        "weibo", external_id="mention-2", kind="mention", thread_ref=ref, author_id="6000000002"
    )
    warnings = desk.reply(desk.draft(second))["warnings"]
    assert len(warnings) == 1 and "每48小时只能发一次" in warnings[0]
    other = desk.message(
        "weibo", external_id="mention-3", kind="mention", thread_ref={"sender_id": "7"}, author_id="7"
    )
    assert desk.reply(desk.draft(other))["warnings"] == []
    public = desk.message(
        "weibo",
        external_id="mention-4",
        kind="mention",
        thread_ref={"cid": "1", "status_id": "2"},
        author_id="6000000002",
    )
    assert desk.reply(desk.draft(public))["warnings"] == []  # answered as a comment: no limit
