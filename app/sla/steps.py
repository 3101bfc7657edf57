"""Pipeline step: the deadline, last of the steps (it needs the unit and the out-of-scope verdict)."""

from __future__ import annotations

from app.messages.pipeline import PipelineContext
from app.sla.service import apply_deadline


def set_deadline(ctx: PipelineContext) -> None:
    """Sets due_at, the explanation and the SLA fields, counting from `received_at`."""
    apply_deadline(session=ctx.session, message=ctx.message, now=ctx.now)
