"""What the knowledge base lends other domains through their hook lists: the draft consistency check
(replies) and KB evidence for routing previews. `install` is idempotent."""

from __future__ import annotations

from sqlmodel import Session

from app import clock
from app.knowledge.consistency import check_draft
from app.knowledge.index import knowledge_index
from app.routing.engine import KB_UNIT_DEPTH, kb_unit_evidence


def kb_units(session: Session, text: str) -> list[tuple[str, float]]:
    """(unit_code, score) of the unit the KB's top matches of `text` agree on (the pipeline's rule)."""
    now = clock.now()
    hits = knowledge_index.sync(session=session, now=now).search(
        text, limit=KB_UNIT_DEPTH, now=now, explain=False
    )
    return kb_unit_evidence((h.unit_code, h.score) for h in hits)


def install() -> None:
    from app.replies.service import draft_checks
    from app.routing.service import kb_evidence

    if check_draft not in draft_checks:
        draft_checks.append(check_draft)
    if kb_units not in kb_evidence:
        kb_evidence.append(kb_units)
