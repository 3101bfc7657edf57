"""The pipeline: steps run in order, a failing item is retried then parked, others go on."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.db import session_scope
from app.intake.context import PipelineContext
from app.intake.pipeline import Pipeline
from app.messages.models import IntakeItem, Message


def _ingest(client, headers, account_id, n):  # type: ignore[no-untyped-def]
    return [
        client.post(
            "/api/v1/messages",
            json={
                "account_id": account_id,
                "external_id": f"e{i}",
                "content": "BOOM" if i == 1 else f"正常留言{i}",
            },
            headers=headers,
        ).json()["id"]
        for i in range(n)
    ]


def test_failing_item_is_retried_then_parked_and_others_go_on(
    client, make_unit, make_account, make_user, admin_headers, frozen_clock
):
    make_unit("a")
    acc = make_account("a")
    op = make_user("operator", "a")
    ids = _ingest(client, op, acc["id"], 3)
    calls: list[int] = []

    def explode(ctx: PipelineContext) -> None:
        calls.append(ctx.message.id or 0)
        ctx.message.flags = ["touched"]
        if "BOOM" in ctx.message.content:
            raise ValueError("cannot handle this one")

    pipeline = Pipeline([("explode", explode)])
    pipeline.settings = pipeline.settings.model_copy(update={"pipeline_max_attempts": 3})
    first = pipeline.run_once(now=frozen_clock.at)
    assert (first.done, first.retried, first.parked) == (2, 1, 0)
    # not due again until its backoff has passed
    assert pipeline.run_once(now=frozen_clock.at).claimed == 0
    later = frozen_clock.at
    for _ in range(5):
        later += timedelta(minutes=15)
        pipeline.run_once(now=later)
    with session_scope() as session:
        items = {i.message_id: i for i in session.exec(select(IntakeItem))}
        bad = items[ids[1]]
        assert bad.state == "parked" and bad.attempts == 3
        assert "cannot handle this one" in (bad.last_error or "")
        assert {items[ids[0]].state, items[ids[2]].state} == {"done"}
        failed_message = session.get(Message, ids[1])
        assert failed_message is not None
        assert failed_message.flags == []  # the failed try's changes were rolled back
        assert failed_message.status == "received"
        assert session.get(Message, ids[0]).status == "open"  # type: ignore[union-attr]
    parked = client.get("/api/v1/pipeline/parked", headers=admin_headers).json()
    assert [p["message_id"] for p in parked] == [ids[1]]
    retried = client.post(f"/api/v1/pipeline/parked/{parked[0]['id']}/retry", headers=admin_headers)
    assert retried.status_code == 200 and retried.json()["state"] == "pending"


def test_claimed_items_are_not_claimed_twice(client, make_unit, make_account, make_user, frozen_clock):
    make_unit("a")
    acc = make_account("a")
    op = make_user("operator", "a")
    _ingest(client, op, acc["id"], 4)
    pipeline = Pipeline([])
    first = pipeline.claim(now=frozen_clock.at, limit=2)
    second = pipeline.claim(now=frozen_clock.at, limit=10)
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)
    # a crashed worker's lease runs out and the items come back
    assert len(pipeline.claim(now=frozen_clock.at + timedelta(minutes=5), limit=10)) == 4
