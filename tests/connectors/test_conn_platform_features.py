"""Issue 20's findings reproduced against the platforms' documented examples (tests/connectors/documented),
and the government-account features: comment management, deletion, @-mentions, capability checks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import orjson
import pytest
import respx

from connectors import douyin, wechat, weibo
from connectors.base import (
    AccountContext,
    InboundItem,
    InMemoryTokenStore,
    PlatformError,
    StoredToken,
    TokenExpired,
)
from tests.connectors.documented import assert_documented, load, response

DOUYIN = "https://open.douyin.com"
WEIBO = "https://api.weibo.com/2"
WECHAT = "https://api.weixin.qq.com/cgi-bin"
OPEN_ID = "aaa-7ae0-4399-914a-5eb1df5861ba"
DOUYIN_SECRETS = {
    "client_key": "tt10abc",
    "client_secret": "7802f4e6f243e659d51135445fe",
    "access_token": "act.first",
    "refresh_token": "rft.first",
}
WEIBO_SECRETS = {
    "app_key": "2949572520",
    "app_secret": "xyz",
    "access_token": "2.00TOKEN",
    "reply_ip": "211.156.0.1",
}
WECHAT_SECRETS = {"app_id": "wx6e2f0c7a3b1d4e5f", "app_secret": "s3cr3t"}


@pytest.fixture
def dy(make_ctx: Callable[..., AccountContext]) -> AccountContext:
    return make_ctx(DOUYIN_SECRETS, OPEN_ID)


@pytest.fixture
def wb(make_ctx: Callable[..., AccountContext]) -> AccountContext:
    return make_ctx(WEIBO_SECRETS, "7000000001")


@pytest.fixture
def wx(make_ctx: Callable[..., AccountContext], tokens: InMemoryTokenStore, now: datetime) -> AccountContext:
    tokens.set(f"wechat:{WECHAT_SECRETS['app_id']}", StoredToken("wx-token", now + timedelta(hours=2)))
    return make_ctx(WECHAT_SECRETS, "gh_7f083739789a")


def test_every_fixture_names_its_source_and_status() -> None:
    from tests.connectors.documented import FOLDER

    names = sorted(p.stem for p in FOLDER.glob("*.json"))
    assert len(names) >= 19
    for name in names:
        source = load(name)["source"]
        assert source["url"].startswith("https://") and source["status"] in ("verified", "assumed"), name


# --- finding 2: Weibo comment replies carry `rip` ---------------------------------------------------------


def test_weibo_reply_without_rip_departs_from_the_documented_form(wb: AccountContext) -> None:
    request = httpx.Request(
        "POST",
        f"{WEIBO}/comments/reply.json",
        data={"access_token": "t", "cid": "1", "id": "2", "comment": "x", "comment_ori": "0"},
    )
    with pytest.raises(AssertionError, match="rip"):
        assert_documented(request, "weibo_comments_reply")


def test_weibo_reply_without_a_configured_ip_sends_nothing(
    make_ctx: Callable[..., AccountContext], now: datetime
) -> None:
    ctx = make_ctx({k: v for k, v in WEIBO_SECRETS.items() if k != "reply_ip"}, "7000000001")
    with respx.mock(assert_all_called=False) as router:
        route = router.post(f"{WEIBO}/comments/reply.json")
        with pytest.raises(TokenExpired, match="reply_ip"):
            weibo.publish(
                ctx, thread_ref={"cid": "1", "status_id": "2"}, text="您好", idempotency_key="k", now=now
            )
    assert not route.called


def test_weibo_post_mentioning_the_account_is_answered_with_a_documented_comment(
    wb: AccountContext, now: datetime
) -> None:
    with respx.mock() as router:
        route = router.post(f"{WEIBO}/comments/create.json").mock(
            return_value=response("weibo_comments_create")
        )
        result = weibo.publish(
            wb,
            thread_ref={"status_id": "4900000000000000007"},
            text="已转交区住建局办理",
            idempotency_key="k",
            now=now,
        )
    assert result.outcome == "sent" and result.platform_reply_id == "4999000000000000100"
    form = assert_documented(route.calls[0].request, "weibo_comments_create")
    assert form["rip"] == "211.156.0.1" and form["id"] == "4900000000000000007"


# --- Weibo: deletion and @-mentions -------------------------------------------------------------------------


def test_weibo_comment_is_destroyed_with_the_documented_form(wb: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        route = router.post(f"{WEIBO}/comments/destroy.json").mock(
            return_value=response("weibo_comments_destroy")
        )
        weibo.remove(wb, thread_ref={"cid": "4999000000000000001", "status_id": "49"}, now=now)
    assert assert_documented(route.calls[0].request, "weibo_comments_destroy")["cid"] == "4999000000000000001"


def test_weibo_refused_destroy_raises_with_the_reason(wb: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post(f"{WEIBO}/comments/destroy.json").mock(
            return_value=httpx.Response(400, json={"error": "permission denied", "error_code": 20112})
        )
        with pytest.raises(PlatformError, match="20112"):
            weibo.remove(wb, thread_ref={"cid": "1"}, now=now)


@pytest.mark.parametrize(
    ("target", "path", "name", "external_id", "ref"),
    [
        (
            "mentions",
            "comments/mentions.json",
            "weibo_comments_mentions",
            "4999000000000000050",
            {"cid": "4999000000000000050", "status_id": "4900000000000000003"},
        ),
        (
            "status_mentions",
            "statuses/mentions.json",
            "weibo_statuses_mentions",
            "status:4900000000000000007",
            {"status_id": "4900000000000000007"},
        ),
    ],
)
def test_weibo_mentions_are_polled_as_mentions(
    wb: AccountContext,
    now: datetime,
    target: str,
    path: str,
    name: str,
    external_id: str,
    ref: dict[str, str],
) -> None:
    with respx.mock() as router:
        route = router.get(f"{WEIBO}/{path}").mock(return_value=response(name))
        page = weibo.poll(wb, target=target, cursor=None, now=now)
    assert_documented(route.calls[0].request, name)
    [item] = page.items
    assert (item.kind, item.external_id, item.thread_ref) == ("mention", external_id, ref)
    assert weibo.max_reply_chars(item.thread_ref) == 140  # answered publicly


def test_weibo_unknown_poll_target_is_refused(wb: AccountContext, now: datetime) -> None:
    with pytest.raises(PlatformError):
        weibo.poll(wb, target="followers", cursor=None, now=now)


def test_weibo_check_reports_token_expiry_and_scopes(wb: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        route = router.post("https://api.weibo.com/oauth2/get_token_info").mock(
            return_value=response("weibo_get_token_info")
        )
        report = weibo.check(wb, now=now)
    assert_documented(route.calls[0].request, "weibo_get_token_info")
    assert report.mode == "full"
    assert report.token_expires_at == now + timedelta(seconds=432000)
    assert report.scopes == ["follow_app_official_microblog"]
    assert report.windows == {"private": 48, "mention": 48}


def test_weibo_check_with_an_expired_token_needs_credentials(wb: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post("https://api.weibo.com/oauth2/get_token_info").mock(
            return_value=httpx.Response(400, json={"error": "expired_token", "error_code": 21327})
        )
        report = weibo.check(wb, now=now)
    assert report.mode == "needs_credentials" and "重新授权" in report.reason


# --- findings 1, 3, 4, 6, 7: Douyin ------------------------------------------------------------------------


def test_douyin_comment_list_documented_example_parses(dy: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        route = router.get(f"{DOUYIN}/video/comment/list/").mock(
            return_value=response(
                "douyin_video_comment_list",
                has_more=False,
                list=[
                    {**load("douyin_video_comment_list")["response"]["data"]["list"][0], "comment_id": "@c1"}
                ],
            )
        )
        page = douyin.poll(dy, target="@item", cursor="7", now=now)
    params = assert_documented(route.calls[0].request, "douyin_video_comment_list")
    assert "sort_type" not in params  # finding 3: ordering is not relied upon
    assert [i.external_id for i in page.items] == ["@c1"]
    assert page.next_cursor is None and not page.has_more


def test_douyin_2100004_is_refused_not_retried(dy: AccountContext, now: datetime) -> None:
    body = {"data": {"error_code": 2100004, "description": "参数类型错误"}, "extra": {"error_code": 2100004}}
    with respx.mock() as router:
        route = router.post(f"{DOUYIN}/video/comment/reply/").mock(
            return_value=httpx.Response(200, json=body)
        )
        result = douyin.publish(
            dy, thread_ref={"item_id": "@i", "comment_id": "@c"}, text="您好", idempotency_key="k", now=now
        )
    assert_documented(route.calls[0].request, "douyin_video_comment_reply")
    assert result.outcome == "refused" and result.error_code == "2100004"


def test_douyin_check_without_comment_and_im_scopes_is_import_only(
    dy: AccountContext, tokens: InMemoryTokenStore, now: datetime
) -> None:
    with respx.mock() as router:
        route = router.post(f"{DOUYIN}/oauth/refresh_token/").mock(
            return_value=response(
                "douyin_refresh_token", expires_in="1296000", refresh_expires_in="2592000", scope="user_info"
            )
        )
        report = douyin.check(dy, now=now)
    assert_documented(route.calls[0].request, "douyin_refresh_token")
    assert report.mode == "import_only"
    assert "仅导入" in report.reason and "video.comment" in report.reason
    assert report.refresh_expires_at == now + timedelta(days=30)
    assert report.windows == {"private": 24}
    assert not any(c.available for c in report.capabilities)


def test_douyin_check_with_both_scopes_is_full(dy: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post(f"{DOUYIN}/oauth/refresh_token/").mock(
            return_value=response(
                "douyin_refresh_token",
                refresh_expires_in="2592000",
                scope="user_info,video.comment,im.direct_message",
            )
        )
        report = douyin.check(dy, now=now)
    assert report.mode == "full" and report.scopes == ["im.direct_message", "user_info", "video.comment"]


def test_douyin_refresh_token_near_its_end_is_renewed(
    dy: AccountContext, tokens: InMemoryTokenStore, now: datetime
) -> None:
    with respx.mock() as router:
        router.post(f"{DOUYIN}/oauth/refresh_token/").mock(
            return_value=response(
                "douyin_refresh_token", refresh_expires_in=str(3 * 86400), scope="im.direct_message"
            )
        )
        renew = router.post(f"{DOUYIN}/oauth/renew_refresh_token/").mock(
            return_value=response(
                "douyin_renew_refresh_token", refresh_token="rft.renewed", expires_in="2592000"
            )
        )
        report = douyin.check(dy, now=now)
    form = assert_documented(renew.calls[0].request, "douyin_renew_refresh_token")
    # The refresh answer handed out the refresh token renewed here.
    assert form == {"client_key": "tt10abc", "refresh_token": "refresh_token"}
    assert report.refresh_expires_at == now + timedelta(days=30)
    stored = tokens.get(f"douyin:tt10abc:{OPEN_ID}")
    assert stored is not None and stored.refresh_token == "rft.renewed"
    assert report.mode == "limited"  # private messages only


def test_douyin_renewal_refused_keeps_the_near_expiry_for_the_alert(
    dy: AccountContext, now: datetime
) -> None:
    with respx.mock() as router:
        router.post(f"{DOUYIN}/oauth/refresh_token/").mock(
            return_value=response("douyin_refresh_token", refresh_expires_in=str(2 * 86400))
        )
        router.post(f"{DOUYIN}/oauth/renew_refresh_token/").mock(
            return_value=httpx.Response(200, json={"data": {"error_code": 10004, "description": "权限不足"}})
        )
        report = douyin.check(dy, now=now)
    assert report.refresh_expires_at == now + timedelta(days=2)


def test_douyin_check_with_a_dead_refresh_token_needs_credentials(dy: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post(f"{DOUYIN}/oauth/refresh_token/").mock(
            return_value=httpx.Response(
                200, json={"data": {"error_code": 10010, "description": "refresh_token过期"}}
            )
        )
        report = douyin.check(dy, now=now)
    assert report.mode == "needs_credentials" and "10010" in report.reason


def _signed(event: dict[str, object]) -> tuple[dict[str, str], bytes]:
    body = orjson.dumps(event)
    signature = hashlib.sha1(DOUYIN_SECRETS["client_secret"].encode() + body).hexdigest()
    return {"X-Douyin-Signature": signature, "Msg-Id": "m-42"}, body


def test_douyin_comment_webhook_is_a_comment_like_a_polled_one(now: datetime) -> None:
    headers, body = _signed(load("douyin_item_comment_reply_event")["event"])
    item = douyin.parse_webhook(
        client_secret=DOUYIN_SECRETS["client_secret"], headers=headers, body=body, account_open_id=OPEN_ID
    )
    assert isinstance(item, InboundItem)
    assert (item.kind, item.external_id, item.author_name) == (
        "comment",
        "@9VwKzuuES8gmaXS7ZohG0042",
        "青禾居民",
    )
    assert item.thread_ref["item_id"] == "@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQ=="
    assert item.thread_ref["comment_id"] == "@9VwKzuuES8gmaXS7ZohG0042"
    assert douyin.after_unknown(item.thread_ref).value == "check"


def test_douyin_comment_webhook_of_another_account_is_refused(now: datetime) -> None:
    event = json.loads(json.dumps(load("douyin_item_comment_reply_event")["event"]))
    event["to_user_id"] = "someone-else"
    headers, body = _signed(event)
    with pytest.raises(Exception, match="不属于本账号"):
        douyin.parse_webhook(
            client_secret=DOUYIN_SECRETS["client_secret"], headers=headers, body=body, account_open_id=OPEN_ID
        )


# --- finding 7 and WeChat comment management ---------------------------------------------------------------


def test_wechat_45047_says_five_messages_not_twenty(wx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post(f"{WECHAT}/message/custom/send").mock(
            return_value=httpx.Response(200, json={"errcode": 45047, "errmsg": "out of response count limit"})
        )
        result = wechat.publish(wx, thread_ref={"openid": "o1"}, text="您好", idempotency_key="k", now=now)
    assert result.outcome == "refused" and "5条" in result.reason and "20" not in result.reason


COMMENT = {"msg_data_id": "2247483714", "index": "0", "user_comment_id": "12"}


@pytest.mark.parametrize(
    ("action", "path", "name"),
    [
        ("delete", "comment/delete", "wechat_comment_delete"),
        ("delete_reply", "comment/reply/delete", "wechat_comment_reply_delete"),
        ("elect", "comment/markelect", "wechat_comment_markelect"),
        ("unelect", "comment/unmarkelect", "wechat_comment_unmarkelect"),
    ],
)
def test_wechat_comment_actions_send_the_documented_body(
    wx: AccountContext, now: datetime, action: str, path: str, name: str
) -> None:
    with respx.mock() as router:
        route = router.post(f"{WECHAT}/{path}").mock(return_value=response(name))
        wechat.manage_comment(wx, action=action, thread_ref=COMMENT, now=now)
    sent = assert_documented(route.calls[0].request, name)
    assert (sent["msg_data_id"], sent["index"], sent["user_comment_id"]) == (2247483714, 0, 12)


@pytest.mark.parametrize(("open_", "name"), [(True, "wechat_comment_open"), (False, "wechat_comment_close")])
def test_wechat_comments_open_and_close(wx: AccountContext, now: datetime, open_: bool, name: str) -> None:
    path = "comment/open" if open_ else "comment/close"
    with respx.mock() as router:
        route = router.post(f"{WECHAT}/{path}").mock(return_value=response(name))
        wechat.set_comments_open(wx, target="2247483714:1", open_=open_, now=now)
    assert assert_documented(route.calls[0].request, name) == {
        "access_token": "wx-token",
        "msg_data_id": 2247483714,
        "index": 1,
    }


def test_wechat_refused_delete_raises_with_the_reason(wx: AccountContext, now: datetime) -> None:
    with respx.mock() as router:
        router.post(f"{WECHAT}/comment/delete").mock(
            return_value=httpx.Response(200, json={"errcode": 88008, "errmsg": "comment not exists"})
        )
        with pytest.raises(PlatformError, match="留言不存在"):
            wechat.remove(wx, thread_ref=COMMENT, now=now)


def test_wechat_unknown_action_or_thread_is_refused_without_a_call(wx: AccountContext, now: datetime) -> None:
    with respx.mock():  # any call would fail: none is mocked
        with pytest.raises(PlatformError):
            wechat.manage_comment(wx, action="drop_table", thread_ref=COMMENT, now=now)
        with pytest.raises(PlatformError):
            wechat.manage_comment(wx, action="delete", thread_ref={"openid": "o1"}, now=now)
