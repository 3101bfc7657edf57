"""Fixtures for the replies tests: a unit with its people, messages made ready for a reply on any
platform, and the outbox run at an injected time with its own token store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient
from sqlmodel import select

from app.db import session_scope
from app.intake.pipeline import Pipeline
from app.messages.models import Message
from app.replies import outbox
from app.sla import service as sla
from connectors.base import InMemoryTokenStore
from tests.helpers import ok_json

WECHAT_SECRETS = {
    "app_id": "wx1234567890abcdef",
    "app_secret": "wechat-app-secret",
    "token": "wechat-token",
}
WEIBO_SECRETS = {
    "app_key": "3712345678",
    "app_secret": "weibo-secret",
    "access_token": "2.00weibo_token",
    "reply_ip": "211.156.0.1",
}
DOUYIN_SECRETS = {
    "client_key": "awdouyinclientkey",
    "client_secret": "douyin-secret",
    "access_token": "act.douyin-user-token",
    "refresh_token": "rft.douyin-refresh",
}
GENERIC_SECRETS = {
    "hmac_secret": "board-hmac-secret",
    "reply_url": "https://board.example.gov.cn/api/replies",
}
SECRETS = {
    "wechat": WECHAT_SECRETS,
    "weibo": WEIBO_SECRETS,
    "douyin": DOUYIN_SECRETS,
    "generic": GENERIC_SECRETS,
}
EXTERNAL_IDS = {
    "wechat": "gh_3ab1c2d3e4f5",
    "weibo": "5612345678",
    "douyin": "ou_account_open_id",
    "generic": "board",
}


@dataclass
class Desk:
    """One unit ("a", with sub-unit "a1") and its people, plus a stranger unit "b"."""

    client: TestClient
    operator: dict[str, str]
    operator2: dict[str, str]
    reviewer: dict[str, str]
    reviewer2: dict[str, str]
    leader: dict[str, str]
    leader2: dict[str, str]
    operator_b: dict[str, str]
    reviewer_b: dict[str, str]
    accounts: dict[str, int]

    def post(self, path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{path}", json=body or {}, headers=headers)

    def get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params=params, headers=headers)

    def message(
        self,
        platform: str = "generic",
        *,
        external_id: str = "m-1",
        kind: str = "comment",
        content: str = "我身份证下个月就过期了，现在能提前去换吗？",
        thread_ref: dict[str, str] | None = None,
        received_at: datetime | None = None,
        flags: list[str] | None = None,
        suggestions: list[dict[str, Any]] | None = None,
        author_id: str = "citizen-1",
    ) -> int:
        """A message stored, through the pipeline (open), with its deadline: ready for a reply."""
        body: dict[str, Any] = {
            "account_id": self.accounts[platform],
            "external_id": external_id,
            "kind": kind,
            "author": {"id": author_id, "name": "市民"},
            "content": content,
            "thread_ref": thread_ref or {},
        }
        if received_at is not None:
            body["received_at"] = received_at.isoformat()
        resp = self.post("/messages", self.operator, body)
        assert resp.status_code == 201, resp.text
        message_id = int(resp.json()["id"])
        Pipeline(steps=[]).drain()
        with session_scope() as session:
            message = session.exec(select(Message).where(Message.id == message_id)).one()
            message.flags = flags or []
            message.suggestions = suggestions or []
            sla.apply_deadline(session=session, message=message)
        return message_id

    def draft(
        self, message_id: int, text: str = "您好，有效期满前三个月内可到派出所申请换领。", **extra: Any
    ) -> int:
        resp = self.post(f"/messages/{message_id}/replies", self.operator, {"text": text, **extra})
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])

    def approved(self, message_id: int, text: str = "您好，有效期满前三个月内可到派出所申请换领。") -> int:
        """Drafted by the operator, submitted, approved by the reviewer (and a leader if sensitive)."""
        reply_id = self.draft(message_id, text)
        assert self.post(f"/replies/{reply_id}/submit", self.operator).status_code == 200
        resp = self.post(f"/replies/{reply_id}/approve", self.reviewer)
        assert resp.status_code == 200, resp.text
        if resp.json()["state"] == "leader_review":
            resp = self.post(f"/replies/{reply_id}/approve", self.leader)
            assert resp.status_code == 200, resp.text
        assert resp.json()["state"] == "approved"
        return reply_id

    def reply(self, reply_id: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
        resp = self.get(f"/replies/{reply_id}", headers or self.operator)
        return ok_json(resp)

    def message_json(self, message_id: int) -> dict[str, Any]:
        resp = self.get(f"/messages/{message_id}", self.operator)
        return ok_json(resp)


@pytest.fixture
def desk(
    client: TestClient,
    make_unit: Callable[..., Any],
    make_user: Callable[..., dict[str, str]],
    make_account: Callable[..., dict[str, Any]],
    frozen_clock: Any,
) -> Desk:
    make_unit("a", "县公安局")
    make_unit("a1", "城关派出所", parent_code="a")
    make_unit("b", "县医保局")
    accounts = {
        platform: int(
            make_account(
                "a", platform=platform, external_id=EXTERNAL_IDS[platform], secrets=SECRETS[platform]
            )["id"]
        )
        for platform in SECRETS
    }
    return Desk(
        client=client,
        operator=make_user("operator", "a", name="经办人甲"),
        operator2=make_user("operator", "a", name="经办人乙"),
        reviewer=make_user("reviewer", "a", name="审核人甲"),
        reviewer2=make_user("reviewer", "a", name="审核人乙"),
        leader=make_user("leader", "a", name="分管领导甲"),
        leader2=make_user("leader", "a", name="分管领导乙"),
        operator_b=make_user("operator", "b", name="医保经办人"),
        reviewer_b=make_user("reviewer", "b", name="医保审核人"),
        accounts=accounts,
    )


@pytest.fixture
def tokens() -> InMemoryTokenStore:
    return InMemoryTokenStore()


@pytest.fixture
def run_outbox(tokens: InMemoryTokenStore) -> Callable[[datetime], outbox.OutboxResult]:
    def run(now: datetime) -> outbox.OutboxResult:
        return outbox.drain(now=now, tokens=tokens)

    return run


@pytest.fixture
def platform() -> Iterator[respx.MockRouter]:
    """Every outbound call must be mocked; an unexpected one fails the test."""
    with respx.mock(assert_all_called=False) as router:
        yield router
