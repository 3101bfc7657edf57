"""What a step sees and leaves for the steps after it: one typed field per result, not a dict of strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlmodel import Session

from app.accounts.models import Account
from app.config import Settings
from app.messages.models import Message
from kb.normalise import normalise

if TYPE_CHECKING:
    from app.knowledge.index import Hit, Snapshot
    from app.moderation.check import ModerationResult
    from app.routing.engine import RoutingDecision
    from kb.index import Pool


@dataclass
class BatchState:
    """Shared by every message of one batch: what a step computes once per batch."""

    kb_snapshot: Snapshot | None = None  # the KB index, checked against the database once per batch


@dataclass
class PipelineContext:
    """What a step sees: the message (changes to it are saved), its account, the time, the settings, and
    the results the earlier steps left for the later ones."""

    session: Session
    message: Message
    account: Account
    now: datetime
    settings: Settings
    batch: BatchState = field(default_factory=BatchState)

    # Left by moderation: the verdict (content hold reuses it instead of checking again).
    moderation: ModerationResult | None = None
    # Left by the KB match: the hits (best first), the candidate pool for the routed unit's re-ranking,
    # and the (unit_code, score) evidence the router weighs. `kb_units` may also be set by an earlier step.
    kb_hits: list[Hit] | None = None
    kb_pool: Pool | None = None
    kb_units: list[tuple[str, float]] | None = None
    # Left by routing: its decision (before the fallback unit is applied).
    routing: RoutingDecision | None = None
    # Left by the deadline step: the due time it set.
    deadline: datetime | None = None

    # Batch `prepare` results a step consumes for this message (None: the step works it out alone).
    prepared_kb: tuple[list[Hit], Pool | None] | None = None
    prepared_prediction: list[tuple[str, float]] | None = None
    search_indexed: bool = False

    @cached_property
    def text(self) -> str:
        """The message normalised once for every step (Traditional→Simplified, full-width, noise)."""
        return normalise(self.message.content)
