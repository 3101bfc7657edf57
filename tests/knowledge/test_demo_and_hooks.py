"""The demo loader (the development Q&A set as published entries, idempotent) and the KB evidence the
routing preview gets from the knowledge base."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.db import session_scope
from app.knowledge import demo
from tests.knowledge.conftest import Desk

DATA = Path(__file__).resolve().parents[2] / "data"


def test_demo_loads_the_development_set_once(
    client: Any, admin_headers: dict[str, str], make_unit: Callable[..., Any]
) -> None:
    dev = json.loads((DATA / "dev_eval.json").read_text(encoding="utf-8"))
    for unit in dev["units"]:
        make_unit(unit["code"], unit["name"])
    summary: dict[str, Any] = {}
    with session_scope() as session:
        demo.load(session, DATA, summary)
    assert summary["kb_entries"] == len(dev["kb"])
    with session_scope() as session:
        demo.load(session, DATA, summary)
    assert summary["kb_entries"] == 0
    page = client.get("/api/v1/kb/entries", params={"limit": 200}, headers=admin_headers).json()
    assert len(page["items"]) == len(dev["kb"])
    assert {e["status"] for e in page["items"]} == {"published"}
    first = dev["kb"][0]
    resp = client.post("/api/v1/kb/suggest", json={"text": first["question"]}, headers=admin_headers)
    assert resp.json()["suggestions"][0]["question"] == first["question"]


def test_routing_preview_uses_kb_evidence(stocked: Desk) -> None:
    resp = stocked.post("/routing/preview", stocked.admin, {"text": "我的社保卡丢了，怎么挂失补办？"})
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["unit_code"] == "rsj"
    assert "问答库" in result["reason"]
