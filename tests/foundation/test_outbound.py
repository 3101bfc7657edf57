"""The one outbound-URL policy: no reaching inside the network through a configured URL (SSRF)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx
import pytest

from app import outbound
from app.config import get_settings
from app.errors import Invalid
from app.notifications.robots import ChannelConfig, Notification, send

INTERNAL = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/api",
    "http://localhost.:8000/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
]


@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch) -> Any:
    def _allow(cidrs: str) -> None:
        monkeypatch.setenv("HUIYING_OUTBOUND_ALLOWED_NETWORKS", cidrs)
        get_settings.cache_clear()

    yield _allow
    monkeypatch.delenv("HUIYING_OUTBOUND_ALLOWED_NETWORKS", raising=False)
    get_settings.cache_clear()


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_in_any_notation_are_refused_at_save_time(
    url: str, dns: dict[str, list[str]]
) -> None:
    dns["localhost."] = ["127.0.0.1"]
    with pytest.raises(Invalid) as caught:
        outbound.check_url(url)
    assert caught.value.code == "outbound_refused"
    assert "内网" in caught.value.message


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "//x/", "http:///"]
)
def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(Invalid):
        outbound.check_url(url)


def test_public_and_not_yet_resolvable_names_are_accepted(dns: dict[str, list[str]]) -> None:
    dns["www.example.gov.cn"] = ["93.184.216.34"]
    assert outbound.check_url(" https://www.example.gov.cn/reply ") == "https://www.example.gov.cn/reply"
    assert outbound.check_url("https://not-yet.example.gov.cn/x") == "https://not-yet.example.gov.cn/x"


def test_a_name_resolving_inside_is_refused(dns: dict[str, list[str]]) -> None:
    dns["intranet.example.gov.cn"] = ["93.184.216.34", "10.0.0.8"]
    with pytest.raises(Invalid):
        outbound.check_url("https://intranet.example.gov.cn/reply")


def test_allowed_networks_open_the_intranet_and_nothing_else(dns: dict[str, list[str]], allow: Any) -> None:
    dns["site.gov.internal"] = ["10.20.0.5"]
    allow("10.20.0.0/16, fd00::/8")
    assert outbound.check_url("http://site.gov.internal/reply")
    assert outbound.check_url("http://[fd00::1]/")
    with pytest.raises(Invalid):
        outbound.check_url("http://10.30.0.5/")
    with pytest.raises(Invalid):
        outbound.check_url("http://127.0.0.1/")


def test_a_bad_allowed_network_stops_the_service_from_starting(allow: Any) -> None:
    allow("10.0.0.0/33")
    with pytest.raises(ValueError):
        get_settings()


class RecordingBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.connected: list[str] = []

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        self.connected.append(host)
        raise httpcore.ConnectError("recorded, not connected")


def test_connect_time_check_after_dns_resolution_defeats_rebinding(dns: dict[str, list[str]]) -> None:
    inner = RecordingBackend()
    backend = outbound.GuardedBackend(inner)
    dns["rebind.example.com"] = ["93.184.216.34"]
    assert outbound.check_url("https://rebind.example.com/")  # public when saved
    dns["rebind.example.com"] = ["127.0.0.1"]  # … internal when sending
    with pytest.raises(outbound.OutboundRefused):
        backend.connect_tcp("rebind.example.com", 443)
    assert inner.connected == []
    dns["rebind.example.com"] = ["93.184.216.34"]
    with pytest.raises(httpcore.ConnectError):
        backend.connect_tcp("rebind.example.com", 443)
    # The connection goes to the address that was checked, not to a second lookup.
    assert inner.connected == ["93.184.216.34"]
    with pytest.raises(outbound.OutboundRefused):
        backend.connect_tcp("never-resolves.example.com", 443)


def test_the_client_refuses_internal_targets_before_any_connection(dns: dict[str, list[str]]) -> None:
    dns["evil.example.com"] = ["169.254.169.254"]
    with outbound.client(timeout=2) as client:
        for url in ("http://evil.example.com/", "http://2130706433:9/", "http://[::1]:9/"):
            with pytest.raises(outbound.OutboundRefused):
                client.get(url)
    assert client.follow_redirects is False


def test_robot_channel_results_do_not_tell_ports_apart_or_echo_the_remote_body(
    dns: dict[str, list[str]],
) -> None:
    note = Notification(title="t", text="x", urgent=False, dedupe_key="k")
    now = datetime(2026, 3, 2, tzinfo=UTC)
    refused = send(ChannelConfig(kind="wecom", url="http://127.0.0.1:22/", secret=None), note, now=now)
    assert not refused.ok and not refused.retryable and "内网" in refused.detail

    def transport_failure(exc: Exception) -> str:
        def boom(request: httpx.Request) -> httpx.Response:
            raise exc

        with httpx.Client(transport=httpx.MockTransport(boom)) as client:
            url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
            return send(
                ChannelConfig(kind="wecom", url=url, secret=None), note, client=client, now=now
            ).detail

    details = {
        transport_failure(httpx.ConnectError("refused")),
        transport_failure(httpx.ReadTimeout("slow")),
        transport_failure(httpx.RemoteProtocolError("garbage")),
    }
    assert len(details) == 1

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"errcode": 93000, "errmsg": "<html>internal admin page</html>"})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
        result = send(ChannelConfig(kind="wecom", url=url, secret=None), note, client=client, now=now)
    assert "93000" in result.detail and "internal" not in result.detail


def test_accounts_and_channels_refuse_internal_urls_with_a_422(
    client: Any, admin_headers: dict[str, str], make_unit: Any
) -> None:
    make_unit("a")
    resp = client.post(
        "/api/v1/accounts",
        json={
            "platform": "generic",
            "name": "网站",
            "external_id": "site",
            "unit_code": "a",
            "secrets": {"hmac_secret": "s", "reply_url": "http://0x7f000001:8080/reply"},
        },
        headers=admin_headers,
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "outbound_refused"
    body = {
        "unit_code": "a",
        "kind": "webhook",
        "name": "元数据",
        "url": "http://169.254.169.254/x",
        "secret": "s",
    }
    resp = client.post("/api/v1/notification-channels", json=body, headers=admin_headers)
    assert resp.status_code == 422, resp.text
    assert "内网" in json.dumps(resp.json(), ensure_ascii=False)
