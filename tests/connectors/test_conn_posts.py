"""Each connector's list of the account's own posts, against the platforms' documented response shapes
(mocked with respx): WeChat 已发布列表 (freepublish/batchget), Weibo statuses/user_timeline, Douyin video
list; and the website/app's signed `post` event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import orjson
import pytest
import respx

from connectors import douyin, generic, wechat, weibo
from connectors.base import AccountContext, PayloadError, PlatformError, TokenExpired

WECHAT = "https://api.weixin.qq.com/cgi-bin"
WEIBO = "https://api.weibo.com/2"
DOUYIN = "https://open.douyin.com"


def test_wechat_published_list(make_ctx: Callable[..., AccountContext], now: datetime) -> None:
    ctx = make_ctx({"app_id": "wx6f2a", "app_secret": "s3cret", "token": "t"}, "gh_3f2a1b0c9d8e")
    published = {
        "total_count": 2,
        "item_count": 2,
        "item": [
            {
                "article_id": "ARTICLE_ID_OLD",
                "content": {
                    "news_item": [
                        {
                            "title": "关于清明节假期办事安排的通知",
                            "author": "青禾发布",
                            "digest": "",
                            "content": "",
                            "content_source_url": "",
                            "thumb_media_id": "TM1",
                            "show_cover_pic": 0,
                            "need_open_comment": 1,
                            "only_fans_can_comment": 0,
                            "url": "https://mp.weixin.qq.com/s/old",
                            "is_deleted": False,
                        }
                    ]
                },
                "update_time": 1714384800,  # 2024-04-29 10:00 +08:00
            },
            {
                "article_id": "ARTICLE_ID_NEW",
                "content": {
                    "news_item": [
                        {
                            "title": "五一假期政务服务指南",
                            "author": "青禾发布",
                            "digest": "",
                            "content": "",
                            "content_source_url": "",
                            "thumb_media_id": "TM2",
                            "show_cover_pic": 0,
                            "need_open_comment": 1,
                            "only_fans_can_comment": 0,
                            "url": "https://mp.weixin.qq.com/s/new",
                            "is_deleted": False,
                        }
                    ]
                },
                "update_time": 1714902000,  # 2024-05-05 17:40 +08:00
            },
        ],
    }
    with respx.mock() as router:
        router.post(f"{WECHAT}/stable_token").mock(
            return_value=httpx.Response(200, json={"access_token": "TOKEN1", "expires_in": 7200})
        )
        batch = router.post(f"{WECHAT}/freepublish/batchget").mock(
            return_value=httpx.Response(200, json=published)
        )
        posts = wechat.list_posts(ctx, now=now)
    request = batch.calls[0].request
    assert request.url.params["access_token"] == "TOKEN1"
    assert orjson.loads(request.content) == {"offset": 0, "count": 20, "no_content": 1}
    assert [(p.external_id, p.title) for p in posts] == [
        ("ARTICLE_ID_NEW", "五一假期政务服务指南"),
        ("ARTICLE_ID_OLD", "关于清明节假期办事安排的通知"),
    ]
    assert posts[0].posted_at == datetime(2024, 5, 5, 9, 40, tzinfo=UTC)


def test_wechat_published_list_errors_are_platform_errors(
    make_ctx: Callable[..., AccountContext], now: datetime
) -> None:
    ctx = make_ctx({"app_id": "wx6f2a", "app_secret": "s3cret", "token": "t"}, "gh_3f2a1b0c9d8e")
    with respx.mock() as router:
        router.post(f"{WECHAT}/stable_token").mock(
            return_value=httpx.Response(200, json={"access_token": "TOKEN1", "expires_in": 7200})
        )
        router.post(f"{WECHAT}/freepublish/batchget").mock(
            return_value=httpx.Response(200, json={"errcode": 48001, "errmsg": "api unauthorized"})
        )
        with pytest.raises(PlatformError) as caught:
            wechat.list_posts(ctx, now=now)
    assert caught.value.code == "48001"


def test_weibo_user_timeline(make_ctx: Callable[..., AccountContext], now: datetime) -> None:
    ctx = make_ctx({"app_key": "2949572520", "app_secret": "x", "access_token": "2.00TOKEN"}, "5861234567")
    timeline = {
        "statuses": [
            {
                "created_at": "Mon May 06 09:15:02 +0800 2024",
                "id": 5031234567890123,
                "idstr": "5031234567890123",
                "mid": "5031234567890123",
                "text": "【便民】五一假期后首个工作日，各政务服务大厅正常办公。",
                "source": '<a href="https://weibo.com/" rel="nofollow">微博网页版</a>',
                "reposts_count": 3,
                "comments_count": 8,
                "attitudes_count": 20,
            },
            {
                "created_at": "Tue Apr 30 18:00:00 +0800 2024",
                "id": 5030000000000001,
                "idstr": "5030000000000001",
                "mid": "5030000000000001",
                "text": "五一假期出行提示",
                "reposts_count": 0,
                "comments_count": 1,
                "attitudes_count": 5,
            },
        ],
        "previous_cursor": 0,
        "next_cursor": 5030000000000000,
        "total_number": 1320,
    }
    with respx.mock() as router:
        route = router.get(f"{WEIBO}/statuses/user_timeline.json").mock(
            return_value=httpx.Response(200, json=timeline)
        )
        posts = weibo.list_posts(ctx, now=now)
    params = route.calls[0].request.url.params
    assert (params["access_token"], params["uid"], params["count"]) == ("2.00TOKEN", "5861234567", "20")
    assert [p.external_id for p in posts] == ["5031234567890123", "5030000000000001"]
    assert posts[0].posted_at == datetime(2024, 5, 6, 1, 15, 2, tzinfo=UTC)
    with respx.mock() as router:
        router.get(f"{WEIBO}/statuses/user_timeline.json").mock(
            return_value=httpx.Response(
                400,
                json={
                    "error": "expired_token",
                    "error_code": 21327,
                    "request": "/2/statuses/user_timeline.json",
                },
            )
        )
        with pytest.raises(TokenExpired):
            weibo.list_posts(ctx, now=now)


def test_douyin_video_list(make_ctx: Callable[..., AccountContext], now: datetime) -> None:
    ctx = make_ctx(
        {"client_key": "tt10abc", "client_secret": "c", "access_token": "act.first", "refresh_token": "rft"},
        "aaa-7ae0-4399-914a-5eb1df5861ba",
    )
    videos = {
        "data": {
            "error_code": 0,
            "description": "",
            "cursor": 1714300000000,
            "has_more": False,
            "list": [
                {  # pinned: the platform lists it first although it is older
                    "item_id": "@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBq6CZRp4NVe6qLIJW/V/x1w==",
                    "title": "青禾政务服务大厅办事指南",
                    "cover": "https://p3.douyinpic.com/cover1.jpeg",
                    "is_top": True,
                    "create_time": 1709258400,  # 2024-03-01
                    "is_reviewed": True,
                    "video_status": 1,
                    "share_url": "https://www.iesdouyin.com/share/video/1/",
                    "statistics": {
                        "comment_count": 12,
                        "digg_count": 300,
                        "download_count": 0,
                        "play_count": 0,
                        "share_count": 4,
                        "forward_count": 0,
                    },
                },
                {
                    "item_id": "@9VwKzuuES8gmaXS4ZohvRc1wmjqwDOE1zBl0fGCN2l0=",
                    "title": "五一假期值班安排",
                    "cover": "https://p3.douyinpic.com/cover2.jpeg",
                    "is_top": False,
                    "create_time": 1714806000,  # 2024-05-04 15:00 +08:00
                    "is_reviewed": True,
                    "video_status": 1,
                    "share_url": "https://www.iesdouyin.com/share/video/2/",
                    "statistics": {
                        "comment_count": 2,
                        "digg_count": 30,
                        "download_count": 0,
                        "play_count": 0,
                        "share_count": 1,
                        "forward_count": 0,
                    },
                },
            ],
        },
        "extra": {
            "error_code": 0,
            "description": "",
            "sub_error_code": 0,
            "sub_description": "",
            "logid": "2024050610",
            "now": 1714960800000,
        },
    }
    with respx.mock() as router:
        route = router.get(f"{DOUYIN}/video/list/").mock(return_value=httpx.Response(200, json=videos))
        posts = douyin.list_posts(ctx, now=now)
    request = route.calls[0].request
    assert request.headers["access-token"] == "act.first"
    assert request.url.params["open_id"] == "aaa-7ae0-4399-914a-5eb1df5861ba"
    assert [p.title for p in posts] == ["五一假期值班安排", "青禾政务服务大厅办事指南"]
    assert posts[0].posted_at == datetime(2024, 5, 4, 7, 0, tzinfo=UTC)


def test_generic_post_event(now: datetime) -> None:
    body = orjson.dumps({"external_id": "news-1", "posted_at": "2024-05-06T09:30:00+08:00", "title": "通知"})
    post = generic.parse_post(body, now=now)
    assert (post.external_id, post.posted_at, post.title) == (
        "news-1",
        datetime(2024, 5, 6, 1, 30, tzinfo=UTC),
        "通知",
    )
    for bad in (
        {"posted_at": "2024-05-06T09:30:00+08:00"},
        {"external_id": "x", "posted_at": "2024-05-06T09:30:00"},
        {"external_id": "x", "title": ["nested"]},
        {"external_id": "x" * 500},
    ):
        with pytest.raises(PayloadError):
            generic.parse_post(orjson.dumps(bad), now=now)
    assert generic.parse_post(orjson.dumps({"external_id": "n2"}), now=now).posted_at == now
