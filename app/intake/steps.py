"""The intake steps and the one place they are wired in order (`default_steps`). Each step is thin: it
calls a domain's service and leaves its result on the typed `PipelineContext` for the steps after it.

A step is any callable taking the context. A step may also offer `prepare(contexts)`: work done once for
the whole batch right before the step runs over it (e.g. one batched search for every message), so it
sees what the earlier steps decided for every message of the batch; the step then finds the result on the
context. If preparing fails, or the batch runs item by item after a failure, each step does its own work
per message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sqlmodel import Session

from app import clock
from app.intake.context import PipelineContext
from app.knowledge.index import Hit, Snapshot, knowledge_index
from app.messages.followups import link_follow_up
from app.messages.search import index_message, index_messages
from app.moderation import service as moderation
from app.routing import service as routing
from app.routing.engine import KB_UNIT_DEPTH, MODEL_CANDIDATES, kb_unit_evidence
from app.sla.service import apply_deadline, prohibited_alert, rumour_alert, sensitive_alert

if TYPE_CHECKING:
    from kb.index import Pool

SUGGESTIONS = 3  # KB suggestions shown with a message


class Step(Protocol):
    """One stage of intake: reads and changes `ctx.message`, leaves its result on the context."""

    def __call__(self, ctx: PipelineContext, /) -> None: ...


@runtime_checkable
class BatchStep(Step, Protocol):
    """A step with batch work done once before it runs over the batch's messages."""

    def prepare(self, contexts: list[PipelineContext], /) -> None: ...


@dataclass(frozen=True)
class Batched:
    """A step function together with its batch `prepare` (a `BatchStep`)."""

    run: Callable[[PipelineContext], None]
    prepare: Callable[[list[PipelineContext]], None]

    def __call__(self, ctx: PipelineContext, /) -> None:
        self.run(ctx)


# ------------------------------------------------------------------------------------------ moderation


def moderate(ctx: PipelineContext) -> None:
    """Flags the message (abuse, sensitivity, spam, illegal content, rumours, personal data) before it
    is routed; the verdict stays on `ctx.moderation`."""
    ctx.moderation = moderation.moderate(
        session=ctx.session, message=ctx.message, normalised=ctx.text, at=ctx.now
    )


def alert_sensitive(ctx: PipelineContext) -> None:
    """Raises the immediate alert to the supervising office for a sensitive message (once per message).
    Runs after routing and the deadline, so the alert names the responsible unit and the due time."""
    if moderation.SENSITIVE not in (ctx.message.flags or []):
        return
    sensitive_alert(session=ctx.session, message=ctx.message, now=ctx.now)


def hold_and_alert(ctx: PipelineContext) -> None:
    """Illegal and harmful content: hidden from the queue, kept as evidence, the unit's leaders and the
    supervising office alerted. A rumour to check: the information office alerted. Once per message."""
    flags = ctx.message.flags or []
    if moderation.PROHIBITED in flags:
        result = ctx.moderation
        if result is None:
            result = moderation.check_text(session=ctx.session, text=ctx.message.content, normalised=ctx.text)
        moderation.hold_prohibited(session=ctx.session, message=ctx.message, result=result, at=ctx.now)
        prohibited_alert(session=ctx.session, message=ctx.message, now=ctx.now)
    elif moderation.RUMOUR_CHECK in flags:
        rumour_alert(session=ctx.session, message=ctx.message, now=ctx.now)


# ------------------------------------------------------------------------------------------- knowledge


def _snapshot(ctx: PipelineContext) -> Snapshot:
    """The KB index for this batch: checked against the database once per batch."""
    found = ctx.batch.kb_snapshot
    if found is None:
        found = knowledge_index.sync(session=ctx.session, now=ctx.now)
        ctx.batch.kb_snapshot = found
    return found


def _search(
    ctx: PipelineContext, contexts: list[PipelineContext], pools: list[Pool | None]
) -> list[list[Hit]]:
    """The hits the router weighs (the shown ones explained), and the pools, of `contexts`' messages."""
    return _snapshot(ctx).search_many(
        [c.text for c in contexts],
        channels=[c.message.platform for c in contexts],
        limit=max(KB_UNIT_DEPTH, SUGGESTIONS),
        now=ctx.now,
        explain=SUGGESTIONS,
        normalised=True,
        pools=pools,
    )


def _match(ctx: PipelineContext) -> None:
    """Searches the KB once: `ctx.kb_hits` (best first), `ctx.kb_pool` for the routed unit's preference,
    and, for the router, `ctx.kb_units` = the unit the top hits agree on
    (`app.routing.engine.kb_unit_evidence`)."""
    prepared, ctx.prepared_kb = ctx.prepared_kb, None
    if prepared is None:
        pools: list[Pool | None] = []
        prepared = (_search(ctx, [ctx], pools)[0], pools[0])
    ctx.kb_hits, ctx.kb_pool = prepared
    evidence = kb_unit_evidence((h.unit_code, h.score) for h in ctx.kb_hits)
    # The router reads only this list once it exists: evidence an earlier step left and that of other
    # registered sources stay beside ours (ours comes from these hits, not from a second search).
    ctx.kb_units = [*(ctx.kb_units or []), *evidence, *_other_sources(ctx)]


def _prepare_match(contexts: list[PipelineContext]) -> None:
    """One batched search for every message of the batch (a fraction of one search per message)."""
    pools: list[Pool | None] = []
    found = _search(contexts[0], contexts, pools)
    for ctx, hits, pool in zip(contexts, found, pools, strict=True):
        ctx.prepared_kb = (hits, pool)


match = Batched(run=_match, prepare=_prepare_match)


def kb_units(session: Session, text: str) -> list[tuple[str, float]]:
    """(unit_code, score) of the unit the KB's top matches of `text` agree on — the rule `match` applies,
    registered as a `routing.kb_evidence` hook (`app.wiring`) for routing previews and steps run alone."""
    now = clock.now()
    hits = knowledge_index.sync(session=session, now=now).search(
        text, limit=KB_UNIT_DEPTH, now=now, explain=False
    )
    return kb_unit_evidence((h.unit_code, h.score) for h in hits)


def _other_sources(ctx: PipelineContext) -> list[tuple[str, float]]:
    """KB evidence from the registered hooks other than the knowledge domain's own search (done above)."""
    found: list[tuple[str, float]] = []
    for hook in routing.kb_evidence:
        if hook is not kb_units:
            found.extend(hook(ctx.session, ctx.message.content))
    return found


def attach_suggestions(ctx: PipelineContext) -> None:
    """Sets `message.suggestions` (what operators see and replies cite, with the entry's version): the hits
    of `match` or, once the message has a unit, what a search preferring that unit gives, ranked again
    from the candidates `match` found (the evidence it worked out is reused)."""
    if ctx.kb_hits is None:
        match(ctx)
    hits: list[Hit] = ctx.kb_hits or []
    unit = ctx.message.unit_code
    pool = ctx.kb_pool
    if unit is None or not hits:
        ranked = hits
    elif pool is not None:
        known = {h.entry_id: (h.matched_terms, h.matched_field) for h in hits[:SUGGESTIONS]}
        ranked = _snapshot(ctx).rerank(
            pool, unit_code=unit, channel=ctx.message.platform, limit=SUGGESTIONS, now=ctx.now, known=known
        )
    else:  # a step before us left hits without a pool
        ranked = _snapshot(ctx).search(
            ctx.text,
            unit_code=unit,
            channel=ctx.message.platform,
            limit=SUGGESTIONS,
            now=ctx.now,
            normalised=True,
        )
    ctx.message.suggestions = [h.as_dict() for h in ranked[:SUGGESTIONS]]


# --------------------------------------------------------------------------------------------- routing


def _route(ctx: PipelineContext) -> None:
    """Routes the message (after moderation, before KB suggestions and the deadline). A message a person
    has already transferred keeps its unit. KB evidence: `ctx.kb_units` if an earlier step left it, else
    the registered `routing.kb_evidence` hooks. Routing's fallback unit is applied by routing itself."""
    message = ctx.message
    predicted, ctx.prepared_prediction = ctx.prepared_prediction, None
    if message.transfer_count:
        return
    setup = routing.current_setup(session=ctx.session)
    kb_units = ctx.kb_units
    if kb_units is None:
        kb_units = routing.kb_units_for(session=ctx.session, text=message.content)
    decision = setup.router.decide(
        message.content,
        account_unit=ctx.account.unit_code,
        account_id=ctx.account.id,
        kb_units=kb_units,
        normalised=ctx.text,
        predicted=predicted,
    )
    routing.apply_decision(message=message, decision=decision, setup=setup, account=ctx.account)
    ctx.routing = decision


def _prepare_route(contexts: list[PipelineContext]) -> None:
    """The learned model's predictions for the whole batch in one pass (when a model is in use)."""
    model = routing.current_setup(session=contexts[0].session).router.model
    if model is None:
        return
    pending = [c for c in contexts if not c.message.transfer_count]
    found = model.predict_many(
        [c.message.content for c in pending], normalised=[c.text for c in pending], limit=MODEL_CANDIDATES
    )
    for ctx, predicted in zip(pending, found, strict=True):
        ctx.prepared_prediction = predicted


route = Batched(run=_route, prepare=_prepare_route)


# -------------------------------------------------------------------------------- messages and deadline


def follow_up(ctx: PipelineContext) -> None:
    """A follow-up of an answered message goes to the unit that answered (`messages.followups`)."""
    link_follow_up(session=ctx.session, message=ctx.message)


def set_deadline(ctx: PipelineContext) -> None:
    """Sets due_at, the explanation and the SLA fields, counting from `received_at` (it needs the unit and
    the out-of-scope verdict); the due time stays on `ctx.deadline`."""
    apply_deadline(session=ctx.session, message=ctx.message, now=ctx.now)
    ctx.deadline = ctx.message.due_at


def _index_for_search(ctx: PipelineContext) -> None:
    """The message's keyword-search terms (GET /messages?q=)."""
    if not ctx.search_indexed:
        index_message(session=ctx.session, message=ctx.message)


def _prepare_index(contexts: list[PipelineContext]) -> None:
    """Every message's search terms, segmented first and then written by one statement: on SQLite the
    batch's first write takes the database's one write lock until the batch commits, and ingest in the
    API process waits for it, so the segmenting (the step's CPU work) is done before that."""
    index_messages(session=contexts[0].session, messages=[ctx.message for ctx in contexts])
    for ctx in contexts:
        ctx.search_indexed = True


index_for_search = Batched(run=_index_for_search, prepare=_prepare_index)


def default_steps() -> list[tuple[str, Step]]:
    """The production steps, in order: the one place the intake flow is wired."""
    return [
        ("moderation", moderate),
        ("kb-match", match),  # before routing: confident KB hits are evidence for the router
        ("routing", route),
        ("follow-up", follow_up),  # after routing: a follow-up goes to the unit that answered
        ("kb-suggestions", attach_suggestions),
        ("deadline", set_deadline),
        # Keyword search terms (GET /messages?q=): before the alerts, the first steps that write, so that
        # on SQLite the batch holds the write lock only for the writes at its end.
        ("search-index", index_for_search),
        ("sensitive-alert", alert_sensitive),  # after the deadline: the alert names the unit and due time
        ("content-hold", hold_and_alert),  # illegal content out of the queue as evidence; rumours checked
    ]
