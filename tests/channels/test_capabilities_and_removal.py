"""Capability status per account in GET /accounts/{id}/health (checked at configuration and daily), the
token-expiry alert 7 days ahead through the notification channels, and removing a citizen's message
from its platform (roles, audit, evidence kept)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import respx
from sqlmodel import select

from app.audit.models import AuditEvent
from app.channels import capabilities
from app.db import session_scope
from tests.channels.conftest import Desk
from tests.connectors.documented import assert_documented, response

DOUYIN = "https://open.douyin.com"
WECHAT = "https://api.weixin.qq.com/cgi-bin"
TOKEN_INFO = "https://api.weibo.com/oauth2/get_token_info"
WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def health(desk: Desk, key: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return desk.client.get(f"/api/v1/accounts/{desk.accounts[key]}/health", headers=headers or desk.admin)


def check(desk: Desk, key: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return desk.client.post(
        f"/api/v1/accounts/{desk.accounts[key]}/health/check", headers=headers or desk.admin
    )


def audits(action: str) -> list[AuditEvent]:
    with session_scope() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


# --- capability status ---------------------------------------------------------------------------------------


def test_douyin_without_comment_and_im_scopes_is_shown_import_only(
    desk: Desk, make_user: Callable[..., dict[str, str]]
) -> None:
    assert health(desk, "douyin").json()["capability"] is None  # not checked yet
    with respx.mock() as router:
        refresh = router.post(f"{DOUYIN}/oauth/refresh_token/").mock(
            return_value=response("douyin_refresh_token", refresh_expires_in="2592000", scope="user_info")
        )
        answer = check(desk, "douyin")
    assert answer.status_code == 200, answer.text
    assert_documented(refresh.calls[0].request, "douyin_refresh_token")
    capability = answer.json()["capability"]
    assert capability["mode"] == "import_only" and capability["mode_label"] == "仅导入"
    assert "video.comment" in capability["reason"] and "im.direct_message" in capability["reason"]
    assert capability["windows"] == {"private": 24}
    assert capability["refresh_expires_at"].startswith((desk.now + timedelta(days=30)).date().isoformat())
    shown = health(desk, "douyin").json()
    assert shown["capability"]["mode"] == "import_only"
    assert shown["state"] == "import_only"  # not shown as connected
    only = desk.client.get(
        "/api/v1/channels/health", params={"state": "import_only"}, headers=desk.admin
    ).json()
    assert [h["account_id"] for h in only] == [desk.accounts["douyin"]]
    listed = desk.client.get("/api/v1/channels/health", headers=desk.admin).json()
    assert {h["account_id"]: (h["capability"] or {}).get("mode") for h in listed}[
        desk.accounts["douyin"]
    ] == ("import_only")
    assert len(audits("channel.capability_changed")) == 1


def test_capability_check_is_for_admins_and_the_units_leaders(
    desk: Desk, make_user: Callable[..., dict[str, str]]
) -> None:
    assert check(desk, "generic", make_user("operator", "a")).status_code == 403
    assert check(desk, "generic", make_user("leader", "b")).status_code == 404
    answer = check(desk, "generic", make_user("leader", "a"))
    assert answer.status_code == 200 and answer.json()["capability"]["mode"] == "full"


def test_a_platform_that_cannot_be_asked_keeps_the_last_answer_with_the_error(desk: Desk) -> None:
    with respx.mock() as router:
        router.post(TOKEN_INFO).mock(return_value=response("weibo_get_token_info"))
        assert check(desk, "weibo").json()["capability"]["mode"] == "limited"  # no reply_ip configured
        router.post(TOKEN_INFO).mock(side_effect=httpx.ConnectError("down"))
        capability = check(desk, "weibo").json()["capability"]
    assert capability["mode"] == "limited" and "连接微博失败" in capability["last_error"]
    assert capability["next_check_at"].startswith((desk.now + timedelta(hours=1)).isoformat()[:16])


def _wecom_channel(desk: Desk) -> None:
    body = {"unit_code": "a", "kind": "wecom", "name": "办公群", "url": WECOM_URL}
    assert desk.client.post("/api/v1/notification-channels", json=body, headers=desk.admin).status_code == 201


def test_weibo_token_expiry_is_announced_once_7_days_ahead(desk: Desk) -> None:
    _wecom_channel(desk)
    with respx.mock(assert_all_called=False) as router:
        router.post(DOUYIN + "/oauth/refresh_token/").mock(
            return_value=response("douyin_refresh_token", refresh_expires_in="2592000", scope="user_info")
        )
        router.post(f"{WECHAT}/stable_token").mock(
            return_value=httpx.Response(200, json={"access_token": "wx-token", "expires_in": 7200})
        )
        wecom = router.post(WECOM_URL).mock(
            return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        )
        info = router.post(TOKEN_INFO).mock(return_value=response("weibo_get_token_info"))  # 5 days left
        assert capabilities.run_due(now=desk.now) == len(desk.accounts)
        assert wecom.call_count == 1
        text = wecom.calls[0].request.content.decode()
        assert "授权即将到期" in text
        # The next day: the same expiry (4 days left now) is not announced again.
        tomorrow = desk.now + timedelta(days=1)
        info.mock(
            return_value=httpx.Response(
                # 4 days left, read a few seconds off: the same expiry
                200,
                json={**response("weibo_get_token_info").json(), "expire_in": 4 * 86400 - 3},
            )
        )
        assert capabilities.run_due(now=tomorrow) == len(desk.accounts)
        assert capabilities.run_due(now=tomorrow) == 0  # nothing due twice a day
        assert wecom.call_count == 1
        # Re-authorised meanwhile with a token ending at another time: that expiry is announced too.
        info.mock(
            return_value=httpx.Response(
                200, json={**response("weibo_get_token_info").json(), "expire_in": 6 * 86400}
            )
        )
        assert capabilities.run_due(now=tomorrow + timedelta(days=1)) == len(desk.accounts)
    assert wecom.call_count == 2
    assert len(audits("channel.token_expiry_alerted")) == 2


def test_a_token_with_more_than_7_days_left_is_not_announced(desk: Desk) -> None:
    _wecom_channel(desk)
    with respx.mock(assert_all_called=False) as router:
        wecom = router.post(WECOM_URL).mock(
            return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        )
        router.post(TOKEN_INFO).mock(
            return_value=httpx.Response(
                200, json={**response("weibo_get_token_info").json(), "expire_in": 8 * 86400}
            )
        )
        check(desk, "weibo")
    assert wecom.call_count == 0


def test_changed_secrets_make_the_account_due_at_once(desk: Desk) -> None:
    with respx.mock() as router:
        router.post(TOKEN_INFO).mock(return_value=response("weibo_get_token_info"))
        check(desk, "weibo")
    with session_scope() as session:
        due = [a.id for a in capabilities.due_accounts(session=session, now=desk.now)]
    assert desk.accounts["weibo"] not in due
    patched = desk.client.patch(
        f"/api/v1/accounts/{desk.accounts['weibo']}",
        json={"secrets": {"reply_ip": "211.156.0.1"}},
        headers=desk.admin,
    )
    assert patched.status_code == 200, patched.text
    with session_scope() as session:
        due = [a.id for a in capabilities.due_accounts(session=session, now=desk.now)]
    assert desk.accounts["weibo"] in due


# --- removal from the platform ------------------------------------------------------------------------------


def _message(desk: Desk, key: str, kind: str, thread_ref: dict[str, Any], external_id: str = "c-1") -> int:
    created = desk.client.post(
        "/api/v1/messages",
        json={
            "account_id": desk.accounts[key],
            "external_id": external_id,
            "kind": kind,
            "content": "一段辱骂与违法内容",
            "thread_ref": thread_ref,
        },
        headers=desk.admin,
    )
    assert created.status_code == 201, created.text
    message_id: int = created.json()["id"]
    return message_id


WECHAT_COMMENT = {"msg_data_id": "2247483714", "index": "0", "user_comment_id": "12"}


def remove(
    desk: Desk, message_id: int, headers: dict[str, str], reason: object = "含违法信息"
) -> httpx.Response:
    return desk.client.post(
        f"/api/v1/messages/{message_id}/remove-from-platform", json={"reason": reason}, headers=headers
    )


def test_removal_roles_audit_idempotence_and_evidence(
    desk: Desk, make_user: Callable[..., dict[str, str]]
) -> None:
    message_id = _message(desk, "wechat", "comment", WECHAT_COMMENT)
    with respx.mock() as router:
        router.post(f"{WECHAT}/stable_token").mock(
            return_value=httpx.Response(200, json={"access_token": "wx-token", "expires_in": 7200})
        )
        delete = router.post(f"{WECHAT}/comment/delete").mock(return_value=response("wechat_comment_delete"))
        for role in ("operator", "reviewer", "auditor"):
            assert remove(desk, message_id, make_user(role, "a")).status_code == 403, role
        assert remove(desk, message_id, make_user("leader", "b")).status_code == 404
        for bad in ("", "x", "长" * 501, {"nested": "x"}):
            answer = remove(desk, message_id, desk.admin, reason=bad)
            assert 400 <= answer.status_code < 500 and "error" in answer.json(), bad
        assert delete.call_count == 0
        supervisor = make_user("supervisor")
        first = remove(desk, message_id, supervisor)
        again = remove(desk, message_id, desk.admin)
    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert delete.call_count == 1
    sent = assert_documented(delete.calls[0].request, "wechat_comment_delete")
    assert sent["user_comment_id"] == 12
    assert first.json()["outcome"] == "removed" and first.json()["reason"] == "含违法信息"
    [event] = audits("message.removed_from_platform")
    assert event.entity_id == str(message_id) and event.note == "含违法信息"
    kept = desk.client.get(f"/api/v1/messages/{message_id}", headers=desk.admin).json()
    assert kept["id"] == message_id  # the message stays as evidence


def test_a_platform_refusal_is_recorded_and_answered_409(desk: Desk) -> None:
    message_id = _message(desk, "wechat", "comment", WECHAT_COMMENT)
    with respx.mock() as router:
        router.post(f"{WECHAT}/stable_token").mock(
            return_value=httpx.Response(200, json={"access_token": "wx-token", "expires_in": 7200})
        )
        router.post(f"{WECHAT}/comment/delete").mock(
            return_value=httpx.Response(200, json={"errcode": 88008, "errmsg": "comment not exists"})
        )
        answer = remove(desk, message_id, desk.admin)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "platform_refused"
    assert "留言不存在" in answer.json()["error"]["message"]
    history = desk.client.get(f"/api/v1/messages/{message_id}/platform-removals", headers=desk.admin).json()
    assert [h["outcome"] for h in history] == ["failed"]
    assert len(audits("message.remove_from_platform_failed")) == 1


def test_platforms_without_a_deletion_api_are_refused_without_a_call(desk: Desk) -> None:
    douyin_comment = _message(desk, "douyin", "comment", {"item_id": "@i", "comment_id": "@c"})
    private = _message(desk, "wechat", "private", {"openid": "o1"}, external_id="p-1")
    with respx.mock():  # nothing mocked: any call would fail the test
        for message_id in (douyin_comment, private):
            answer = remove(desk, message_id, desk.admin)
            assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_removable"
    assert (
        desk.client.post(
            "/api/v1/messages/999999/remove-from-platform", json={"reason": "含违法信息"}, headers=desk.admin
        ).status_code
        == 404
    )


def test_weibo_mentions_are_poll_targets(desk: Desk) -> None:
    url = f"/api/v1/accounts/{desk.accounts['weibo']}/poll-targets"
    for target in ("mentions", "status_mentions"):
        assert desk.client.post(url, json={"target": target}, headers=desk.admin).status_code == 201, target
    refused = desk.client.post(url, json={"target": "followers"}, headers=desk.admin)
    assert 400 <= refused.status_code < 500 and "mentions" in refused.json()["error"]["message"]


# --- WeChat comment administration -------------------------------------------------------------------------


def _stable_token(router: respx.MockRouter) -> None:
    router.post(f"{WECHAT}/stable_token").mock(
        return_value=httpx.Response(200, json={"access_token": "wx-token", "expires_in": 7200})
    )


def test_elect_unelect_and_delete_reply_with_roles_and_audit(
    desk: Desk, make_user: Callable[..., dict[str, str]]
) -> None:
    message_id = _message(desk, "wechat", "comment", WECHAT_COMMENT)
    url = f"/api/v1/messages/{message_id}/platform-actions"
    with respx.mock() as router:
        _stable_token(router)
        routes = {
            "elect": router.post(f"{WECHAT}/comment/markelect").mock(
                return_value=response("wechat_comment_markelect")
            ),
            "unelect": router.post(f"{WECHAT}/comment/unmarkelect").mock(
                return_value=response("wechat_comment_unmarkelect")
            ),
            "delete_reply": router.post(f"{WECHAT}/comment/reply/delete").mock(
                return_value=response("wechat_comment_reply_delete")
            ),
        }
        assert (
            desk.client.post(url, json={"action": "elect"}, headers=make_user("operator", "a")).status_code
            == 403
        )
        for bad in ("delete", "drop", 1):
            answer = desk.client.post(url, json={"action": bad}, headers=desk.admin)
            assert 400 <= answer.status_code < 500 and "error" in answer.json(), bad
        for action in routes:
            assert desk.client.post(url, json={"action": action}, headers=desk.admin).status_code == 204, (
                action
            )
    for action, route in routes.items():
        assert route.call_count == 1, action
    assert [len(audits(f"message.platform_{a}")) for a in routes] == [1, 1, 1]


def test_comment_actions_on_other_platforms_are_409(desk: Desk) -> None:
    weibo_comment = _message(desk, "weibo", "comment", {"cid": "1", "status_id": "2"})
    answer = desk.client.post(
        f"/api/v1/messages/{weibo_comment}/platform-actions", json={"action": "elect"}, headers=desk.admin
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_supported"


def test_open_and_close_an_articles_comments(desk: Desk, make_user: Callable[..., dict[str, str]]) -> None:
    url = f"/api/v1/accounts/{desk.accounts['wechat']}/comment-switch"
    with respx.mock() as router:
        _stable_token(router)
        opened = router.post(f"{WECHAT}/comment/open").mock(return_value=response("wechat_comment_open"))
        closed = router.post(f"{WECHAT}/comment/close").mock(
            return_value=httpx.Response(200, json={"errcode": 88000, "errmsg": "without comment privilege"})
        )
        body = {"target": "2247483714:1", "open": True}
        assert desk.client.post(url, json=body, headers=make_user("leader", "b")).status_code == 404
        assert (
            desk.client.post(url, json={**body, "target": "not a target"}, headers=desk.admin).status_code
            == 422
        )
        assert desk.client.post(url, json=body, headers=make_user("leader", "a")).status_code == 204
        refused = desk.client.post(url, json={**body, "open": False}, headers=desk.admin)
    assert refused.status_code == 409 and "留言" in refused.json()["error"]["message"]
    assert assert_documented(opened.calls[0].request, "wechat_comment_open")["index"] == 1
    assert closed.call_count == 1
    assert len(audits("account.comments_opened")) == 1 and len(audits("account.comments_closed_failed")) == 1
    weibo = f"/api/v1/accounts/{desk.accounts['weibo']}/comment-switch"
    assert desk.client.post(weibo, json={"target": "", "open": True}, headers=desk.admin).status_code == 409


# --- Douyin comment webhook through the app ----------------------------------------------------------------


def test_douyin_comment_webhook_is_stored_once_as_a_comment(desk: Desk) -> None:
    from tests.channels.conftest import douyin_signed
    from tests.connectors.documented import load

    event = json.loads(json.dumps(load("douyin_item_comment_reply_event")["event"]))
    event["content"]["create_time"] = int(desk.now.timestamp())
    url = f"/api/v1/webhooks/douyin/{desk.accounts['douyin']}"
    for msg_id in ("m-1", "m-2"):  # a retry carries another Msg-Id but the same comment id
        headers, body = douyin_signed(event, msg_id=msg_id)
        assert desk.client.post(url, headers=headers, content=body).status_code == 200
    [stored] = desk.messages()
    assert (stored.kind, stored.external_id, stored.author_name) == (
        "comment",
        "@9VwKzuuES8gmaXS7ZohG0042",
        "青禾居民",
    )
    assert stored.thread_ref["item_id"] == "@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQ=="
