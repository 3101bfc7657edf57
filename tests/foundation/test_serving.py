"""`huiying serve` against slow-loris: a client trickling its headers or body is cut off (timers checked
by firing them, never by waiting)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from app.cli import build_parser
from app.serving import PROTOCOL, GuardedProtocol


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        self.written = b""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written += data

    def set_protocol(self, protocol: Any) -> None:
        pass


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    tasks = asyncio.all_tasks(loop)  # the request a complete read started, never run here
    for task in tasks:
        task.cancel()
        loop.run_until_complete(asyncio.wait([task]))
    loop.close()


def connection(loop: asyncio.AbstractEventLoop) -> tuple[GuardedProtocol, Transport]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    config = Config(app=app, http=PROTOCOL, lifespan="off")
    config.load()
    protocol = GuardedProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport


def delay(protocol: GuardedProtocol, loop: asyncio.AbstractEventLoop) -> float:
    assert protocol.slow_timer is not None
    return protocol.slow_timer.when() - loop.time()


def fire(protocol: GuardedProtocol) -> None:
    assert protocol.slow_timer is not None
    protocol.slow_timer._run()


def test_a_client_trickling_its_headers_is_closed(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = connection(loop)
    assert 9 < delay(protocol, loop) <= 10
    protocol.data_received(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
    assert not transport.closed
    fire(protocol)
    assert transport.closed


def test_a_client_trickling_its_body_is_closed(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = connection(loop)
    protocol.data_received(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    assert 29 < delay(protocol, loop) <= 30  # headers done: the body clock runs
    fire(protocol)
    assert transport.closed


def test_a_complete_request_stops_the_clock(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = connection(loop)
    protocol.data_received(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert protocol.slow_timer is None
    assert not transport.closed
    protocol.connection_lost(None)


def test_serve_takes_the_limits_as_flags() -> None:
    args = build_parser().parse_args(
        ["serve", "--header-timeout", "5", "--body-timeout", "20", "--limit-concurrency", "100"]
    )
    assert (args.header_timeout, args.body_timeout, args.limit_concurrency) == (5.0, 20.0, 100)
