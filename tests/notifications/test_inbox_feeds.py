"""The inbox's notice feeds: the domains' feeds are registered once at start-up, and each feed's notices
are listed, counted and marked read through the same generic code (a re-raised item unread again)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app import wiring
from app.config import get_settings
from app.db import session_scope
from app.intake.pipeline import Pipeline
from app.notifications import inbox
from app.notifications.models import NoticeSource
from app.registry.models import AccountCheck
from app.registry.zombie import check_accounts
from app.reports.models import TopicAlert
from tests.helpers import ok_json, post_message

INBOX = "/api/v1/inbox"


def test_install_twice_registers_each_feed_once() -> None:
    wiring.install()
    wiring.install()
    inbox.register_feed(inbox.SLA_FEED)
    assert [feed.source for feed in inbox.feeds()] == [
        NoticeSource.sla,
        NoticeSource.topic,
        NoticeSource.zombie,
    ]


def test_each_feeds_notices_are_listed_counted_and_read(
    client, admin_headers, make_unit, make_account, make_user, frozen_clock
):
    wiring.install()
    wiring.install()
    make_unit("office", "县政府办公室")
    account = make_account("office")
    leader = make_user("leader", "office")
    post_message(
        client,
        admin_headers,
        {
            "account_id": int(account["id"]),
            "external_id": "feed1",
            "content": "派出所门口发生车祸，死了一个人，记者来了",
            "author": {"id": "c", "name": "网友"},
        },
    )
    Pipeline().drain()
    frozen_clock.set(frozen_clock.at + timedelta(days=20))
    with session_scope() as session:
        session.add(
            TopicAlert(
                dedupe_key="office:车祸:1",
                unit_code="office",
                label="车祸",
                terms=["车祸"],
                count=9,
                baseline=1.0,
                window_start=frozen_clock.at - timedelta(hours=24),
                window_end=frozen_clock.at,
                text="近24小时“车祸”相关留言 9 条。",
                next_attempt_at=frozen_clock.at,
                created_at=frozen_clock.at,
            )
        )
        check_accounts(session=session, now=frozen_clock.at, tz=get_settings().tz)
        session.commit()

    page = ok_json(client.get(INBOX, headers=leader))
    assert sorted(item["source"] for item in page["items"]) == ["sla", "topic", "zombie"]
    assert page["unread"] == 3
    assert ok_json(client.post(f"{INBOX}/read", json={"keys": []}, headers=leader))["unread"] == 0

    # The zombie flag raised again after it was read: unread again, and marking it read refreshes the mark.
    frozen_clock.set(frozen_clock.at + timedelta(days=1))
    with session_scope() as session:
        check = session.exec(select(AccountCheck)).one()
        assert check.flagged_since is not None
        check.flagged_since = frozen_clock.at
        session.add(check)
        session.commit()
    [item] = ok_json(client.get(INBOX, params={"unread": "true"}, headers=leader))["items"]
    assert item["source"] == "zombie" and item["read"] is False
    assert ok_json(client.post(f"{INBOX}/read", json={"keys": [item["key"]]}, headers=leader))["unread"] == 0
    assert ok_json(client.get(INBOX, params={"source": "zombie"}, headers=leader))["items"][0]["read"] is True
