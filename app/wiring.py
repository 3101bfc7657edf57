"""What one domain lends another through the other's hook lists, installed once at start-up by every entry
point (`app.main.create_app`, `app.worker`, `app.cli.main`) — never as a side effect of an import.

Installed here: the knowledge base's draft consistency check (`app.replies.service.draft_checks`) and the
KB evidence for routing (`app.routing.service.kb_evidence`, the intake's rule over the KB's matches); how
the channels link an echo to its reply (`app.replies.echoes.LINKS` into `app.channels.echoes`); what the
registry's zombie check does with its findings (`app.supervision.rectification.ZOMBIE_FOLLOW_UP` into
`app.registry.zombie`); the unit report's figures for the supervision bulletin
(`app.reports.bulletin.unit_figures` into `app.supervision.inspections`); the inbox's notice feeds of the
domains (`app.notifications.inbox.register_feed`: hot-topic alerts from the reports, zombie-account flags
from the registry)."""

from __future__ import annotations

from app.channels import echoes as channel_echoes
from app.intake.steps import kb_units
from app.knowledge.consistency import check_draft
from app.notifications.inbox import register_feed
from app.registry import zombie
from app.registry.inbox_feed import ZOMBIE_FEED
from app.replies import echoes as reply_echoes
from app.replies.service import draft_checks
from app.reports import bulletin
from app.reports.inbox_feed import TOPIC_FEED
from app.routing.service import kb_evidence
from app.supervision import inspections, rectification


def install() -> None:
    """Installs every cross-domain hook (idempotent)."""
    if check_draft not in draft_checks:
        draft_checks.append(check_draft)
    if kb_units not in kb_evidence:
        kb_evidence.append(kb_units)
    channel_echoes.install(reply_echoes.LINKS)
    zombie.install(rectification.ZOMBIE_FOLLOW_UP)
    inspections.install(bulletin.unit_figures)
    for feed in (TOPIC_FEED, ZOMBIE_FEED):
        register_feed(feed)
