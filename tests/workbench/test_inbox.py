"""The in-app inbox: every recorded notice lands there with no robot configured, scoped by role and unit,
read/unread per user, and operators reach their own notices (no 403)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.config import get_settings
from app.db import session_scope
from app.intake.pipeline import Pipeline
from app.notifications.delivery import send_pending
from app.registry.zombie import check_accounts
from app.sla.escalation import delivery_rules
from app.sla.sweep import sweep
from tests.helpers import ok_json, post_message

INBOX = "/api/v1/inbox"


@pytest.fixture
def county(client, admin_headers, make_unit, make_account, make_user, frozen_clock):
    make_unit("office", "县政府办公室")
    make_unit("police", "县公安局", keywords=["派出所", "户口", "身份证"], supervisor_code="office")
    make_unit("water", "县水务局", keywords=["停水", "水费"], supervisor_code="office")
    account = make_account("police")
    people = {
        "op": make_user("operator", "police"),
        "op2": make_user("operator", "police", name="op2"),
        "leader": make_user("leader", "police"),
        "office_leader": make_user("leader", "office"),
        "water_op": make_user("operator", "water"),
        "water_leader": make_user("leader", "water"),
    }
    return {"account_id": int(account["id"]), "people": people, "clock": frozen_clock}


def _ingest(client, admin_headers, account_id, content, n):
    return post_message(
        client,
        admin_headers,
        {
            "account_id": account_id,
            "external_id": f"ib{n}",
            "content": content,
            "author": {"id": "c", "name": "网友"},
        },
    )


def _inbox(client, headers, **params):
    return ok_json(client.get(INBOX, params=params, headers=headers))


def test_sensitive_alert_reaches_the_office_leader_with_no_robot(client, admin_headers, county):
    people = county["people"]
    message_id = _ingest(
        client, admin_headers, county["account_id"], "派出所门口发生车祸，死了一个人，记者来了", 1
    )
    Pipeline().drain()
    send_pending(rules=delivery_rules)  # no channel anywhere: the record ends as skipped…
    page = _inbox(client, people["office_leader"])
    assert page["unread"] == 1
    [item] = page["items"]
    assert item["kind"] == "sensitive" and item["message_id"] == message_id and item["urgent"] is True
    assert item["delivery"] == "skipped" and item["read"] is False  # …and is still in the inbox
    # Other units' people and the police desk do not get the office's alert.
    assert _inbox(client, people["water_leader"])["items"] == []
    assert _inbox(client, people["op"])["items"] == []
    # Admin sees everything.
    assert len(_inbox(client, admin_headers)["items"]) == 1


def test_deadline_notices_reach_the_operator_desk_read_per_user(client, admin_headers, county):
    people, clock = county["people"], county["clock"]
    _ingest(client, admin_headers, county["account_id"], "请问户口迁移需要什么材料？", 2)
    Pipeline().drain()
    for days in (6, 8, 10):  # due soon, overdue, a working day after
        clock.set(clock.at + timedelta(days=days))
        sweep()
    op_page = _inbox(client, people["op"])
    kinds = {item["kind"] for item in op_page["items"]}
    assert "due_soon" in kinds
    # The desk gets the notices for the unit; leaders and the supervising office get theirs too.
    assert all(item["unit_code"] == "police" for item in op_page["items"])
    leader_kinds = {item["kind"] for item in _inbox(client, people["leader"])["items"]}
    assert kinds <= leader_kinds and "breach" in leader_kinds
    assert any(item["unit_code"] == "office" for item in _inbox(client, people["office_leader"])["items"])
    assert _inbox(client, people["water_op"])["items"] == []

    key = op_page["items"][0]["key"]
    after = ok_json(client.post(f"{INBOX}/read", json={"keys": [key, key]}, headers=people["op"]))
    assert after["unread"] == op_page["unread"] - 1
    again = ok_json(client.post(f"{INBOX}/read", json={"keys": [key]}, headers=people["op"]))
    assert again["unread"] == after["unread"]  # idempotent
    assert [i["read"] for i in _inbox(client, people["op"])["items"] if i["key"] == key] == [True]
    # Read state is per user: the colleague still has it unread.
    assert _inbox(client, people["op2"])["unread"] == op_page["unread"]
    unread = _inbox(client, people["op"], unread="true")["items"]
    assert key not in {i["key"] for i in unread}
    assert ok_json(client.post(f"{INBOX}/read", json={"keys": []}, headers=people["op"]))["unread"] == 0


def test_marking_someone_elses_notice_is_not_found(client, admin_headers, county):
    people = county["people"]
    _ingest(client, admin_headers, county["account_id"], "派出所门口发生车祸，死了一个人，记者来了", 3)
    Pipeline().drain()
    [item] = _inbox(client, people["office_leader"])["items"]
    resp = client.post(f"{INBOX}/read", json={"keys": [item["key"]]}, headers=people["water_leader"])
    assert resp.status_code == 404
    for bad in ("nonsense", "sla:x", "other:1", "sla:"):
        resp = client.post(f"{INBOX}/read", json={"keys": [bad]}, headers=people["op"])
        assert resp.status_code == 422, bad
    assert (
        client.post(f"{INBOX}/read", json={"keys": ["sla:1"] * 501}, headers=people["op"]).status_code == 422
    )
    assert client.get(INBOX, params={"limit": 0}, headers=people["op"]).status_code == 422
    assert client.get(INBOX).status_code == 401


def test_zombie_flag_lands_in_the_inbox_and_is_unread_again_when_raised_again(client, admin_headers, county):
    people, clock = county["people"], county["clock"]
    clock.set(clock.at + timedelta(days=20))
    with session_scope() as session:
        check_accounts(session=session, now=clock.at, tz=get_settings().tz)
        session.commit()
    items = _inbox(client, people["op"], source="zombie")["items"]
    assert (
        len(items) == 1 and items[0]["kind"] == "zombie" and "未更新" in items[0]["title"] + items[0]["text"]
    )
    assert _inbox(client, people["water_op"], source="zombie")["items"] == []
    ok_json(client.post(f"{INBOX}/read", json={"keys": [items[0]["key"]]}, headers=people["op"]))
    assert _inbox(client, people["op"], source="zombie")["items"][0]["read"] is True


def test_hot_topic_alert_reaches_the_supervising_leader_not_the_desk(client, admin_headers, county):
    from app.reports.models import TopicAlert

    people, clock = county["people"], county["clock"]
    with session_scope() as session:
        # Recorded as the hot-topic job records it (no robot: it stays pending/skipped, still in the inbox).
        session.add(
            TopicAlert(
                dedupe_key="office:停水:1",
                unit_code="office",
                label="停水",
                terms=["停水"],
                count=12,
                baseline=1.5,
                window_start=clock.at - timedelta(hours=24),
                window_end=clock.at,
                text="近24小时“停水”相关留言 12 条，明显高于平常。",
                next_attempt_at=clock.at,
                created_at=clock.at,
            )
        )
    [item] = _inbox(client, people["office_leader"], source="topic")["items"]
    assert item["kind"] == "hot_topic" and "停水" in item["title"]
    assert _inbox(client, people["op"], source="topic")["items"] == []
    assert _inbox(client, people["water_leader"], source="topic")["items"] == []
    resp = client.post(f"{INBOX}/read", json={"keys": [item["key"]]}, headers=people["op"])
    assert resp.status_code == 404  # the desk may not even mark it
