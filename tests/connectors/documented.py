"""The platforms' documented request and response examples (files in `documented/`, each naming its
source page), and the check that a request the connector sent has the documented shape: every
required field present, nothing the page does not list. A connector that departs from its platform's
documentation fails here, not in production."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

FOLDER = Path(__file__).parent / "documented"


@cache
def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))
    assert data["source"]["url"] and data["source"]["title"], f"{name}: no source"
    return data


def response(name: str, *, status: int = 200, **data_fields: Any) -> httpx.Response:
    """The documented example answer; `data_fields` replace fields of its `data` object (Douyin)."""
    body = json.loads(json.dumps(load(name)["response"]))
    if data_fields:
        body["data"].update(data_fields)
    return httpx.Response(status, json=body)


def fields_of(request: httpx.Request, where: str) -> dict[str, Any]:
    if where == "query":
        return dict(request.url.params)
    if where == "form":
        return {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}
    value: dict[str, Any] = json.loads(request.content)
    return value


def assert_documented(request: httpx.Request, name: str) -> dict[str, Any]:
    """Checks `request` against the documented call `name`; returns the fields it sent."""
    documented = load(name)["request"]
    assert request.method == documented["method"], f"{name}: method {request.method}"
    expected = httpx.URL(documented["url"])
    assert (request.url.host, request.url.path) == (expected.host, expected.path), f"{name}: {request.url}"
    sent: dict[str, Any] = {}
    for where, spec in documented["fields"].items():
        got = fields_of(request, where)
        missing = set(spec["required"]) - set(got)
        assert not missing, f"{name}: required {where} fields missing: {sorted(missing)}"
        unknown = set(got) - set(spec["required"]) - set(spec.get("optional", []))
        assert not unknown, f"{name}: {where} fields the documentation does not list: {sorted(unknown)}"
        sent.update(got)
    for header in documented.get("headers", []):
        assert request.headers.get(header), f"{name}: header {header} missing"
    return sent
