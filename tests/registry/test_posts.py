"""Post activity from the platforms: the connectors' post lists move `last_post_at`, new Douyin videos
become comment-poll targets, a website's signed `post` event counts, and a post rectifies a zombie."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import orjson
import respx
from sqlmodel import select

from app.accounts.models import Account
from app.channels.models import PollTarget
from app.db import session_scope
from app.registry.zombie import check_accounts
from app.supervision.posts import run as poll_posts

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
DOUYIN = "https://open.douyin.com"


def video(item_id: str, created: datetime, title: str) -> dict:
    return {
        "item_id": item_id,
        "title": title,
        "cover": "https://p3.douyinpic.com/c.jpeg",
        "is_top": False,
        "create_time": int(created.timestamp()),
        "is_reviewed": True,
        "video_status": 1,
        "share_url": "https://www.iesdouyin.com/share/video/1/",
        "statistics": {
            "comment_count": 1,
            "digg_count": 2,
            "download_count": 0,
            "play_count": 0,
            "share_count": 0,
            "forward_count": 0,
        },
    }


def test_douyin_post_list_updates_the_account_and_adds_poll_targets(
    client, make_unit, make_account, frozen_clock
):
    frozen_clock.set(NOW - timedelta(days=30))
    make_unit("a", "甲局")
    account = make_account(
        "a",
        platform="douyin",
        external_id="aaa-7ae0-4399-914a-5eb1df5861ba",
        secrets={
            "client_key": "tt10abc",
            "client_secret": "c",
            "access_token": "act.first",
            "refresh_token": "rft",
        },
    )
    frozen_clock.set(NOW)
    with session_scope() as session:
        assert check_accounts(session=session, now=NOW, tz=TZ).zombies == 1  # 30 days without a known post
    body = {
        "data": {
            "error_code": 0,
            "description": "",
            "cursor": 0,
            "has_more": False,
            "list": [
                video("@v1", NOW - timedelta(days=2), "五一假期值班安排"),
                video("@v0", NOW - timedelta(days=9), "办事指南"),
            ],
        },
        "extra": {
            "error_code": 0,
            "description": "",
            "sub_error_code": 0,
            "sub_description": "",
            "logid": "1",
            "now": 0,
        },
    }
    with respx.mock() as router:
        router.get(f"{DOUYIN}/video/list/").mock(return_value=httpx.Response(200, json=body))
        with session_scope() as session:
            assert poll_posts(session=session, now=NOW) == 1
        # Polling again adds no target twice.
        with session_scope() as session:
            poll_posts(session=session, now=NOW)
    with session_scope() as session:
        stored = session.get(Account, account["id"])
        assert stored is not None and stored.last_post_at == NOW - timedelta(days=2)
        targets = sorted(
            t.target for t in session.exec(select(PollTarget).where(PollTarget.account_id == account["id"]))
        )
        assert targets == ["@v0", "@v1"]
        summary = check_accounts(session=session, now=NOW, tz=TZ)
    assert (summary.zombies, summary.rectified) == (0, 1)


def test_a_failing_platform_leaves_the_account_for_the_next_run(
    client, make_unit, make_account, frozen_clock
):
    frozen_clock.set(NOW)
    make_unit("a", "甲局")
    make_account(
        "a",
        platform="weibo",
        external_id="5861234567",
        secrets={"app_key": "k", "app_secret": "s", "access_token": "2.00T"},
    )
    with respx.mock() as router:
        router.get("https://api.weibo.com/2/statuses/user_timeline.json").mock(
            return_value=httpx.Response(
                200,
                json={
                    "error": "system error",
                    "error_code": 10001,
                    "request": "/2/statuses/user_timeline.json",
                },
            )
        )
        with session_scope() as session:
            assert poll_posts(session=session, now=NOW) == 0


def test_a_website_reports_its_post_with_a_signed_event(client, make_unit, make_account, frozen_clock):
    frozen_clock.set(NOW)
    make_unit("a", "甲局")
    account = make_account("a", platform="generic", secrets={"hmac_secret": "web-secret"})
    body = orjson.dumps({"external_id": "news-9", "posted_at": "2024-05-06T09:30:00+08:00", "title": "通知"})
    stamp = str(int(NOW.timestamp()))
    good = "sha256=" + hmac.new(b"web-secret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    url = f"/api/v1/webhooks/generic/{account['id']}/posts"
    headers = {"X-Huiying-Timestamp": stamp, "Content-Type": "application/json"}
    bad = client.post(url, content=body, headers={**headers, "X-Huiying-Signature": "sha256=" + "0" * 64})
    assert bad.status_code == 401
    resp = client.post(url, content=body, headers={**headers, "X-Huiying-Signature": good})
    assert resp.status_code == 200, resp.text
    assert resp.json()["last_post_at"].startswith("2024-05-06T01:30:00")
    malformed = orjson.dumps({"posted_at": "2024-05-06T09:30:00+08:00"})
    sig = "sha256=" + hmac.new(b"web-secret", stamp.encode() + b"." + malformed, hashlib.sha256).hexdigest()
    assert (
        client.post(url, content=malformed, headers={**headers, "X-Huiying-Signature": sig}).status_code
        == 400
    )
