"""Every router of the service, mounted in one place."""

from __future__ import annotations

from fastapi import FastAPI

from app.accounts.api import router as accounts
from app.audit.api import router as audit
from app.messages.api import pipeline_router
from app.messages.api import router as messages
from app.ops.api import router as ops
from app.replies.api import router as replies
from app.units.api import router as units
from app.users.api import router as users


def include_routers(app: FastAPI, prefix: str) -> None:
    app.include_router(ops)
    for router in (units, accounts, messages, pipeline_router, users, audit, replies):
        app.include_router(router, prefix=prefix)
