"""Typed FastAPI dependencies: the request's database session and the calling principal.

They are `async` on purpose: a sync dependency costs a thread-pool hop per request, and none of
these does blocking work on the hot path (a session connects lazily; a principal comes from the
token cache, and only a cache miss queries the database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth import CSRF_HEADER, SESSION_COOKIE, Principal, authenticate, authenticate_session
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


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _principal(
    request: Request,
    session: Session,
    settings: Settings,
    credentials: HTTPAuthorizationCredentials | None,
    *,
    allow_initial_password: bool,
) -> Principal:
    """A bearer token when one is sent (API clients: no CSRF, no cookie); else the sign-in cookie, whose
    state-changing requests must carry the session's CSRF token."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if credentials is None and cookie:
        return authenticate_session(
            session=session,
            settings=settings,
            token=cookie,
            csrf=request.headers.get(CSRF_HEADER),
            changes_state=request.method not in SAFE_METHODS,
            allow_initial_password=allow_initial_password,
        )
    header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
    return authenticate(session, header, cache_ttl=settings.token_cache_seconds)


async def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller; a signed-in user who must still replace an initial password gets 403."""
    return _principal(request, session, settings, credentials, allow_initial_password=False)


async def get_principal_with_initial_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, even one who must still replace an initial password (changing it, signing out, /me)."""
    return _principal(request, session, settings, credentials, allow_initial_password=True)


CurrentUser = Annotated[Principal, Depends(get_principal)]
SigningInUser = Annotated[Principal, Depends(get_principal_with_initial_password)]
