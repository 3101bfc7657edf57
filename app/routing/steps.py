"""Pipeline step of routing: the responsible unit with a confidence and a reason, a fallback unit when
nothing is confident, and the out-of-scope suspicion with a suggested pointer for the operator to confirm."""

from __future__ import annotations

from typing import Any

from app.accounts.models import Account
from app.messages.models import Message
from app.messages.pipeline import PipelineContext
from app.routing import service
from app.routing.engine import MODEL_CANDIDATES, RoutingDecision
from app.routing.models import Fallback

OUT_OF_SCOPE = "out_of_scope"


def fallback_unit(setup: service.RoutingSetup, account: Account) -> tuple[str, Fallback]:
    """Where a message goes when routing is not confident: the dispatcher queue if configured (and the
    unit exists), else the owner unit of the account it came in on."""
    dispatcher = setup.settings.dispatcher_unit_code
    if setup.settings.fallback == Fallback.dispatcher and dispatcher and dispatcher in setup.router.units:
        return dispatcher, Fallback.dispatcher
    return account.unit_code, Fallback.account


def apply_decision(
    *, message: Message, decision: RoutingDecision, setup: service.RoutingSetup, account: Account
) -> None:
    """Writes the verdict on the message: unit_code, routing{…}, out_of_scope and its flag."""
    used: Fallback | None = None
    unit = decision.unit_code
    reason = decision.reason
    if unit is None or decision.out_of_scope:
        unit, used = fallback_unit(setup, account)
        name = setup.router.units[unit].name if unit in setup.router.units else unit
        where = "分办席" if used == Fallback.dispatcher else "来源账号的主办单位"
        then = "确认是否属于本级职责" if decision.out_of_scope else "人工分派"
        reason = f"{reason}；暂交{name}（{where}）{then}"
    routing: dict[str, Any] = {
        "unit_code": unit,
        "suggested_unit": decision.unit_code,
        "confidence": decision.confidence,
        "reason": reason,
        "candidates": [{"unit_code": u, "score": s} for u, s in decision.candidates],
        "out_of_scope": decision.out_of_scope,
        "pointer": decision.pointer,
        "rule_id": decision.rule_id,
        "fallback": used.value if used else None,
        "model_version": setup.model_version,
    }
    message.unit_code = unit
    message.routing = routing
    message.out_of_scope = decision.out_of_scope
    flags = [f for f in (message.flags or []) if f != OUT_OF_SCOPE]
    if decision.out_of_scope:
        flags.append(OUT_OF_SCOPE)
    message.flags = flags


_PREDICTED_KEY = "routing.predicted"


def route(ctx: PipelineContext) -> None:
    """Routes the message (after moderation, before KB suggestions and the deadline). A message a person
    has already transferred keeps its unit. KB evidence: `ctx.scratch["kb_units"]` if an earlier step
    left it, else the registered `service.kb_evidence` hooks."""
    message = ctx.message
    if message.transfer_count:
        return
    setup = service.current_setup(session=ctx.session)
    kb_units = ctx.scratch.get("kb_units")
    if kb_units is None:
        kb_units = service.kb_units_for(session=ctx.session, text=message.content)
    decision = setup.router.decide(
        message.content,
        account_unit=ctx.account.unit_code,
        account_id=ctx.account.id,
        kb_units=kb_units,
        normalised=ctx.text,
        predicted=ctx.scratch.pop(_PREDICTED_KEY, None),
    )
    apply_decision(message=message, decision=decision, setup=setup, account=ctx.account)
    ctx.scratch["routing"] = decision


def prepare_route(contexts: list[PipelineContext]) -> None:
    """The learned model's predictions for the whole batch in one pass (when a model is in use)."""
    model = service.current_setup(session=contexts[0].session).router.model
    if model is None:
        return
    pending = [c for c in contexts if not c.message.transfer_count]
    found = model.predict_many(
        [c.message.content for c in pending], normalised=[c.text for c in pending], limit=MODEL_CANDIDATES
    )
    for ctx, predicted in zip(pending, found, strict=True):
        ctx.scratch[_PREDICTED_KEY] = predicted


route.prepare = prepare_route  # type: ignore[attr-defined]
