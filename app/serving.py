"""`huiying serve` held against slow clients (slow-loris): uvicorn times out idle keep-alive connections
and caps concurrency, but not a client that trickles its headers or body. `GuardedProtocol` closes a
connection whose request headers are not complete within `HUIYING_SERVE_HEADER_TIMEOUT` seconds, or whose
body is not complete within `HUIYING_SERVE_BODY_TIMEOUT` seconds after its headers; uvicorn's
`limit_concurrency` (`HUIYING_SERVE_LIMIT_CONCURRENCY`) answers 503 beyond that many connections and
requests per worker. The limits come from the settings so that every worker process reads the same."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import get_settings

PROTOCOL = "app.serving:GuardedProtocol"


class GuardedProtocol(HttpToolsProtocol):
    slow_timer: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self.slow_timer = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self.slow_timer is not None:
            self.slow_timer.cancel()
            self.slow_timer = None

    def _too_slow(self) -> None:
        self.slow_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm(get_settings().serve_header_timeout)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.slow_timer is None:  # the next request on a kept-alive connection
            self._arm(get_settings().serve_header_timeout)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(get_settings().serve_body_timeout)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
