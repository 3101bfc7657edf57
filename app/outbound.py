"""The one outbound-URL policy: where the service may send HTTP requests to addresses people configure
(a website's `reply_url`, WeCom/DingTalk robots, generic webhooks).

Only http(s). A host that is an IP literal in any notation (`127.0.0.1`, `[::1]`, `2130706433`,
`0x7f000001`, `0177.0.0.1` …) or a name resolving to a loopback, private, link-local, shared,
multicast, reserved or otherwise non-public address is refused — unless it lies in a network the
deployment allows with `HUIYING_OUTBOUND_ALLOWED_NETWORKS` (comma-separated CIDRs; a government intranet
needs it for its own website). The check runs when the URL is saved (`check_url`: 422 with a Chinese
message; a name that does not resolve yet is accepted) and again when connecting (`client()`): the name is
resolved once, every address checked, and the connection made to the checked address, so DNS rebinding
cannot slip in between. Clients made here never follow redirects."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from app.config import get_settings
from app.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUSED_REASON = (
    "目标地址属于内网、本机或保留地址，按安全策略不允许访问（如确需访问本单位内网，请由管理员配置允许的网段）"
)


class OutboundRefused(httpx.ConnectError):
    """A connection the policy refused; `policy_reason` is the Chinese reason shown to operators."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.policy_reason = reason


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# host, port → the addresses it resolves to; raises OSError (socket.gaierror) if it does not resolve.
# Tests replace it: they never touch the network, DNS included.
resolver: Callable[[str, int], list[str]] = _getaddrinfo


@lru_cache(maxsize=8)
def _parse_networks(spec: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def allowed_networks() -> tuple[Network, ...]:
    """The networks `HUIYING_OUTBOUND_ALLOWED_NETWORKS` allows besides the public internet."""
    return _parse_networks(get_settings().outbound_allowed_networks)


def ip_literal(host: str) -> IPAddress | None:
    """The address `host` denotes if it is an IP literal in any notation inet_aton accepts, else None."""
    candidate = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        pass
    try:
        # Decimal (2130706433), hex (0x7f000001), octal (0177.0.0.1) and short (127.1) IPv4 forms.
        return ipaddress.IPv4Address(socket.inet_aton(candidate))
    except OSError:
        return None


def address_allowed(address: IPAddress, networks: Iterable[Network] | None = None) -> bool:
    """Public unicast addresses, and any address in an allowed network."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for network in allowed_networks() if networks is None else networks:
        if address.version == network.version and address in network:
            return True
    return address.is_global and not address.is_multicast


def _split(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise Invalid("地址格式不正确") from None
    if parts.scheme not in ("http", "https"):
        raise Invalid("只允许 http(s) 地址")
    host = parts.hostname
    if not host:
        raise Invalid("地址缺少主机名")
    return host, port or (443 if parts.scheme == "https" else 80)


def _check_host(host: str, port: int, *, unresolved_ok: bool) -> list[str]:
    """The addresses to connect to; raises OutboundRefused for a disallowed one."""
    literal = ip_literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolver(host, port)
        except OSError:
            if unresolved_ok:
                return []
            raise OutboundRefused(f"无法解析目标主机名：{host}") from None
    for address in addresses:
        if not address_allowed(ipaddress.ip_address(address.split("%", 1)[0])):
            raise OutboundRefused(REFUSED_REASON)
    return addresses


def check_url(url: str) -> str:
    """Save-time check (422 with a Chinese message); a name that does not resolve yet is accepted."""
    host, port = _split(url)
    try:
        _check_host(host, port, unresolved_ok=True)
    except OutboundRefused as exc:
        raise Invalid(exc.policy_reason, code="outbound_refused") from None
    return url.strip()


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves each host once, checks every address, connects to the checked one (no rebinding)."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _check_host(host, port, unresolved_ok=False)
        return self.inner.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise OutboundRefused("不允许连接本机套接字")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def transport(**kwargs: Any) -> httpx.HTTPTransport:
    """An httpx transport whose every connection passes the policy."""
    guarded = httpx.HTTPTransport(**kwargs)
    # httpx does not take a network backend; its httpcore pool does.
    guarded._pool._network_backend = GuardedBackend()
    return guarded


def client(**kwargs: Any) -> httpx.Client:
    """An httpx client for configured URLs: policy checked at connect time, redirects never followed.

    Environment proxies are ignored: a proxy would connect on our behalf past the check."""
    return httpx.Client(transport=transport(), follow_redirects=False, trust_env=False, **kwargs)
