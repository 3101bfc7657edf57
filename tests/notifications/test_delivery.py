"""The notification sender follows the rules it is handed: the attempt limit stored in the SLA settings
ends a failing notice after that many tries (the default would keep retrying), and whether a message is
settled (a routine notice about it is then cancelled) is the rules' word, not the sender's."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import respx
from sqlmodel import Session

from app import clock
from app.db import session_scope
from app.intake.pipeline import Pipeline
from app.notifications.delivery import DeliveryRules, send_pending
from app.notifications.models import SENSITIVE_STEP, NotificationState, SlaNotification
from app.notifications.records import NOTIFICATIONS, bulk_insert, notification_row
from app.sla.escalation import delivery_rules
from tests.helpers import ok_json, post_message

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def test_the_stored_attempt_limit_ends_a_failing_notice(
    client, admin_headers, make_unit, make_account, frozen_clock
):
    make_unit("office", "县政府办公室")
    make_unit("police", "县公安局", keywords=["派出所"], supervisor_code="office")
    account = make_account("police")
    channel = {"unit_code": "office", "kind": "wecom", "name": "办公室群", "url": WECOM_URL}
    ok_json(client.post("/api/v1/notification-channels", json=channel, headers=admin_headers), 201)
    settings = ok_json(client.get("/api/v1/sla/settings", headers=admin_headers))
    assert settings["max_attempts"] > 2
    ok_json(client.put("/api/v1/sla/settings", json={**settings, "max_attempts": 2}, headers=admin_headers))
    body = {
        "account_id": account["id"],
        "external_id": "d1",
        "content": "派出所门口发生车祸，死了一个人，记者来了",
        "author": {"id": "c", "name": "网友"},
    }
    post_message(client, admin_headers, body)
    Pipeline().drain()  # the sensitive alert to the office, sent at any hour

    now = clock.now()
    with respx.mock(assert_all_mocked=True) as mock:
        robot = mock.post(host="qyapi.weixin.qq.com").mock(return_value=httpx.Response(503))
        first = send_pending(rules=delivery_rules, now=now)
        second = send_pending(rules=delivery_rules, now=now + timedelta(hours=2))
    assert (first.retried, first.failed) == (1, 0)
    assert (second.retried, second.failed) == (0, 1)
    assert robot.call_count == 2
    with session_scope() as session:
        [record] = session.query(SlaNotification).all()
        assert (record.state, record.attempts) == (NotificationState.failed, 2)


def test_the_sender_asks_the_rules_whether_the_message_is_settled(
    client, admin_headers, make_unit, make_account, frozen_clock
):
    make_unit("police", "县公安局", keywords=["户口"])
    account = make_account("police")
    body = {"account_id": account["id"], "external_id": "d2", "content": "请问户口迁移需要什么材料？"}
    message_id = post_message(client, admin_headers, {**body, "author": {"id": "c", "name": "网友"}})
    Pipeline().drain()
    now = clock.now()
    with session_scope() as session:
        bulk_insert(
            session,
            NOTIFICATIONS,
            [
                notification_row(
                    message_id=message_id,
                    step=step,
                    target="unit",
                    unit_code="police",
                    title=step,
                    text=step,
                    urgent=False,
                    working_hours_only=False,
                    send_at=now,
                    now=now,
                )
                for step in ("due_soon", SENSITIVE_STEP)
            ],
        )
        session.commit()
    asked: list[int] = []

    def settled(session: Session, message_id: int) -> bool:
        asked.append(message_id)
        return True  # the message itself is still open: only the rules say it is settled

    def rules(*, session: Session) -> DeliveryRules:
        return replace(delivery_rules(session=session), settled=settled)

    result = send_pending(rules=rules, now=now)
    # The routine notice is cancelled; the alert about what the message says still goes (no channel: skipped).
    assert (result.cancelled, result.skipped) == (1, 1)
    assert asked == [message_id]
    with session_scope() as session:
        states = {r.step: r.state for r in session.query(SlaNotification).all()}
    assert states == {"due_soon": NotificationState.cancelled, SENSITIVE_STEP: NotificationState.skipped}
