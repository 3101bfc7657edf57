"""Pipeline steps of the knowledge base: `match` (before routing: one search, whose confident hits are
evidence for the router) and `attach_suggestions` (after routing: the suggestions shown with the message,
the routed unit's entries preferred)."""

from __future__ import annotations

from app.knowledge.index import Hit, Snapshot, knowledge_index
from app.messages.pipeline import PipelineContext
from app.routing.engine import kb_unit_evidence

SUGGESTIONS = 3  # shown with a message
# Searched and explained once: the shown ones and the runner-up, so that the routed unit's boost can be
# applied without searching again (explaining a hit costs about as much as a tenth of the search).
DEPTH = SUGGESTIONS + 1
_BATCH_KEY = "knowledge.snapshot"
_PREPARED_KEY = "kb_hits_prepared"
_RESEARCHED_KEY = "kb_suggestions_prepared"


def snapshot(ctx: PipelineContext) -> Snapshot:
    """The index for this batch: checked against the database once per batch."""
    found: Snapshot | None = ctx.batch.get(_BATCH_KEY)
    if found is None:
        found = knowledge_index.sync(session=ctx.session, now=ctx.now)
        ctx.batch[_BATCH_KEY] = found
    return found


def match(ctx: PipelineContext) -> None:
    """Searches the KB once: `ctx.scratch["kb_hits"]` (best first) and, for the router,
    `ctx.scratch["kb_units"]` = the unit the top hits agree on (`app.routing.engine.kb_unit_evidence`)."""
    hits: list[Hit] | None = ctx.scratch.pop(_PREPARED_KEY, None)
    if hits is None:
        hits = snapshot(ctx).search(
            ctx.text,
            channel=ctx.message.platform,
            limit=DEPTH,
            now=ctx.now,
            explain=SUGGESTIONS,
            normalised=True,
        )
    ctx.scratch["kb_hits"] = hits
    evidence = kb_unit_evidence((h.unit_code, h.score) for h in hits)
    # The router reads only this list once it exists: evidence an earlier step left and that of other
    # registered sources stay beside ours (ours comes from these hits, not from a second search).
    ctx.scratch["kb_units"] = [*ctx.scratch.get("kb_units", []), *evidence, *_other_sources(ctx)]


def prepare_match(contexts: list[PipelineContext]) -> None:
    """One batched search for every message of the batch (a fraction of one search per message)."""
    first = contexts[0]
    found = snapshot(first).search_many(
        [c.text for c in contexts],
        channels=[c.message.platform for c in contexts],
        limit=DEPTH,
        now=first.now,
        explain=SUGGESTIONS,
        normalised=True,
    )
    for ctx, hits in zip(contexts, found, strict=True):
        ctx.scratch[_PREPARED_KEY] = hits


match.prepare = prepare_match  # type: ignore[attr-defined]


def _other_sources(ctx: PipelineContext) -> list[tuple[str, float]]:
    from app.knowledge.hooks import kb_units
    from app.routing.service import kb_evidence

    found: list[tuple[str, float]] = []
    for hook in kb_evidence:
        if hook is not kb_units:
            found.extend(hook(ctx.session, ctx.message.content))
    return found


def boosted(hits: list[Hit], unit_code: str | None, *, keep: int = SUGGESTIONS) -> tuple[list[Hit], bool]:
    """`hits` with the unit's scores multiplied as the engine does it, re-ranked, and whether that changed
    the first `keep`. Confidence is judged again on the new scores (only for the engine's own best match)."""
    if unit_code is None or not any(h.unit_code == unit_code for h in hits):
        return hits, False
    from kb.index import CONFIDENT_RATIO, CONFIDENT_SCORE, UNIT_BOOST

    def score(hit: Hit) -> float:
        return round(min(1.0, hit.score * UNIT_BOOST), 4) if hit.unit_code == unit_code else hit.score

    ranked = sorted(hits, key=lambda h: (-score(h), h.entry_id))
    shown = max(keep, 2)  # the runner-up decides confidence
    if [h.entry_id for h in ranked[:shown]] != [h.entry_id for h in hits[:shown]]:
        return ranked, True
    first = score(ranked[0])
    second = score(ranked[1]) if len(ranked) > 1 else 0.0
    confident = ranked[0].top and first >= CONFIDENT_SCORE and first >= CONFIDENT_RATIO * second
    out = [
        Hit(
            entry_id=h.entry_id,
            version=h.version,
            question=h.question,
            answer=h.answer,
            unit_code=h.unit_code,
            score=score(h),
            confident=confident and i == 0,
            matched_terms=h.matched_terms,
            matched_field=h.matched_field,
            top=h.top,
        )
        for i, h in enumerate(ranked)
    ]
    return out, False


def attach_suggestions(ctx: PipelineContext) -> None:
    """Sets `message.suggestions` (what operators see and replies cite, with the entry's version) from
    the hits of `match`, the routed unit preferred; searches again only if that preference reorders them."""
    ranked: list[Hit] | None = ctx.scratch.pop(_RESEARCHED_KEY, None)
    if ranked is None:
        hits: list[Hit] | None = ctx.scratch.get("kb_hits")
        if hits is None:
            match(ctx)
            hits = ctx.scratch["kb_hits"]
        unit = ctx.message.unit_code
        ranked, reordered = boosted(hits, unit)
        if reordered:
            ranked = snapshot(ctx).search(
                ctx.text,
                unit_code=unit,
                channel=ctx.message.platform,
                limit=SUGGESTIONS,
                now=ctx.now,
                normalised=True,
            )
    ctx.message.suggestions = [h.as_dict() for h in ranked[:SUGGESTIONS]]


def prepare_suggestions(contexts: list[PipelineContext]) -> None:
    """The routed unit's preference for the whole batch (routing has run): the messages whose shown hits
    it reorders are searched again together, in one batched pass."""
    again: list[PipelineContext] = []
    for ctx in contexts:
        hits: list[Hit] | None = ctx.scratch.get("kb_hits")
        if hits is None:
            continue
        ranked, reordered = boosted(hits, ctx.message.unit_code)
        if reordered:
            again.append(ctx)
        else:
            ctx.scratch[_RESEARCHED_KEY] = ranked
    if not again:
        return
    found = snapshot(contexts[0]).search_many(
        [c.text for c in again],
        unit_codes=[c.message.unit_code for c in again],
        channels=[c.message.platform for c in again],
        limit=SUGGESTIONS,
        now=contexts[0].now,
        normalised=True,
    )
    for ctx, hits in zip(again, found, strict=True):
        ctx.scratch[_RESEARCHED_KEY] = hits


attach_suggestions.prepare = prepare_suggestions  # type: ignore[attr-defined]
