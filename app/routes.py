"""Every router of the service, mounted in one place."""

from __future__ import annotations

from fastapi import FastAPI

from app.accounts.api import router as accounts
from app.audit.api import router as audit
from app.channels.api import channels_router, imports_router, webhooks_router
from app.knowledge.api import router as knowledge
from app.messages.api import pipeline_router
from app.messages.api import router as messages
from app.moderation.api import router as moderation
from app.notifications.api import inbox_router as inbox
from app.notifications.api import router as notifications
from app.ops.api import router as ops
from app.ops.docs import router as docs
from app.registry.api import posts_router as account_posts
from app.registry.api import router as registry
from app.replies.api import router as replies
from app.reports.api import router as reports
from app.reports.board import router as board
from app.routing.api import messages_router as routing_messages
from app.routing.api import router as routing
from app.sla.api import router as calendar
from app.sla.api import sla_router
from app.supervision.api import extensions_router, posts_webhook_router
from app.supervision.api import router as supervision
from app.units.api import router as units
from app.users.api import auth_router
from app.users.api import router as users


def include_routers(app: FastAPI, prefix: str) -> None:
    app.include_router(ops)
    app.include_router(docs)
    app.include_router(board)
    for router in (
        webhooks_router,  # platform pushes: a hot path, matched first
        posts_webhook_router,
        units,
        accounts,
        messages,
        pipeline_router,
        users,
        auth_router,
        inbox,
        audit,
        replies,
        calendar,
        sla_router,
        notifications,
        registry,
        account_posts,
        reports,
        supervision,
        extensions_router,
        channels_router,
        imports_router,
        moderation,
        routing,
        routing_messages,
        knowledge,
    ):
        app.include_router(router, prefix=prefix)
