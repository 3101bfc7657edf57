"""Outgoing checks on every draft ({code, level, message, span}), recomputed on each edit and shown to the
reviewer; approving with a `block` is 409 with the reasons; a reviewer sends any reply to the leader."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import session_scope
from app.replies import service
from tests.replies.conftest import Desk

CITIZEN = "我的手机13907351286，身份证430102198003151234，补办身份证要多久？"
PLAIN = "您好，有效期满前三个月内可到派出所申请换领。"


def _checks(reply: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["code"], c["level"]) for c in reply["checks"]]


def _drafted(desk: Desk, text: str, **message: Any) -> dict[str, Any]:
    message_id = desk.message(content=message.pop("content", CITIZEN), **message)
    resp = desk.post(f"/messages/{message_id}/replies", desk.operator, {"text": text})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_a_plain_reply_has_no_checks(desk: Desk) -> None:
    assert _drafted(desk, PLAIN)["checks"] == []


def test_personal_data_blocks_a_public_reply_and_warns_a_private_one(desk: Desk) -> None:
    text = "您好，已登记您的手机13907351286，身份证430102198003151234的换领请到派出所办理。"
    public = _drafted(desk, text)
    assert _checks(public) == [("pii", "block"), ("pii", "block")]
    first = public["checks"][0]
    assert text[first["span"]["start"] : first["span"]["end"]] == "13907351286"
    assert "139****1286" in first["message"] and "13907351286" not in first["message"]
    private = _drafted(desk, text, platform="wechat", kind="private", external_id="m-2")
    assert _checks(private) == [("pii", "warn"), ("pii", "warn")]


def test_office_phone_is_fine_unless_it_repeats_the_citizens(desk: Desk) -> None:
    office = _drafted(desk, "您好，可拨打户籍咨询电话0731-84561234。")
    assert office["checks"] == []
    theirs = _drafted(
        desk, "您好，已电话0731-84561234联系您。", content="我家座机0731-84561234", external_id="m-2"
    )
    assert _checks(theirs) == [("pii", "block")]


def test_address_down_to_the_door_is_personal_data(desk: Desk) -> None:
    reply = _drafted(desk, "您好，工作人员将上门到锦绣华庭3栋2单元501核实。")
    assert _checks(reply) == [("pii", "block")]
    assert "门牌" in reply["checks"][0]["message"]


def test_abuse_and_illegal_content_block_sensitive_warns(desk: Desk) -> None:
    assert ("abuse", "block") in _checks(_drafted(desk, "你这个傻逼，自己去派出所问"))
    insult = _drafted(desk, "你们就是一群废物，别再留言了", external_id="m-2")
    (check,) = [c for c in insult["checks"] if c["code"] == "abuse"]
    assert "指向" in check["message"]
    assert ("prohibited", "block") in _checks(_drafted(desk, "大法好，三退保平安", external_id="m-3"))
    sensitive = _drafted(desk, "您好，关于工地事故造成的伤亡，我们正在调查。", external_id="m-4")
    assert {c for c in _checks(sensitive)} == {("sensitive", "warn")}
    # Handling a report of illegal content is not illegal content.
    handled = _drafted(desk, "您好，您举报的法轮功传单已转公安机关依法处理。", external_id="m-5")
    assert ("prohibited", "block") not in _checks(handled)


def test_length_warns_near_the_platform_limit(desk: Desk) -> None:
    # Weibo comments take 140 characters: a long draft is refused (422), a near one warned.
    near = _drafted(desk, "您" * 130, platform="weibo", thread_ref={"status_id": "1", "cid": "2"})
    assert _checks(near) == [("length", "warn")]


def test_kb_mismatch_comes_from_the_consistency_hook(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "draft_checks", [lambda ctx: ["与问答库口径不一致：工本费20元写成了50元"]])
    reply = _drafted(desk, PLAIN)
    assert reply["checks"] == [
        {
            "code": "kb_mismatch",
            "level": "warn",
            "message": "与问答库口径不一致：工本费20元写成了50元",
            "span": None,
        }
    ]


def test_checks_are_recomputed_on_each_edit(desk: Desk) -> None:
    reply = _drafted(desk, "您好，请回电13907351286。")
    assert _checks(reply) == [("pii", "block")]
    edited = desk.client.patch(f"/api/v1/replies/{reply['id']}", json={"text": PLAIN}, headers=desk.operator)
    assert edited.status_code == 200 and edited.json()["checks"] == []
    worse = desk.client.patch(
        f"/api/v1/replies/{reply['id']}", json={"text": "傻逼，自己看"}, headers=desk.operator
    ).json()
    assert ("abuse", "block") in _checks(worse)
    assert desk.reply(reply["id"], desk.reviewer)["checks"] == worse["checks"]  # shown to the reviewer


def test_approving_a_blocked_reply_is_409_with_the_reasons_and_changes_nothing(desk: Desk) -> None:
    reply = _drafted(desk, "您好，已记录您的手机13907351286，请等待。")
    assert desk.post(f"/replies/{reply['id']}/submit", desk.operator).status_code == 200
    resp = desk.post(f"/replies/{reply['id']}/approve", desk.reviewer)
    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "blocked_by_checks"
    assert "手机号" in error["message"] and "13907351286" not in error["message"]
    assert [(c["code"], c["level"]) for c in error["details"]["checks"]] == [("pii", "block")]
    after = desk.reply(reply["id"])
    assert after["state"] == "in_review" and after["reviews"] == [] and after["approved_by_name"] is None
    # Rejected, fixed, approved.
    desk.post(f"/replies/{reply['id']}/reject", desk.reviewer, {"reason": "删除手机号"})
    desk.client.patch(f"/api/v1/replies/{reply['id']}", json={"text": PLAIN}, headers=desk.operator)
    desk.post(f"/replies/{reply['id']}/submit", desk.operator)
    assert desk.post(f"/replies/{reply['id']}/approve", desk.reviewer).json()["state"] == "approved"


def test_a_lexicon_change_after_drafting_still_blocks_at_approval(desk: Desk, admin_headers: Any) -> None:
    reply = _drafted(desk, "您好，这个问题请找硕鼠科长。")
    assert reply["checks"] == []
    desk.post(f"/replies/{reply['id']}/submit", desk.operator)
    added = desk.client.post(
        "/api/v1/moderation/lexicon", json={"kind": "abuse", "term": "硕鼠"}, headers=admin_headers
    )
    assert added.status_code == 201
    resp = desk.post(f"/replies/{reply['id']}/approve", desk.reviewer)
    assert resp.status_code == 409 and "硕鼠" in resp.json()["error"]["message"]


def test_a_sensitive_reply_needs_the_leader(desk: Desk) -> None:
    reply = _drafted(desk, "您好，关于工地事故造成的伤亡，我们正在调查。")
    desk.post(f"/replies/{reply['id']}/submit", desk.operator)
    assert reply["review_levels"] == 2
    first = desk.post(f"/replies/{reply['id']}/approve", desk.reviewer).json()
    assert first["state"] == "leader_review"
    assert desk.post(f"/replies/{reply['id']}/approve", desk.leader).json()["state"] == "approved"


def test_reviewer_sends_any_reply_to_the_leader_by_hand(desk: Desk) -> None:
    reply = _drafted(desk, PLAIN)
    rid = reply["id"]
    assert reply["checks"] == [] and reply["review_levels"] == 1
    # Not before it is submitted, not by an operator, not from another unit, not without a reason.
    assert desk.post(f"/replies/{rid}/escalate", desk.reviewer, {"reason": "请领导把关"}).status_code == 409
    desk.post(f"/replies/{rid}/submit", desk.operator)
    assert desk.post(f"/replies/{rid}/escalate", desk.operator2, {"reason": "请领导把关"}).status_code == 403
    assert desk.post(f"/replies/{rid}/escalate", desk.reviewer_b, {"reason": "请领导把关"}).status_code == 404
    assert desk.post(f"/replies/{rid}/escalate", desk.reviewer, {"reason": ""}).status_code == 422
    assert desk.post(f"/replies/{rid}/escalate", desk.reviewer, {"reason": "x" * 501}).status_code == 422

    sent = desk.post(f"/replies/{rid}/escalate", desk.reviewer, {"reason": "涉及补偿口径，请领导把关"})
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["state"] == "leader_review" and body["state_label"] == "待领导复核"
    assert body["review_levels"] == 2
    assert [(r["level"], r["decision"], r["reason"]) for r in body["reviews"]] == [
        (1, "escalated", "涉及补偿口径，请领导把关")
    ]
    assert desk.post(f"/replies/{rid}/escalate", desk.reviewer, {"reason": "再提一次"}).status_code == 409
    assert desk.post(f"/replies/{rid}/approve", desk.reviewer2).status_code == 403  # a leader's call now
    assert desk.post(f"/replies/{rid}/approve", desk.leader).json()["state"] == "approved"
    with session_scope() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "reply.escalate")).one()
        assert event.note == "涉及补偿口径，请领导把关"


def test_the_leader_who_escalated_cannot_approve_it_alone(desk: Desk) -> None:
    rid = _drafted(desk, PLAIN)["id"]
    desk.post(f"/replies/{rid}/submit", desk.operator)
    assert desk.post(f"/replies/{rid}/escalate", desk.leader, {"reason": "我想再看看"}).status_code == 200
    assert desk.post(f"/replies/{rid}/approve", desk.leader).status_code == 403
    assert desk.post(f"/replies/{rid}/approve", desk.leader2).json()["state"] == "approved"
