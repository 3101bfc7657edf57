"""Pipeline steps of the knowledge base: `match` (before routing: one search, whose confident hits are
evidence for the router) and `attach_suggestions` (after routing: the suggestions shown with the message,
the routed unit's entries preferred, ranked again from the candidates of that one search)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.knowledge.index import Hit, Snapshot, knowledge_index
from app.messages.pipeline import PipelineContext
from app.routing.engine import KB_UNIT_DEPTH, kb_unit_evidence

if TYPE_CHECKING:
    from kb.index import Pool

SUGGESTIONS = 3  # shown with a message
_BATCH_KEY = "knowledge.snapshot"
_PREPARED_KEY = "kb_search_prepared"
_POOL_KEY = "kb_pool"


def snapshot(ctx: PipelineContext) -> Snapshot:
    """The index for this batch: checked against the database once per batch."""
    found: Snapshot | None = ctx.batch.get(_BATCH_KEY)
    if found is None:
        found = knowledge_index.sync(session=ctx.session, now=ctx.now)
        ctx.batch[_BATCH_KEY] = found
    return found


def match(ctx: PipelineContext) -> None:
    """Searches the KB once: `ctx.scratch["kb_hits"]` (best first), the candidate pool for the routed unit's
    preference, and, for the router, `ctx.scratch["kb_units"]` = the unit the top hits agree on
    (`app.routing.engine.kb_unit_evidence`)."""
    prepared: tuple[list[Hit], Pool | None] | None = ctx.scratch.pop(_PREPARED_KEY, None)
    if prepared is None:
        pools: list[Pool | None] = []
        prepared = (_search(ctx, [ctx], pools)[0], pools[0])
    hits, ctx.scratch[_POOL_KEY] = prepared
    ctx.scratch["kb_hits"] = hits
    evidence = kb_unit_evidence((h.unit_code, h.score) for h in hits)
    # The router reads only this list once it exists: evidence an earlier step left and that of other
    # registered sources stay beside ours (ours comes from these hits, not from a second search).
    ctx.scratch["kb_units"] = [*ctx.scratch.get("kb_units", []), *evidence, *_other_sources(ctx)]


def _search(
    ctx: PipelineContext, contexts: list[PipelineContext], pools: list[Pool | None]
) -> list[list[Hit]]:
    """The hits the router weighs (the shown ones explained), and the pools, of `contexts`' messages."""
    return snapshot(ctx).search_many(
        [c.text for c in contexts],
        channels=[c.message.platform for c in contexts],
        limit=max(KB_UNIT_DEPTH, SUGGESTIONS),
        now=ctx.now,
        explain=SUGGESTIONS,
        normalised=True,
        pools=pools,
    )


def prepare_match(contexts: list[PipelineContext]) -> None:
    """One batched search for every message of the batch (a fraction of one search per message)."""
    pools: list[Pool | None] = []
    found = _search(contexts[0], contexts, pools)
    for ctx, hits, pool in zip(contexts, found, pools, strict=True):
        ctx.scratch[_PREPARED_KEY] = (hits, pool)


match.prepare = prepare_match  # type: ignore[attr-defined]


def _other_sources(ctx: PipelineContext) -> list[tuple[str, float]]:
    from app.knowledge.hooks import kb_units
    from app.routing.service import kb_evidence

    found: list[tuple[str, float]] = []
    for hook in kb_evidence:
        if hook is not kb_units:
            found.extend(hook(ctx.session, ctx.message.content))
    return found


def attach_suggestions(ctx: PipelineContext) -> None:
    """Sets `message.suggestions` (what operators see and replies cite, with the entry's version): the hits
    of `match` or, once the message has a unit, what a search preferring that unit gives, ranked again
    from the candidates `match` found (the evidence it worked out is reused)."""
    if "kb_hits" not in ctx.scratch:
        match(ctx)
    hits: list[Hit] = ctx.scratch["kb_hits"]
    unit = ctx.message.unit_code
    pool: Pool | None = ctx.scratch.get(_POOL_KEY)
    if unit is None or not hits:
        ranked = hits
    elif pool is not None:
        known = {h.entry_id: (h.matched_terms, h.matched_field) for h in hits[:SUGGESTIONS]}
        ranked = snapshot(ctx).rerank(
            pool, unit_code=unit, channel=ctx.message.platform, limit=SUGGESTIONS, now=ctx.now, known=known
        )
    else:  # a step before us left hits without a pool
        ranked = snapshot(ctx).search(
            ctx.text,
            unit_code=unit,
            channel=ctx.message.platform,
            limit=SUGGESTIONS,
            now=ctx.now,
            normalised=True,
        )
    ctx.message.suggestions = [h.as_dict() for h in ranked[:SUGGESTIONS]]
