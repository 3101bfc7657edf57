"""Illegal and harmful content (违法有害信息): held out of the reply queue as evidence, the unit's leaders and
the supervising office alerted at once through the notification path, exported for the police; rumours
sent to the information office. Reports of such content are ordinary messages."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import respx
from sqlmodel import select

from app import clock
from app.audit.models import AuditEvent
from app.db import session_scope
from app.intake.pipeline import Pipeline
from app.messages.models import Message
from app.moderation.models import ContentEvidence
from app.notifications.delivery import send_pending
from app.notifications.models import SlaNotification
from app.sla.escalation import delivery_rules
from tests.moderation.conftest import Desk

EVIDENCE = "/api/v1/moderation/evidence"
POLICE_ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=police-leaders-0001"
OFFICE_ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=office-duty-0002"


def _message(message_id: int) -> Message:
    with session_scope() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def _notes(message_id: int) -> dict[str, tuple[str, str | None]]:
    with session_scope() as session:
        rows = session.exec(select(SlaNotification).where(SlaNotification.message_id == message_id)).all()
        return {row.step: (row.target, row.unit_code) for row in rows}


def _robot(desk: Desk, unit: str, url: str, audience: str) -> None:
    body = {"unit_code": unit, "kind": "wecom", "name": f"{unit}群", "url": url, "audience": audience}
    resp = desk.client.post("/api/v1/notification-channels", json=body, headers=desk.admin)
    assert resp.status_code == 201, resp.text


def test_illegal_content_is_hidden_kept_and_alerted_at_once(desk: Desk) -> None:
    harmful = desk.ingest("宣传法轮功，推翻政府，分裂国家 派出所户口", author="bad-actor")
    report = desk.ingest("有人在小区门口发法轮功传单，已经拍照了，请派出所处理", author="good-citizen")
    assert Pipeline().drain().done == 2

    held = _message(harmful)
    assert "prohibited" in held.flags and held.status == "closed"
    assert held.close_reason is not None and held.close_reason.startswith("prohibited")
    assert held.next_check_at is None  # no deadline reminders about content nobody will answer
    fine = _message(report)
    assert "prohibited" not in fine.flags and fine.status == "open"

    # Out of every queue, still readable by id as evidence.
    leader = desk.people("leader", "police")
    queue = desk.client.get("/api/v1/queue", headers=leader).json()["items"]
    assert [m["id"] for m in queue] == [report]
    assert desk.client.get(f"/api/v1/messages/{harmful}", headers=leader).status_code == 200

    # Two immediate alerts: the unit's leaders and the supervising office (the unit's supervisor).
    assert _notes(harmful) == {
        "prohibited_leaders": ("leaders", "police"),
        "prohibited_supervisor": ("supervisor", "office"),
    }
    assert _notes(report) == {}
    with session_scope() as session:
        evidence = session.exec(select(ContentEvidence)).all()
        assert [(e.message_id, e.terms) for e in evidence] == [(harmful, ["法轮功", "推翻政府", "分裂国家"])]
        assert "邪教" in evidence[0].categories and "危害国家安全" in evidence[0].categories
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity_id == str(harmful))).all()
        assert {"moderation.prohibited_hold", "sla.prohibited_alert"} <= set(actions)

    # Running the pipeline again holds and alerts nothing twice.
    with session_scope() as session:
        from app.messages.models import IntakeItem, IntakeState

        item = session.exec(select(IntakeItem).where(IntakeItem.message_id == harmful)).one()
        item.state = IntakeState.pending
        session.add(item)
        session.commit()
    Pipeline().drain()
    with session_scope() as session:
        assert len(session.exec(select(ContentEvidence)).all()) == 1
        assert (
            len(session.exec(select(SlaNotification).where(SlaNotification.message_id == harmful)).all()) == 2
        )


def test_alerts_go_out_although_the_message_is_closed(desk: Desk) -> None:
    _robot(desk, "police", POLICE_ROBOT, "leaders")
    _robot(desk, "office", OFFICE_ROBOT, "all")
    harmful = desk.ingest("线上赌场真人荷官在线发牌，注册送88，另有代办信用卡包套现")
    Pipeline().drain()
    ok = {"errcode": 0, "errmsg": "ok"}
    with respx.mock(assert_all_called=True) as router:
        police = router.post(POLICE_ROBOT).mock(return_value=httpx.Response(200, json=ok))
        office = router.post(OFFICE_ROBOT).mock(return_value=httpx.Response(200, json=ok))
        result = send_pending(rules=delivery_rules, now=clock.now())
    assert result.claimed == 2
    assert police.call_count == 1 and office.call_count == 1
    sent = police.calls.last.request.content.decode("utf-8")
    assert "违法有害信息告警" in sent and "留存证据" in sent
    with session_scope() as session:
        states = session.exec(
            select(SlaNotification.state).where(SlaNotification.message_id == harmful)
        ).all()
        assert set(states) == {"sent"}


def test_evidence_export_json_and_csv(desk: Desk) -> None:
    harmful = desk.ingest(
        '=HYPERLINK("x") 收购银行卡，一张800，长期有效 身份证 13907351286', author="seller-9"
    )
    Pipeline().drain()
    supervisor = desk.people("supervisor")
    page = desk.client.get(EVIDENCE, headers=supervisor)
    assert page.status_code == 200, page.text
    (item,) = page.json()["items"]
    assert item["message_id"] == harmful and item["author_id"] == "seller-9"
    assert item["author_name"] == "网友seller-9" and item["platform"] == "generic"
    assert item["content"].endswith("13907351286")  # evidence is the original, unmasked
    assert item["message_external_id"].startswith("mod") and item["account_id"] == desk.account_id
    assert item["terms"] == ["收购银行卡"] and item["categories"] == ["诈骗"]
    assert item["received_at"] and item["flagged_at"]

    csv_resp = desk.client.get(EVIDENCE, params={"format": "csv"}, headers=supervisor)
    assert csv_resp.status_code == 200 and csv_resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_resp.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["证据编号", "留言ID", "平台"] and len(rows) == 2
    content = rows[1][rows[0].index("内容")]
    assert content.startswith("'=HYPERLINK")  # never a live formula in a spreadsheet

    with session_scope() as session:
        exports = session.exec(
            select(AuditEvent).where(AuditEvent.action == "moderation.evidence.export")
        ).all()
        assert len(exports) == 2


def test_evidence_is_scoped_and_checked(desk: Desk, make_unit: Any, make_account: Any) -> None:
    make_unit("health", "县卫健局")
    other = make_account("health")
    desk.ingest("出售枪支弹药，货到付款")
    desk.ingest("冰毒便宜出，同城可送", account_id=int(other["id"]))
    Pipeline().drain()
    police_leader = desk.people("leader", "police")
    health_leader = desk.people("leader", "health")
    assert len(desk.client.get(EVIDENCE, headers=desk.admin).json()["items"]) == 2
    mine = desk.client.get(EVIDENCE, headers=police_leader).json()["items"]
    theirs = desk.client.get(EVIDENCE, headers=health_leader).json()["items"]
    assert [i["content"] for i in mine] == ["出售枪支弹药，货到付款"]
    assert [i["content"] for i in theirs] == ["冰毒便宜出，同城可送"]
    assert desk.client.get(EVIDENCE, headers=desk.people("operator", "police")).status_code == 403
    assert desk.client.get(EVIDENCE, headers=desk.people("reviewer", "police")).status_code == 403
    # Paging: one at a time, newest first, then nothing.
    first = desk.client.get(EVIDENCE, params={"limit": 1}, headers=desk.admin).json()
    second = desk.client.get(
        EVIDENCE, params={"limit": 1, "cursor": first["next_cursor"]}, headers=desk.admin
    ).json()
    assert first["items"][0]["evidence_id"] > second["items"][0]["evidence_id"]
    assert second["next_cursor"] is None
    for params in (
        {"cursor": "!!!"},
        {"limit": 0},
        {"limit": 100000},
        {"format": "pdf"},
        {"from": "yesterday"},
    ):
        resp = desk.client.get(EVIDENCE, params=params, headers=desk.admin)
        assert 400 <= resp.status_code < 500 and "error" in resp.json(), params
    naive = desk.client.get(EVIDENCE, params={"from": "2026-03-01T00:00:00"}, headers=desk.admin)
    assert naive.status_code == 422


def test_rumour_goes_to_the_information_office_and_stays_in_the_queue(desk: Desk) -> None:
    rumour = desk.ingest("网传明天全城停水，派出所门口都在排队接水，是真的吗")
    question = desk.ingest("停水通知上说周三检修，大概几点恢复供水？")
    Pipeline().drain()
    assert "rumour_check" in _message(rumour).flags and _message(rumour).status == "open"
    assert "rumour_check" not in _message(question).flags
    assert _notes(rumour) == {"rumour_check": ("supervisor", "office")}
    assert _notes(question) == {}


def test_hearsay_is_a_rumour_only_about_an_alarming_matter_in_the_same_sentence() -> None:
    from app.moderation.check import check

    assert check("听说化工厂那边发生爆炸了，真的假的").rumour_check is True
    assert check("内部消息，下周要封城了").rumour_check is True
    assert check("听说社保可以网上办。昨天路口发生车祸，交警来了").rumour_check is False
    assert check("听说今年的种粮补贴提高了").rumour_check is False
    assert check("医院的传染病科在几楼").rumour_check is False
