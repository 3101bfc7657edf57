"""Helpers shared by several test folders' fixtures."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi.testclient import TestClient
from openpyxl import Workbook


def ok_json(resp: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The response's JSON object, after asserting its status (the body is shown when it differs)."""
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    return body


def post_message(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> int:
    """Ingests a message over the API, asserts it was stored, and returns its id."""
    return int(ok_json(client.post("/api/v1/messages", json=body, headers=headers), 201)["id"])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serves `app` with uvicorn in a thread on a loopback socket bound here (so it accepts connections
    as soon as the caller goes on); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    instance = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=30)
        sock.close()


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    """A one-sheet XLSX workbook holding `rows`."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
