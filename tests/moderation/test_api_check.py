"""`POST /moderation/check`: abuse, sensitivity, spam and personal data per the contract, no side effects."""

from __future__ import annotations

from sqlmodel import func, select

from app.audit.models import AuditEvent
from app.db import session_scope
from app.moderation.models import LexiconState, ModerationTerm
from tests.moderation.conftest import Desk


def _rows() -> tuple[int, int, int]:
    with session_scope() as session:
        return (
            int(session.exec(select(func.count()).select_from(AuditEvent)).one()),
            int(session.exec(select(func.count()).select_from(ModerationTerm)).one()),
            int(session.exec(select(func.count()).select_from(LexiconState)).one()),
        )


def test_check_finds_abuse_and_masks_personal_data(desk: Desk) -> None:
    operator = desk.people("operator", "police")
    before = _rows()
    body = desk.check("你们这帮狗官，办事拖拉！我电话 139-0735-1286，邮箱 zhang.san@example.com", operator)
    assert body["abusive"] is True and body["sensitive"] is False and body["spam"] is False
    assert {p["kind"] for p in body["pii"]} == {"mobile", "email"}
    assert {"kind": "email", "text": "zhang.san@example.com"} in body["pii"]
    assert "139-0735-1286" not in body["masked_text"] and "zhang.san@example.com" not in body["masked_text"]
    assert "狗官" in body["masked_text"]
    assert any(h["kind"] == "abuse" for h in body["hits"])
    assert _rows() == before  # nothing stored, nothing seeded, nothing audited


def test_legitimate_anger_and_plain_numbers_are_left_alone(desk: Desk) -> None:
    body = desk.check("你们效率太低了，简直是不作为！订单号20240312000123，罚款200元，打12345也没用")
    assert body == {
        "abusive": False,
        "sensitive": False,
        "spam": False,
        "intense": True,  # strong criticism: tagged 情绪激烈, stays in the queue
        "prohibited": False,
        "rumour_check": False,
        "pii": [],
        "masked_text": "你们效率太低了，简直是不作为！订单号20240312000123，罚款200元，打12345也没用",
        "hits": [{"kind": "harsh", "term": "不作为", "category": "激烈", "why": ""}],
    }


def test_sensitive_and_spam(desk: Desk) -> None:
    assert desk.check("工地塔吊倒塌，死了两个工人，还有记者在现场")["sensitive"] is True
    assert desk.check("兼职刷单日赚500，加微信详聊")["spam"] is True


def test_check_needs_a_token_and_a_text(desk: Desk) -> None:
    assert desk.client.post("/api/v1/moderation/check", json={"text": "你好"}).status_code == 401
    resp = desk.client.post("/api/v1/moderation/check", json={"text": ""}, headers=desk.admin)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid"
