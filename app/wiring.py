"""What one domain lends another through the other's hook lists, installed once at start-up by every entry
point (`app.main.create_app`, `app.worker`, `app.cli.main`) — never as a side effect of an import.

Installed here: the knowledge base's draft consistency check (`app.replies.service.draft_checks`), the
KB evidence for routing (`app.routing.service.kb_evidence`, the intake's rule over the KB's matches), and
the inbox's notice feeds of the domains (`app.notifications.inbox.register_feed`: hot-topic alerts from
the reports, zombie-account flags from the registry)."""

from __future__ import annotations

from app.intake.steps import kb_units
from app.knowledge.consistency import check_draft
from app.notifications.inbox import register_feed
from app.registry.inbox_feed import ZOMBIE_FEED
from app.replies.service import draft_checks
from app.reports.inbox_feed import TOPIC_FEED
from app.routing.service import kb_evidence


def install() -> None:
    """Installs every cross-domain hook (idempotent)."""
    if check_draft not in draft_checks:
        draft_checks.append(check_draft)
    if kb_units not in kb_evidence:
        kb_evidence.append(kb_units)
    for feed in (TOPIC_FEED, ZOMBIE_FEED):
        register_feed(feed)
