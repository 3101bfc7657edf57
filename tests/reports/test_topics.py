"""Hot topics: a story that jumps against its baseline is found, clustered and shown with masked samples;
the supervising office is alerted once through its WeCom robot (respx mock of the robot API)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from sqlalchemy import func
from sqlmodel import select

from app.db import session_scope
from app.reports import alerts
from app.reports.models import MessageTerms

NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)
WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"

STORY = [
    ("a", "魅力之城小区楼下烧烤店油烟扰民，晚上噪音很大"),
    ("b", "魅力之城底层商铺油烟直排扰民，请联系我13812345678"),
    ("a", "投诉魅力之城小区门面夜宵摊油烟扰民"),
    ("b", "魅力之城小区一楼餐馆油烟太大，扰民严重"),
    ("a", "魅力之城商铺油烟和噪音扰民"),
]


@pytest.fixture
def stream(client, make_unit, make_account, add_message, frozen_clock):
    frozen_clock.set(NOW)
    make_unit("zfb", "县政府办公室")
    make_unit("a", "甲局", supervisor_code="zfb")
    make_unit("b", "乙局", supervisor_code="zfb")
    accounts = {"a": make_account("a"), "b": make_account("b")}
    for day in range(1, 8):
        # Parking comes up every day: steady, never hot.
        add_message(accounts["a"], NOW - timedelta(days=day, hours=3), content="小区停车位不够，停车难")
    add_message(accounts["a"], NOW - timedelta(days=3, hours=5), content="魅力之城油烟问题")
    for hour, (unit, text) in enumerate(STORY, start=1):
        add_message(accounts[unit], NOW - timedelta(hours=hour), content=text)
    add_message(accounts["a"], NOW - timedelta(hours=8), content="小区停车位不够，停车难")
    add_message(accounts["b"], NOW - timedelta(hours=9), content="路灯不亮了")
    return accounts


def test_surging_story_is_a_hot_cluster(client, admin_headers, stream):
    body = client.get(
        "/api/v1/reports/topics", params={"at": NOW.isoformat(), "window_hours": 24}, headers=admin_headers
    ).json()
    assert body["messages_in_window"] == 7
    assert body["messages_in_baseline"] == 8
    hot = {t["term"]: t for t in body["terms"]}
    assert {"油烟", "扰民", "魅力"} <= set(hot)
    assert hot["油烟"]["count"] == 5 and hot["油烟"]["baseline"] == round(1 / 7, 2)
    assert "停车难" not in hot and "小区" not in hot  # steady, and not enough of a jump
    assert len(body["clusters"]) == 1
    cluster = body["clusters"][0]
    assert cluster["count"] == 5
    assert {"油烟", "扰民", "魅力"} <= set(cluster["terms"])
    assert [(u["unit_code"], u["unit_name"], u["count"]) for u in cluster["units"]] == [
        ("a", "甲局", 3),
        ("b", "乙局", 2),
    ]
    assert len(cluster["samples"]) == 3
    assert cluster["samples"][0]["text"].startswith("魅力之城小区楼下")  # newest first
    assert all("13812345678" not in s["text"] for s in cluster["samples"])


def test_nothing_is_hot_in_a_quiet_window_or_below_the_threshold(client, admin_headers, stream):
    earlier = (NOW - timedelta(days=2)).isoformat()
    quiet = client.get("/api/v1/reports/topics", params={"at": earlier}, headers=admin_headers).json()
    assert quiet["clusters"] == [] and quiet["terms"] == []
    strict = client.get(
        "/api/v1/reports/topics", params={"at": NOW.isoformat(), "min_count": 6}, headers=admin_headers
    ).json()
    assert strict["clusters"] == []


def test_unit_roles_count_their_own_messages_only(client, make_user, stream):
    body = client.get(
        "/api/v1/reports/topics", params={"at": NOW.isoformat()}, headers=make_user("operator", "b")
    ).json()
    assert body["messages_in_window"] == 3
    assert body["clusters"] == []  # two of the five story messages are unit b's: below three


def test_naive_at_is_refused(client, admin_headers, stream):
    resp = client.get("/api/v1/reports/topics", params={"at": "2025-03-20T10:00:00"}, headers=admin_headers)
    assert resp.status_code == 400


def _channel(client, admin_headers):
    resp = client.post(
        "/api/v1/notification-channels",
        json={"unit_code": "zfb", "kind": "wecom", "name": "督办群", "url": WECOM_URL},
        headers=admin_headers,
    )
    assert resp.status_code == 201, resp.text


def test_alert_goes_once_to_the_supervising_office(client, admin_headers, stream):
    _channel(client, admin_headers)
    with respx.mock(assert_all_called=True) as mock:
        robot = mock.post(WECOM_URL).mock(
            return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        )
        assert alerts.run(now=NOW) == 1
        assert alerts.run(now=NOW + timedelta(minutes=15)) == 0
    assert robot.call_count == 1
    payload = json.loads(robot.calls[0].request.content)
    assert payload["msgtype"] == "markdown"
    content = payload["markdown"]["content"]
    assert "舆情热点" in content and "魅力" in content and "**5**" in content
    assert "甲局（3）" in content and "13812345678" not in content
    listed = client.get("/api/v1/reports/topic-alerts", headers=admin_headers).json()
    assert [(a["unit_code"], a["state"], a["count"]) for a in listed] == [("zfb", "sent", 5)]
    with session_scope() as session:
        cached = session.exec(select(func.count()).select_from(MessageTerms)).one()
    assert cached == 15  # the alert job stored the terms of every message in the 8-day span


def test_alert_is_retried_after_a_rate_limit(client, admin_headers, stream):
    _channel(client, admin_headers)
    with respx.mock() as mock:
        robot = mock.post(WECOM_URL).mock(
            side_effect=[
                httpx.Response(200, json={"errcode": 45009, "errmsg": "api freq out of limit"}),
                httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}),
            ]
        )
        assert alerts.run(now=NOW) == 0
        listed = client.get("/api/v1/reports/topic-alerts", headers=admin_headers).json()
        assert (listed[0]["state"], listed[0]["attempts"]) == ("pending", 1)
        assert "45009" in listed[0]["detail"]
        assert alerts.run(now=NOW + timedelta(seconds=10)) == 0  # backoff: not yet
        assert alerts.run(now=NOW + timedelta(seconds=31)) == 1
    assert robot.call_count == 2
    assert client.get("/api/v1/reports/topic-alerts", headers=admin_headers).json()[0]["state"] == "sent"


def test_no_channel_means_skipped(client, admin_headers, stream):
    alerts.run(now=NOW)
    listed = client.get("/api/v1/reports/topic-alerts", headers=admin_headers).json()
    assert [(a["state"], a["detail"]) for a in listed] == [("skipped", "督办单位未配置通知渠道")]
