"""The intake flow layer sits above the domains: they expose services and never import it; a step's batch
`prepare` runs once for the batch before the step runs over its messages."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlmodel import col, select

from app.db import session_scope
from app.intake.context import PipelineContext
from app.intake.pipeline import Pipeline
from app.intake.steps import Batched, BatchStep, default_steps
from app.messages.models import Message
from tests.helpers import post_message

APP = Path(__file__).resolve().parents[2] / "app"
# Entry points (above the flow layer) may import it.
ENTRY_POINTS = {
    "app/main.py",
    "app/cli.py",
    "app/worker.py",
    "app/scheduler.py",
    "app/demo.py",
    "app/wiring.py",
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_domain_imports_the_intake_layer() -> None:
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        name = path.relative_to(APP.parent).as_posix()
        if name.startswith("app/intake/") or name in ENTRY_POINTS:
            continue
        if any(m == "app.intake" or m.startswith("app.intake.") for m in _imports(path)):
            offenders.append(name)
    assert offenders == []
    steps = [p.relative_to(APP.parent).as_posix() for p in APP.glob("*/steps.py")]
    assert steps == ["app/intake/steps.py"], "pipeline steps live in the intake layer"


def test_the_production_steps_with_batch_work_are_batch_steps() -> None:
    steps = dict(default_steps())
    assert [n for n, s in steps.items() if isinstance(s, BatchStep)] == [
        "kb-match",
        "routing",
        "search-index",
    ]
    assert not isinstance(steps["moderation"], BatchStep)


def test_a_batch_step_prepares_once_per_batch_and_its_result_reaches_each_message(
    client, make_unit, make_account, make_user, frozen_clock
):  # type: ignore[no-untyped-def]
    make_unit("a")
    account = make_account("a")
    operator = make_user("operator", "a")
    body = {"account_id": account["id"], "content": "路灯坏了"}
    ids = [post_message(client, operator, {**body, "external_id": f"p{i}"}) for i in range(3)]
    prepared: list[int] = []
    seen: dict[int, list[tuple[str, float]] | None] = {}

    def prepare(contexts: list[PipelineContext]) -> None:
        prepared.append(len(contexts))
        for ctx in contexts:
            ctx.kb_units = [("prepared", float(ctx.message.id or 0))]

    def run(ctx: PipelineContext) -> None:
        assert ctx.message.id is not None
        seen[ctx.message.id] = ctx.kb_units

    Pipeline([("probe", Batched(run=run, prepare=prepare))]).drain()
    assert prepared == [3]
    assert seen == {i: [("prepared", float(i))] for i in ids}
    with session_scope() as session:
        statuses = {m.status for m in session.exec(select(Message).where(col(Message.id).in_(ids)))}
    assert statuses == {"open"}
