"""Fixtures for the knowledge-base tests: two units with their people and a small hand-written Q&A base
created through the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

ENTRIES: list[dict[str, Any]] = [
    {
        "question": "居民身份证到期了怎么换领？",
        "answer": "有效期满前三个月内，本人携带户口簿到户籍地派出所办理换领，现场拍照，工本费20元，约15个工作日取证。",
        "unit_code": "gaj",
        "alt_questions": ["身份证过期了去哪里换"],
        "tags": ["证件", "户籍"],
    },
    {
        "question": "新生儿怎么上户口？",
        "answer": "婴儿出生一个月内，父母携带出生医学证明、户口簿、结婚证到户籍派出所申报出生登记，当场办结。",
        "unit_code": "gaj",
        "tags": ["户籍"],
    },
    {
        "question": "社会保障卡丢了怎么挂失补办？",
        "answer": "先拨打合作银行客服电话或到人社窗口临时挂失，再带身份证到银行网点补卡，补卡后卡内余额自动转入新卡。",
        "unit_code": "rsj",
        "tags": ["社保"],
    },
    {
        "question": "失业保险金怎么申领？",
        "answer": "非本人意愿中断就业且缴费满一年的，办理失业登记后可在人社网上服务大厅申领，最长领取24个月。",
        "unit_code": "rsj",
    },
    {
        "question": "住房公积金怎么提取？",
        "answer": "购房、租房、退休等情形可申请提取，带身份证和相关证明到公积金中心窗口或在线办理，一般3个工作日到账。",
        "unit_code": None,
        "alt_questions": ["公积金的钱怎么取出来"],
    },
    {
        "question": "营业执照怎么注销？",
        "answer": "先办理清税，再通过企业注销网上服务平台提交申请；个体工商户可简易注销，无需登报公告。",
        "unit_code": "scj",
    },
]


@dataclass
class Desk:
    """Units gaj (with sub-unit gaj1), rsj and scj; an admin, leaders, an operator, a supervisor."""

    client: TestClient
    admin: dict[str, str]
    leader_a: dict[str, str]
    leader_b: dict[str, str]
    operator_a: dict[str, str]
    supervisor: dict[str, str]
    ids: dict[str, int] = field(default_factory=dict)  # question → entry id

    def post(self, path: str, headers: dict[str, str], body: Any = None, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=headers, **kw)

    def get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params=params, headers=headers)

    def patch(self, path: str, headers: dict[str, str], body: Any) -> Any:
        return self.client.patch(f"/api/v1{path}", json=body, headers=headers)

    def create(self, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
        resp = self.post("/kb/entries", headers or self.admin, body)
        assert resp.status_code == 201, resp.text
        result: dict[str, Any] = resp.json()
        self.ids[result["question"]] = result["id"]
        return result

    def suggest(self, text: str, headers: dict[str, str] | None = None, **extra: Any) -> list[dict[str, Any]]:
        resp = self.post("/kb/suggest", headers or self.operator_a, {"text": text, **extra})
        assert resp.status_code == 200, resp.text
        result: list[dict[str, Any]] = resp.json()["suggestions"]
        return result

    def top(self, text: str, **extra: Any) -> dict[str, Any]:
        found = self.suggest(text, **extra)
        assert found, f"no suggestion for {text}"
        return found[0]


@pytest.fixture
def desk(
    client: TestClient,
    admin_headers: dict[str, str],
    make_unit: Callable[..., Any],
    make_user: Callable[..., dict[str, str]],
    frozen_clock: Any,
) -> Desk:
    make_unit("gaj", "县公安局")
    make_unit("gaj1", "城关派出所", parent_code="gaj")
    make_unit("rsj", "县人社局")
    make_unit("scj", "县市场监管局")
    return Desk(
        client=client,
        admin=admin_headers,
        leader_a=make_user("leader", "gaj", name="公安领导"),
        leader_b=make_user("leader", "rsj", name="人社领导"),
        operator_a=make_user("operator", "gaj", name="公安经办人"),
        supervisor=make_user("supervisor", None, name="督办"),
    )


@pytest.fixture
def stocked(desk: Desk) -> Desk:
    """The desk with ENTRIES published."""
    for entry in ENTRIES:
        desk.create(**entry)
    return desk
