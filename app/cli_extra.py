"""Sub-commands that belong to single domains (imports, routing training …), registered in one place."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Adds the domains' sub-commands to the `huiying` parser."""
    _ = argparse  # domains add their commands here
    from app.replies.cli import register as replies

    replies(sub)
    from app.sla.cli import register as sla

    sla(sub)
    from app.channels.cli import register as channels

    channels(sub)
    from app.routing.cli import register as routing

    routing(sub)
    from app.knowledge.cli import register as knowledge

    knowledge(sub)
    from app.messages.search import register_cli as messages

    messages(sub)
