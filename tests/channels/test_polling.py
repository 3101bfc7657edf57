"""The poll job against mocked platform APIs: cursors committed with their items, crashes that neither
lose nor duplicate, echoes linked to replies, rate limits and errors backing off in the health record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx
from sqlmodel import select

from app.channels import polling
from app.channels.models import ChannelEcho, ChannelToken, PollTarget
from app.db import session_scope
from app.messages.models import Message
from app.replies.models import Reply

from .conftest import DOUYIN_OPEN_ID, WEIBO, WEIBO_UID, Desk

WEIBO_API = "https://api.weibo.com/2"
DOUYIN_API = "https://open.douyin.com"
WECHAT_API = "https://api.weixin.qq.com/cgi-bin"
BASE_ID = 4_987_654_321_012_345_678  # beyond 2**53: exact only as a string
STATUS = {"id": 4_900_000_000_000_000_001, "idstr": "4900000000000000001", "text": "青禾发布：春节办事指南"}


def weibo_time(at: datetime) -> str:
    return at.astimezone(timezone(timedelta(hours=8))).strftime("%a %b %d %H:%M:%S +0800 %Y")


def weibo_comment(
    n: int, *, at: datetime, author: str = "1404376560", text: str | None = None, reply_to: int | None = None
) -> dict[str, Any]:
    cid = BASE_ID + n
    data: dict[str, Any] = {
        "created_at": weibo_time(at - timedelta(minutes=30 - n)),
        "id": cid,
        "idstr": str(cid),
        "mid": str(cid),
        "text": text or f"第{n}条：小区门口的垃圾没人清",
        "user": {"id": int(author), "idstr": author, "screen_name": f"市民{author[-3:]}"},
        "status": STATUS,
    }
    if reply_to is not None:
        data["reply_comment"] = {"id": BASE_ID + reply_to, "idstr": str(BASE_ID + reply_to), "text": "原评论"}
    return data


class FakeWeibo:
    """comments/to_me as Weibo serves it: newest first, since_id exclusive, max_id inclusive."""

    def __init__(self, comments: list[dict[str, Any]]) -> None:
        self.comments = comments

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params["access_token"] == WEIBO["access_token"]
        since = int(params.get("since_id", "0"))
        max_id = int(params["max_id"]) if "max_id" in params else None
        found = [
            c
            for c in self.comments
            if int(c["idstr"]) > since and (max_id is None or int(c["idstr"]) <= max_id)
        ]
        found.sort(key=lambda c: int(c["idstr"]), reverse=True)
        page = found[: int(params["count"])]
        return httpx.Response(200, json={"comments": page, "total_number": len(found), "next_cursor": 0})


def add_target(desk: Desk, key: str, target: str = "") -> dict[str, Any]:
    response = desk.client.post(
        f"/api/v1/accounts/{desk.accounts[key]}/poll-targets", json={"target": target}, headers=desk.admin
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def target_row(target_id: int) -> PollTarget:
    with session_scope() as session:
        row = session.get(PollTarget, target_id)
        assert row is not None
        return row


def health(desk: Desk, key: str) -> dict[str, Any]:
    result: dict[str, Any] = desk.client.get(
        f"/api/v1/accounts/{desk.accounts[key]}/health", headers=desk.admin
    ).json()
    return result


def external_ids() -> list[str]:
    with session_scope() as session:
        return sorted(session.exec(select(Message.external_id)).all())


# --- Weibo: cursor, echoes, crash, rate limit ---------------------------------------------------------------


def test_weibo_poll_stores_comments_and_commits_the_cursor_with_them(desk: Desk) -> None:
    target = add_target(desk, "weibo")
    fake = FakeWeibo([weibo_comment(n, at=desk.now) for n in (1, 2, 3)])
    with respx.mock() as router:
        route = router.get(f"{WEIBO_API}/comments/to_me.json").mock(side_effect=fake)
        run = polling.run_due(now=desk.now)
        assert (run.accounts, run.created) == (1, 3)
        assert external_ids() == [str(BASE_ID + n) for n in (1, 2, 3)]
        assert target_row(target["id"]).cursor == str(BASE_ID + 3)
        message = min(desk.messages(), key=lambda m: m.external_id)
        assert message.kind == "comment" and message.author_name == "市民560"
        assert message.thread_ref == {"cid": str(BASE_ID + 1), "status_id": "4900000000000000001"}
        assert message.received_at == (desk.now - timedelta(minutes=29)).replace(microsecond=0)
        # Not due again until the interval has passed.
        assert polling.run_due(now=desk.now + timedelta(seconds=30)).accounts == 0
        fake.comments.append(weibo_comment(4, at=desk.now))
        later = desk.now + timedelta(minutes=2)
        assert polling.run_due(now=later).created == 1
    assert route.calls[-2].request.url.params["since_id"] == str(BASE_ID + 3)
    assert external_ids() == [str(BASE_ID + n) for n in (1, 2, 3, 4)]
    desk.stored_once()
    state = health(desk, "weibo")
    assert state["state"] == "ok" and state["consecutive_failures"] == 0
    assert state["last_success_at"].startswith("2026-03-02T01:02")
    assert state["targets"][0]["items_taken"] == 4


def test_a_crash_before_the_commit_neither_loses_nor_duplicates(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = add_target(desk, "weibo")
    fake = FakeWeibo([weibo_comment(n, at=desk.now) for n in (1, 2, 3)])
    real_insert = polling.insert_batch

    def insert_then_die(**kwargs: Any) -> dict[str, int]:
        real_insert(**kwargs)  # the rows are written…
        raise RuntimeError("process killed before commit")  # …but never committed

    with respx.mock() as router:
        router.get(f"{WEIBO_API}/comments/to_me.json").mock(side_effect=fake)
        monkeypatch.setattr(polling, "insert_batch", insert_then_die)
        crashed = polling.run_due(now=desk.now)
        assert crashed.failures == 1
        assert desk.count() == 0
        assert target_row(target["id"]).cursor is None
        state = health(desk, "weibo")
        assert state["state"] == "failing" and state["last_error_code"] == "internal"
        monkeypatch.setattr(polling, "insert_batch", real_insert)
        restart = datetime.fromisoformat(state["next_poll_at"])
        assert polling.run_due(now=restart).created == 3
        assert polling.run_due(now=restart + timedelta(minutes=5)).created == 0
    assert external_ids() == [str(BASE_ID + n) for n in (1, 2, 3)]
    desk.stored_once()


def test_weibo_rate_limit_backs_off_to_the_next_hour_in_health(desk: Desk) -> None:
    add_target(desk, "weibo")
    at = desk.now + timedelta(minutes=15)  # 01:15 UTC: Weibo's hourly quota resets at 02:00
    body = {
        "error": "User requests out of rate limit!",
        "error_code": 10023,
        "request": "/2/comments/to_me.json",
    }
    with respx.mock() as router:
        route = router.get(f"{WEIBO_API}/comments/to_me.json").mock(
            return_value=httpx.Response(403, json=body)
        )
        assert polling.run_due(now=at).failures == 1
        assert polling.run_due(now=at + timedelta(minutes=10)).accounts == 0  # backing off
    assert route.call_count == 1
    state = health(desk, "weibo")
    assert state["state"] == "rate_limited"
    assert state["last_error_code"] == "10023" and state["consecutive_failures"] == 1
    assert datetime.fromisoformat(state["next_poll_at"]) >= desk.now.replace(hour=2, minute=0)
    listed = desk.client.get(
        "/api/v1/channels/health", params={"state": "rate_limited"}, headers=desk.admin
    ).json()
    assert [h["account_id"] for h in listed] == [desk.accounts["weibo"]]


def test_expired_weibo_token_needs_a_person(desk: Desk) -> None:
    add_target(desk, "weibo")
    with respx.mock() as router:
        router.get(f"{WEIBO_API}/comments/to_me.json").mock(
            return_value=httpx.Response(400, json={"error": "expired_token", "error_code": 21327})
        )
        polling.run_due(now=desk.now)
    state = health(desk, "weibo")
    assert state["state"] == "needs_credentials"
    assert "重新授权" in state["last_error"]
    assert datetime.fromisoformat(state["next_poll_at"]) >= desk.now + timedelta(hours=1)


def test_weibo_echo_is_linked_to_its_reply_and_not_ingested(desk: Desk) -> None:
    add_target(desk, "weibo")
    # The citizen's comment came in earlier and was answered through the outbox.
    created = desk.client.post(
        "/api/v1/messages",
        json={
            "account_id": desk.accounts["weibo"],
            "external_id": str(BASE_ID + 1),
            "kind": "comment",
            "content": "垃圾没人清",
            "thread_ref": {"cid": str(BASE_ID + 1), "status_id": STATUS["idstr"]},
        },
        headers=desk.admin,
    ).json()
    by_text = _reply(created["id"], "您好，已转交环卫所处理，今天下班前清运。", platform_reply_id=None)
    by_id = _reply(created["id"], "补充：清运已完成。", platform_reply_id=str(BASE_ID + 3))
    echoes = [
        weibo_comment(
            2,
            at=desk.now,
            author=WEIBO_UID,
            text="回复@市民560:您好，已转交环卫所处理，今天下班前清运。",
            reply_to=1,
        ),
        weibo_comment(3, at=desk.now, author=WEIBO_UID, text="回复@市民560:补充：清运已完成。", reply_to=1),
    ]
    with respx.mock() as router:
        router.get(f"{WEIBO_API}/comments/to_me.json").mock(side_effect=FakeWeibo(echoes))
        run = polling.run_due(now=desk.now)
    assert (run.created, run.echoes) == (0, 2)
    assert desk.count() == 1  # only the citizen's message
    with session_scope() as session:
        rows = {e.external_id: e for e in session.exec(select(ChannelEcho))}
    assert (rows[str(BASE_ID + 2)].reply_id, rows[str(BASE_ID + 2)].matched_by) == (by_text, "text")
    assert (rows[str(BASE_ID + 3)].reply_id, rows[str(BASE_ID + 3)].matched_by) == (
        by_id,
        "platform_reply_id",
    )


def _reply(message_id: int, text: str, *, platform_reply_id: str | None) -> int:
    with session_scope() as session:
        reply = Reply(
            message_id=message_id,
            text=text,
            state="published",
            idempotency_key=f"k-{text[:6]}",
            platform_reply_id=platform_reply_id,
            created_at=datetime(2026, 3, 2, tzinfo=UTC),
            updated_at=datetime(2026, 3, 2, tzinfo=UTC),
        )
        session.add(reply)
        session.flush()
        assert reply.id is not None
        return reply.id


# --- Douyin: a crash between pages ------------------------------------------------------------------------


ITEM = "@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQ=="


def douyin_comment(
    n: int, at: datetime, author: str = "ac6479a5-d7a6-4018-84be-c29bfc00000"
) -> dict[str, Any]:
    return {
        "top": False,
        "comment_id": f"@9VwKzuuES8gmaXS7ZohG{n:04d}",
        "comment_user_id": author,
        "content": f"第{n}条评论：公交站什么时候修好",
        "create_time": int(at.timestamp()) - 600 + n,
        "digg_count": 3,
        "reply_comment_total": 0,
    }


def douyin_page(cursor: int, has_more: bool, comments: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "data": {
                "cursor": cursor,
                "has_more": has_more,
                "list": comments,
                "error_code": 0,
                "description": "",
            },
            "extra": {"error_code": 0, "description": "", "logid": "20260302090000"},
        },
    )


def test_a_crash_between_pages_resumes_after_the_last_committed_page(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = add_target(desk, "douyin", ITEM)
    pages = {
        "0": douyin_page(2, True, [douyin_comment(1, desk.now), douyin_comment(2, desk.now)]),
        "2": douyin_page(
            4, False, [douyin_comment(3, desk.now), douyin_comment(4, desk.now, author=DOUYIN_OPEN_ID)]
        ),
    }
    real_insert = polling.insert_batch
    calls = {"n": 0}

    def die_on_second_page(**kwargs: Any) -> dict[str, int]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed while storing page 2")
        return real_insert(**kwargs)

    with respx.mock() as router:
        route = router.get(f"{DOUYIN_API}/video/comment/list/").mock(
            side_effect=lambda request: pages[request.url.params["cursor"]]
        )
        monkeypatch.setattr(polling, "insert_batch", die_on_second_page)
        polling.run_due(now=desk.now)
        assert target_row(target["id"]).cursor == "2"
        assert len(external_ids()) == 2
        monkeypatch.setattr(polling, "insert_batch", real_insert)
        retry_at = datetime.fromisoformat(health(desk, "douyin")["next_poll_at"])
        run = polling.run_due(now=retry_at)
        assert route.calls[-1].request.url.params["cursor"] == "2"
        assert route.calls[-1].request.headers["access-token"] == "act.first"
        assert (run.created, run.echoes) == (1, 1)  # comment 4 is the account's own
        assert external_ids() == [f"@9VwKzuuES8gmaXS7ZohG{n:04d}" for n in (1, 2, 3)]
        # End of the list: the next pass starts over, because the list is in "推荐序", not by time.
        assert target_row(target["id"]).cursor is None
        # A new comment ranked first (not last) is found on the next pass; the others are not stored again.
        pages["0"] = douyin_page(
            2, True, [douyin_comment(5, desk.now), douyin_comment(1, desk.now), douyin_comment(2, desk.now)]
        )
        again = polling.run_due(now=datetime.fromisoformat(health(desk, "douyin")["next_poll_at"]))
    assert again.created == 1
    assert "@9VwKzuuES8gmaXS7ZohG0005" in external_ids()
    desk.stored_once()


# --- WeChat: article comments with the shared database token store ------------------------------------------


def wechat_comment(cid: int, content: str, at: datetime) -> dict[str, Any]:
    return {
        "user_comment_id": cid,
        "openid": f"oFan{cid}",
        "create_time": int(at.timestamp()) - 60,
        "content": content,
        "comment_type": 0,
    }


def test_wechat_article_comments_with_a_token_fetched_once_and_stored_encrypted(desk: Desk) -> None:
    add_target(desk, "wechat", "2247483714:0")
    listing = {
        "errcode": 0,
        "errmsg": "ok",
        "total": 2,
        "comment": [wechat_comment(1, "停车场什么时候开放？", desk.now), wechat_comment(2, "谢谢", desk.now)],
    }
    with respx.mock() as router:
        token = router.post(f"{WECHAT_API}/stable_token").mock(
            return_value=httpx.Response(200, json={"access_token": "ACCESS_TOKEN_1", "expires_in": 7200})
        )
        comments = router.post(f"{WECHAT_API}/comment/list").mock(
            return_value=httpx.Response(200, json=listing)
        )
        assert polling.run_due(now=desk.now).created == 2
        assert polling.run_due(now=desk.now + timedelta(minutes=3)).created == 0
    assert token.call_count == 1
    assert comments.calls[-1].request.url.params["access_token"] == "ACCESS_TOKEN_1"
    assert external_ids() == ["2247483714:0:1", "2247483714:0:2"]
    with session_scope() as session:
        [row] = session.exec(select(ChannelToken)).all()
    assert row.key == "wechat:wx5823bf96d3bd56c7"
    assert row.token_encrypted and "ACCESS_TOKEN_1" not in row.token_encrypted
