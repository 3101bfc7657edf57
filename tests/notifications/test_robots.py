"""Notification channels, against respx mocks shaped like the WeCom and DingTalk robot APIs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from app.notifications.robots import ChannelConfig, Notification, backoff, send

NOW = datetime(2026, 2, 24, 1, 0, tzinfo=UTC)
NOW_MS = "1771894800000"  # NOW in Unix milliseconds
NOW_S = "1771894800"

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=a1b2c3d4"
# With NOW, this secret's signature contains "+" and "/", so URL-encoding is exercised.
DINGTALK_SECRET = "SEC00c0ffee"
HOOK_URL = "https://hooks.example.gov.cn/huiying/sla"
HOOK_SECRET = "hook-secret"

NOTE = Notification(
    title="留言即将超期",
    text="**市住建局**：留言 #1024「小区停车收费」今天 23:59:59 到期，请尽快答复。",
    urgent=False,
    dedupe_key="msg-1024:due_soon",
)
URGENT = Notification(
    title="留言已超期", text="请单位负责人督办。", urgent=True, dedupe_key="msg-1024:breach"
)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def _json(request: httpx.Request) -> dict:
    return json.loads(request.content.decode("utf-8"))


@respx.mock
def test_wecom_markdown_ok(client: httpx.Client) -> None:
    route = respx.post(WECOM_URL).mock(return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}))
    result = send(ChannelConfig("wecom", WECOM_URL), NOTE, client=client, now=NOW)
    assert result.ok and not result.retryable
    request = route.calls.last.request
    assert request.url.params["key"] == "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    assert request.headers["content-type"] == "application/json"
    assert _json(request) == {"msgtype": "markdown", "markdown": {"content": f"## {NOTE.title}\n{NOTE.text}"}}


@respx.mock
def test_wecom_urgent_title_is_marked(client: httpx.Client) -> None:
    route = respx.post(WECOM_URL).mock(return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}))
    send(ChannelConfig("wecom", WECOM_URL), URGENT, client=client, now=NOW)
    assert _json(route.calls.last.request)["markdown"]["content"].startswith("## 【紧急】留言已超期\n")


@pytest.mark.parametrize(
    ("body", "ok", "retryable"),
    [
        ({"errcode": 45009, "errmsg": "api freq out of limit"}, False, True),
        ({"errcode": -1, "errmsg": "system busy"}, False, True),
        ({"errcode": 93000, "errmsg": "invalid webhook url"}, False, False),
        ({"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}, False, False),
    ],
)
@respx.mock
def test_wecom_errcode_in_a_200_response(client: httpx.Client, body: dict, ok: bool, retryable: bool) -> None:
    respx.post(WECOM_URL).mock(return_value=httpx.Response(200, json=body))
    result = send(ChannelConfig("wecom", WECOM_URL), NOTE, client=client, now=NOW)
    assert (result.ok, result.retryable) == (ok, retryable)
    assert str(body["errcode"]) in result.detail


@respx.mock
def test_wecom_long_text_is_cut_to_4096_bytes(client: httpx.Client) -> None:
    route = respx.post(WECOM_URL).mock(return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}))
    long_note = Notification(title="汇总", text="超期留言" * 2000, urgent=False, dedupe_key="digest")
    send(ChannelConfig("wecom", WECOM_URL), long_note, client=client, now=NOW)
    content = _json(route.calls.last.request)["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.endswith("…") and content.startswith("## 汇总\n超期留言")


@pytest.mark.parametrize(
    ("response", "retryable"),
    [
        (httpx.Response(502, text="Bad Gateway"), True),
        (httpx.Response(429, text="Too Many Requests"), True),
        (httpx.Response(404, text="Not Found"), False),
        (httpx.Response(200, text="<html>proxy login</html>"), True),
    ],
)
@respx.mock
def test_wecom_http_failures(client: httpx.Client, response: httpx.Response, retryable: bool) -> None:
    respx.post(WECOM_URL).mock(return_value=response)
    result = send(ChannelConfig("wecom", WECOM_URL), NOTE, client=client, now=NOW)
    assert not result.ok and result.retryable is retryable


@pytest.mark.parametrize("error", [httpx.ConnectTimeout("timed out"), httpx.ConnectError("refused")])
@respx.mock
def test_network_errors_are_retryable(client: httpx.Client, error: Exception) -> None:
    respx.post(WECOM_URL).mock(side_effect=error)
    result = send(ChannelConfig("wecom", WECOM_URL), NOTE, client=client, now=NOW)
    assert not result.ok and result.retryable


def test_invalid_url_is_not_retryable(client: httpx.Client) -> None:
    result = send(ChannelConfig("wecom", "qyapi.weixin.qq.com/no-scheme"), NOTE, client=client, now=NOW)
    assert not result.ok and not result.retryable


def _expected_dingtalk_sign(secret: str, timestamp: str) -> str:
    string_to_sign = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()).decode()


@respx.mock
def test_dingtalk_signed_markdown(client: httpx.Client) -> None:
    route = respx.post(url__startswith="https://oapi.dingtalk.com/robot/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    result = send(ChannelConfig("dingtalk", DINGTALK_URL, DINGTALK_SECRET), NOTE, client=client, now=NOW)
    assert result.ok
    request = route.calls.last.request
    raw_query = urlsplit(str(request.url)).query
    query = parse_qs(raw_query)
    assert query["access_token"] == ["a1b2c3d4"]
    assert query["timestamp"] == [NOW_MS]
    expected = _expected_dingtalk_sign(DINGTALK_SECRET, NOW_MS)
    assert "+" in expected and "/" in expected
    assert query["sign"] == [expected]
    # The base64 must be percent-encoded: a bare "+" would reach DingTalk as a space.
    assert "+" not in raw_query and "%2B" in raw_query and "%2F" in raw_query
    assert _json(request) == {
        "msgtype": "markdown",
        "markdown": {"title": NOTE.title, "text": f"### {NOTE.title}\n\n{NOTE.text}"},
    }


@respx.mock
def test_dingtalk_without_secret_sends_no_signature(client: httpx.Client) -> None:
    route = respx.post(url__startswith="https://oapi.dingtalk.com/robot/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    assert send(ChannelConfig("dingtalk", DINGTALK_URL), URGENT, client=client, now=NOW).ok
    request = route.calls.last.request
    assert parse_qs(urlsplit(str(request.url)).query) == {"access_token": ["a1b2c3d4"]}
    assert _json(request)["markdown"]["title"] == "【紧急】留言已超期"


@pytest.mark.parametrize(
    ("body", "retryable"),
    [
        (
            {
                "errcode": 310000,
                "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
            },
            False,
        ),
        ({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}, True),
        ({"errcode": 300001, "errmsg": "token is not exist"}, False),
    ],
)
@respx.mock
def test_dingtalk_errcodes(client: httpx.Client, body: dict, retryable: bool) -> None:
    respx.post(url__startswith="https://oapi.dingtalk.com/robot/send").mock(
        return_value=httpx.Response(200, json=body)
    )
    result = send(ChannelConfig("dingtalk", DINGTALK_URL, DINGTALK_SECRET), NOTE, client=client, now=NOW)
    assert not result.ok and result.retryable is retryable
    assert str(body["errcode"]) in result.detail


@respx.mock
def test_generic_webhook_is_signed_over_the_exact_body(client: httpx.Client) -> None:
    route = respx.post(HOOK_URL).mock(return_value=httpx.Response(204))
    result = send(ChannelConfig("webhook", HOOK_URL, HOOK_SECRET), URGENT, client=client, now=NOW)
    assert result.ok
    request = route.calls.last.request
    assert request.headers["X-Huiying-Timestamp"] == NOW_S
    expected = hmac.new(
        HOOK_SECRET.encode(), NOW_S.encode() + b"." + request.content, hashlib.sha256
    ).hexdigest()
    assert request.headers["X-Huiying-Signature"] == f"sha256={expected}"
    assert request.headers["X-Huiying-Dedupe-Key"] == "msg-1024:breach"
    assert _json(request) == {
        "event": "sla.notification",
        "title": "留言已超期",
        "text": "请单位负责人督办。",
        "urgent": True,
        "dedupe_key": "msg-1024:breach",
        "sent_at": "2026-02-24T01:00:00Z",
    }


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (408, True), (400, False), (401, False)]
)
@respx.mock
def test_generic_webhook_http_status(client: httpx.Client, status: int, retryable: bool) -> None:
    respx.post(HOOK_URL).mock(return_value=httpx.Response(status))
    result = send(ChannelConfig("webhook", HOOK_URL, HOOK_SECRET), NOTE, client=client, now=NOW)
    assert not result.ok and result.retryable is retryable and str(status) in result.detail


@respx.mock(assert_all_called=False)
def test_generic_webhook_without_secret_is_refused(
    respx_mock: respx.MockRouter, client: httpx.Client
) -> None:
    route = respx_mock.post(HOOK_URL).mock(return_value=httpx.Response(200))
    result = send(ChannelConfig("webhook", HOOK_URL), NOTE, client=client, now=NOW)
    assert not result.ok and not result.retryable
    assert not route.called


@respx.mock
def test_send_creates_its_own_client_when_none_is_given() -> None:
    route = respx.post(WECOM_URL).mock(return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}))
    assert send(ChannelConfig("wecom", WECOM_URL), NOTE, now=NOW).ok
    assert route.call_count == 1


def test_send_requires_an_aware_clock(client: httpx.Client) -> None:
    with pytest.raises(ValueError):
        send(ChannelConfig("wecom", WECOM_URL), NOTE, client=client, now=datetime(2026, 2, 24, 9))


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert backoff(7) == timedelta(seconds=1920)
    assert backoff(8) == timedelta(hours=1)  # 3840 s capped
    assert backoff(10_000) == timedelta(hours=1)
    assert backoff(3, base=timedelta(seconds=5), cap=timedelta(seconds=12)) == timedelta(seconds=12)
    with pytest.raises(ValueError):
        backoff(0)
