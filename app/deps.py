"""Typed FastAPI dependencies: the request's database session and the calling principal.

They are `async` on purpose: a sync dependency costs a thread-pool hop per request, and none of
these does blocking work on the hot path (a session connects lazily; a principal comes from the
token cache, and only a cache miss queries the database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth import Principal, authenticate
from app.config import Settings, get_settings
from app.db import get_engine

bearer = HTTPBearer(auto_error=False, description="在 Authorize 中填入访问令牌（不含 Bearer 前缀）")


async def get_db() -> AsyncIterator[Session]:
    """One session per request."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


async def settings_dep() -> Settings:
    return get_settings()


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(settings_dep)]


async def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
    return authenticate(session, header, cache_ttl=settings.token_cache_seconds)


CurrentUser = Annotated[Principal, Depends(get_principal)]
