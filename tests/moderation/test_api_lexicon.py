"""Editing the lexicons through the API: edits take effect at once, shipped terms can be removed,
other processes follow the version, only admins edit."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import session_scope
from app.moderation import service
from app.moderation.models import LexiconState, ModerationTerm, TermKind
from tests.moderation.conftest import Desk

LEXICON = "/api/v1/moderation/lexicon"


def test_added_term_takes_effect_and_is_listed(desk: Desk) -> None:
    text = "这群硕鼠只知道吃拿卡要"
    assert desk.check(text)["abusive"] is False
    resp = desk.client.post(
        LEXICON, json={"kind": "abuse", "term": "硕鼠", "category": "辱骂"}, headers=desk.admin
    )
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"kind": "abuse", "term": "硕鼠", "category": "辱骂", "source": "custom"}
    checked = desk.check(text)
    assert checked["abusive"] is True
    assert {"kind": "abuse", "term": "硕鼠", "category": "辱骂", "why": ""} in checked["hits"]

    listed = desk.client.get(LEXICON, params={"kind": "abuse"}, headers=desk.admin).json()
    assert {"kind": "abuse", "term": "硕鼠", "category": "辱骂", "source": "custom"} in listed
    assert any(t["source"] == "default" for t in listed)
    assert {t["kind"] for t in listed} == {"abuse"}
    duplicate = desk.client.post(LEXICON, json={"kind": "abuse", "term": "硕鼠"}, headers=desk.admin)
    assert duplicate.status_code == 409
    with session_scope() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "moderation.term.add")).one()
        assert event.entity_id == "abuse:硕鼠"


def test_shipped_term_can_be_removed_and_allow_phrases_added(desk: Desk) -> None:
    listed = desk.client.get(LEXICON, params={"kind": "abuse"}, headers=desk.admin).json()
    assert all(t["source"] == "default" for t in listed)
    assert desk.check("你们这帮狗官")["abusive"] is True
    resp = desk.client.delete(f"{LEXICON}/abuse/狗官", headers=desk.admin)
    assert resp.status_code == 204, resp.text
    assert desk.check("你们这帮狗官")["abusive"] is False
    assert desk.client.delete(f"{LEXICON}/abuse/狗官", headers=desk.admin).status_code == 404
    # Everything else shipped is still there (the database was seeded from the files).
    assert desk.check("你个傻逼")["abusive"] is True

    assert desk.check("这家店的垃圾食品")["abusive"] is False
    assert desk.check("排队的人都是sb吗")["abusive"] is True
    desk.client.post(LEXICON, json={"kind": "allow", "term": "sb吗"}, headers=desk.admin)
    assert desk.check("排队的人都是sb吗")["abusive"] is False


def test_another_process_edit_is_picked_up_by_the_version(desk: Desk) -> None:
    desk.client.post(LEXICON, json={"kind": "sensitive", "term": "围堵政府"}, headers=desk.admin)
    assert desk.check("村民准备去围堵政府")["sensitive"] is True
    # Another process writes a term and bumps the version; this process's cache must follow.
    with session_scope() as session:
        state = session.get(LexiconState, service.STATE_ID)
        assert state is not None
        session.add(
            ModerationTerm(
                kind=TermKind.sensitive,
                term="堵路讨薪",
                category="群体事件",
                created_by="admin",
                created_at=datetime(2026, 3, 2, tzinfo=UTC),
            )
        )
        state.version += 1
        state.stamp = secrets.token_hex(16)
        session.add(state)
    assert desk.check("明天工人要堵路讨薪")["sensitive"] is True


def test_only_admins_edit_and_bad_terms_are_refused(desk: Desk) -> None:
    leader = desk.people("leader", "police")
    assert (
        desk.client.post(LEXICON, json={"kind": "abuse", "term": "硕鼠"}, headers=leader).status_code == 403
    )
    assert desk.client.delete(f"{LEXICON}/abuse/狗官", headers=leader).status_code == 403
    assert desk.client.get(LEXICON, headers=leader).status_code == 403
    assert desk.client.get(LEXICON, headers=desk.people("supervisor")).status_code == 200
    for payload in (
        {"kind": "rude", "term": "硕鼠"},
        {"kind": "abuse", "term": ""},
        {"kind": "abuse", "term": "！？"},
    ):
        resp = desk.client.post(LEXICON, json=payload, headers=desk.admin)
        assert resp.status_code == 422, (payload, resp.text)
    assert desk.client.delete(f"{LEXICON}/rude/狗官", headers=desk.admin).status_code == 422
    assert desk.check("你们这帮狗官")["abusive"] is True  # nothing changed
