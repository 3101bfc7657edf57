"""Typed FastAPI dependencies: the request's database session and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth import Principal, authenticate
from app.config import Settings, get_settings
from app.db import get_db

bearer = HTTPBearer(auto_error=False, description="在 Authorize 中填入访问令牌（不含 Bearer 前缀）")

SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
    return authenticate(session, header, cache_ttl=settings.token_cache_seconds)


CurrentUser = Annotated[Principal, Depends(get_principal)]
