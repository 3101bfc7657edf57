"""The moderation step in the production pipeline: flags, a summary without personal data, offences
counted per author (repeat offenders listed), and the immediate alert for sensitive messages."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from app.db import session_scope
from app.intake.pipeline import Pipeline
from app.messages.models import Message
from app.notifications.models import SENSITIVE_STEP, SlaNotification
from tests.moderation.conftest import Desk

OFFENDERS = "/api/v1/moderation/offenders"


def _stored(message_id: int) -> Message:
    with session_scope() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def test_flags_and_summary_never_hold_personal_data(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    abusive = desk.ingest("派出所这帮狗官，户口办了一个月！电话13907351286")
    calm = desk.ingest("请问户口迁移需要什么材料？")
    caplog.set_level(logging.DEBUG)
    assert Pipeline().drain().done == 2
    stored = _stored(abusive)
    assert set(stored.flags) == {"abusive", "pii"}
    assert stored.moderation is not None
    assert stored.moderation["pii"] == ["mobile"]
    assert {
        "kind": "abuse",
        "term": "狗官",
        "category": stored.moderation["hits"][0]["category"],
    } in stored.moderation["hits"]
    assert "13907351286" not in str(stored.moderation) and "13907351286" not in caplog.text
    assert stored.status == "open"  # kept, not closed: evidence and still the unit's to handle
    assert _stored(calm).flags == [] and _stored(calm).moderation == {
        "hits": [],
        "pii": [],
        "lexicon_version": 0,
    }
    # Supervisors see the flagged message; the API masks the number for everyone.
    body = desk.client.get(f"/api/v1/messages/{abusive}", headers=desk.people("supervisor")).json()
    assert "abusive" in body["flags"] and "13907351286" not in body["content"]


def test_repeat_offenders_are_counted_per_author(desk: Desk, make_account) -> None:  # type: ignore[no-untyped-def]
    first = desk.ingest("你们都是狗官", author="angry")
    second = desk.ingest("一群废物点心，tmd", author="angry")
    desk.ingest("傻逼政府", author="once")
    desk.ingest("你们效率太低了，不作为！", author="critic")
    other = make_account("office")
    desk.ingest("狗官", author="angry", account_id=int(other["id"]))
    Pipeline().drain()
    Pipeline().drain()  # nothing left: nothing counted twice

    supervisor = desk.people("supervisor")
    resp = desk.client.get(OFFENDERS, headers=supervisor)
    assert resp.status_code == 200, resp.text
    rows = resp.json()
    assert len(rows) == 1
    assert rows[0]["author_id"] == "angry" and rows[0]["account_id"] == desk.account_id
    assert rows[0]["offences"] == 2 and rows[0]["message_ids"] == [second, first]
    assert rows[0]["author_name"] == "网友angry"
    everyone = desk.client.get(OFFENDERS, params={"min_offences": 1}, headers=supervisor).json()
    assert {(r["account_id"], r["author_id"]) for r in everyone} == {
        (desk.account_id, "angry"),
        (desk.account_id, "once"),
        (int(other["id"]), "angry"),
    }
    # A leader sees the offenders on the accounts of the units in scope only.
    leader = desk.people("leader", "police")
    mine = desk.client.get(OFFENDERS, params={"min_offences": 1}, headers=leader).json()
    assert {r["account_id"] for r in mine} == {desk.account_id}
    assert desk.client.get(OFFENDERS, headers=desk.people("operator", "police")).status_code == 403


def test_sensitive_message_raises_an_alert_to_the_supervising_office(desk: Desk) -> None:
    message_id = desk.ingest("派出所门口发生车祸，死了一个人，已经有记者来了")
    plain = desk.ingest("请问身份证怎么补办")
    Pipeline().drain()
    assert "sensitive" in _stored(message_id).flags
    with session_scope() as session:
        alerts = session.exec(select(SlaNotification).where(SlaNotification.step == SENSITIVE_STEP)).all()
    assert [(a.message_id, a.unit_code, a.urgent) for a in alerts] == [(message_id, "office", True)]
    assert plain not in {a.message_id for a in alerts}
