"""The routing step in the production pipeline: unit, confidence and reason on the message, the fallback
when nothing is confident, out-of-scope suspicion with a pointer, KB evidence, and changes taking effect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session

from app.db import session_scope
from app.intake.context import PipelineContext
from app.intake.pipeline import Pipeline
from app.intake.steps import default_steps
from app.messages.models import Message
from app.routing import service
from tests.routing.conftest import County, drain


def _stored(message_id: int) -> Message:
    with session_scope() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def test_pipeline_routes_with_confidence_and_reason(county: County) -> None:
    message_id = county.ingest("老板拖欠我三个月工资，欠薪问题谁来管？")
    assert drain().done == 1
    body = county.get(message_id)
    assert body["unit_code"] == "hrss"
    assert body["routing"]["unit_code"] == "hrss"
    assert body["routing"]["confidence"] >= 0.4
    assert "欠薪" in body["routing"]["reason"]
    assert body["status"] == "open" and body["due_at"] is not None
    assert body["out_of_scope"] is False and "out_of_scope" not in body["flags"]
    # The operators of the unit now see it; the other units do not.
    assert county.get(message_id, county.people("operator", "hrss"))["id"] == message_id
    other = county.client.get(f"/api/v1/messages/{message_id}", headers=county.people("operator", "edu"))
    assert other.status_code == 404


def test_unconfident_messages_fall_back_to_the_accounts_unit(county: County, make_account) -> None:  # type: ignore[no-untyped-def]
    police_account = make_account("police")
    message_id = county.ingest("你好，请问一下这个事情怎么办理", account_id=int(police_account["id"]))
    drain()
    stored = _stored(message_id)
    assert stored.unit_code == "police"
    assert stored.routing is not None
    assert stored.routing["fallback"] == "account" and stored.routing["suggested_unit"] is None
    assert "暂交青禾县公安局" in stored.routing["reason"]


def test_unconfident_messages_go_to_the_dispatcher_when_configured(county: County, make_account) -> None:  # type: ignore[no-untyped-def]
    resp = county.client.put(
        "/api/v1/routing/settings",
        json={"fallback": "dispatcher", "dispatcher_unit_code": "office"},
        headers=county.admin,
    )
    assert resp.status_code == 200
    police_account = make_account("police")
    vague = county.ingest("你好，请问一下这个事情怎么办理", account_id=int(police_account["id"]))
    clear = county.ingest("孩子入学的学区怎么划分", account_id=int(police_account["id"]))
    drain()
    assert _stored(vague).unit_code == "office"
    assert (_stored(vague).routing or {})["fallback"] == "dispatcher"
    assert _stored(clear).unit_code == "edu"


def test_out_of_scope_is_flagged_with_a_pointer_and_due_the_same_day(county: County) -> None:
    message_id = county.ingest("我在杭州旅游时被景区商家宰客了，你们管一管")
    drain()
    body = county.get(message_id)
    assert body["out_of_scope"] is True
    assert "out_of_scope" in body["flags"]
    assert body["unit_code"] == "office"  # the account's unit confirms and answers
    stored = _stored(message_id)
    assert stored.routing is not None and "外地" in stored.routing["pointer"]
    assert stored.working_days == 0
    office = county.people("operator", "office")
    routing = county.client.get(f"/api/v1/messages/{message_id}/routing", headers=office)
    assert routing.status_code == 200, routing.text
    assert routing.json()["pointer"] == stored.routing["pointer"] and routing.json()["out_of_scope"] is True
    assert routing.json()["fallback"] == "account" and routing.json()["suggested_unit"] is None
    hidden = county.client.get(
        f"/api/v1/messages/{message_id}/routing", headers=county.people("operator", "edu")
    )
    assert hidden.status_code == 404
    normal = county.ingest("孩子入学的学区怎么划分")
    drain()
    assert county.get(normal)["due_at"] > body["due_at"]


def test_kb_evidence_left_by_an_earlier_step_is_used(county: County) -> None:
    text = "请问这个材料在哪里可以领取"
    message_id = county.ingest(text)

    def knowledge(ctx: PipelineContext) -> None:
        ctx.kb_units = [("edu", 0.9)]

    Pipeline([("kb", knowledge), *default_steps()]).drain()
    stored = _stored(message_id)
    assert stored.unit_code == "edu"
    assert "问答库" in (stored.routing or {})["reason"]


@pytest.fixture
def kb_hook() -> Iterator[None]:
    def hook(session: Session, text: str) -> list[tuple[str, float]]:
        return [("police", 0.9)] if "材料" in text else []

    service.kb_evidence.append(hook)
    yield
    service.kb_evidence.remove(hook)


def test_registered_kb_evidence_serves_the_preview_and_the_pipeline(county: County, kb_hook: None) -> None:
    text = "请问这个材料在哪里可以领取"
    preview = county.client.post("/api/v1/routing/preview", json={"text": text}, headers=county.admin).json()
    assert preview["unit_code"] == "police"
    message_id = county.ingest(text)
    drain()
    assert _stored(message_id).unit_code == "police"


def test_rule_and_unit_changes_reach_the_pipeline(county: County) -> None:
    first = county.ingest("小区的电梯坏了好几天没人修")
    drain()
    assert _stored(first).unit_code == "office"  # nobody's keyword yet

    resp = county.client.patch("/api/v1/units/hrss", json={"keywords": ["电梯"]}, headers=county.admin)
    assert resp.status_code == 200
    second = county.ingest("小区的电梯坏了好几天没人修")
    drain()
    assert _stored(second).unit_code == "hrss"

    county.client.post(
        "/api/v1/routing/rules",
        json={"kind": "keyword", "pattern": "电梯", "unit_code": "police"},
        headers=county.admin,
    )
    third = county.ingest("小区的电梯坏了好几天没人修")
    drain()
    assert _stored(third).unit_code == "police"
    assert (_stored(third).routing or {})["rule_id"] is not None
