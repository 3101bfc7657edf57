"""Pipeline steps of moderation: flag a message (abuse, sensitivity, spam, illegal content, rumours,
personal data) before it is routed; once its unit and deadline are known, alert the supervising office
about a sensitive one, hold illegal and harmful content as evidence (out of the queue, leaders and the
supervising office alerted at once) and send a rumour to the information office."""

from __future__ import annotations

from typing import Any

from app.messages.pipeline import PipelineContext
from app.moderation import service
from app.moderation.check import ABUSE
from app.sla.service import prohibited_alert, rumour_alert, sensitive_alert

ABUSIVE = "abusive"
SENSITIVE = "sensitive"
SPAM = "spam"
PII = "pii"
INTENSE = "intense"
PROHIBITED = "prohibited"
RUMOUR_CHECK = "rumour_check"
FLAGS = frozenset({ABUSIVE, SENSITIVE, SPAM, PII, INTENSE, PROHIBITED, RUMOUR_CHECK})


def moderate(ctx: PipelineContext) -> None:
    """Sets the moderation flags and `message.moderation` (the lexicon hits and the kinds of personal
    data — never the personal data itself); counts an abusive message against its author."""
    message = ctx.message
    current = service.current_lexicon(session=ctx.session)
    result = service.check_text(session=ctx.session, text=message.content, normalised=ctx.text)
    before = list(message.flags or [])
    # Other domains' flags (e.g. out_of_scope) stay; ours are replaced by this verdict.
    message.flags = [f for f in before if f not in FLAGS] + result.flags
    pii_kinds = sorted({span.kind for span in result.pii})
    summary: dict[str, Any] = {
        "hits": [
            {"kind": h.kind, "term": h.term, "category": h.category, **({"why": h.why} if h.why else {})}
            for h in result.hits
        ],
        "pii": pii_kinds,
        "lexicon_version": current.version,
    }
    message.moderation = summary
    ctx.scratch["moderation"] = result
    if result.abusive and ABUSIVE not in before:
        terms = [h.term for h in result.hits if h.kind == ABUSE]
        service.record_offence(session=ctx.session, message=message, terms=terms, at=ctx.now)


def alert_sensitive(ctx: PipelineContext) -> None:
    """Raises the immediate alert to the supervising office for a sensitive message (once per message).
    Runs after routing and the deadline, so the alert names the responsible unit and the due time."""
    if SENSITIVE not in (ctx.message.flags or []):
        return
    sensitive_alert(session=ctx.session, message=ctx.message, now=ctx.now)


def hold_and_alert(ctx: PipelineContext) -> None:
    """Illegal and harmful content: hidden from the queue, kept as evidence, the unit's leaders and the
    supervising office alerted. A rumour to check: the information office alerted. Once per message."""
    flags = ctx.message.flags or []
    if PROHIBITED in flags:
        result = ctx.scratch.get("moderation")
        if result is None:
            result = service.check_text(session=ctx.session, text=ctx.message.content, normalised=ctx.text)
        service.hold_prohibited(session=ctx.session, message=ctx.message, result=result, at=ctx.now)
        prohibited_alert(session=ctx.session, message=ctx.message, now=ctx.now)
    elif RUMOUR_CHECK in flags:
        rumour_alert(session=ctx.session, message=ctx.message, now=ctx.now)
