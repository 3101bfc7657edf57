"""Helpers shared by several test folders' fixtures."""

from __future__ import annotations

import io
from typing import Any

import httpx
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
