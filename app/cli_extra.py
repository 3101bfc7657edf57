"""Sub-commands that belong to single domains (imports, routing training …), registered in one place."""

from __future__ import annotations

from typing import Any

from app.channels.cli import register as channels
from app.knowledge.cli import register as knowledge
from app.messages.search import register_cli as messages
from app.replies.cli import register as replies
from app.routing.cli import register as routing
from app.sla.cli import register as sla


def register(sub: Any) -> None:
    """Adds the domains' sub-commands to the `huiying` parser."""
    replies(sub)
    sla(sub)
    channels(sub)
    routing(sub)
    knowledge(sub)
    messages(sub)
