"""Units (单位): a tree of government departments; each may name a supervisor unit that escalations go to.
The table is defined below authentication, in `app.identity`, and importable from here too."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.identity import CODE_PATTERN as CODE_PATTERN
from app.identity import Unit as Unit
from app.identity import UnitBase


class UnitCreate(UnitBase):
    parent_code: str | None = Field(default=None, description="上级单位代码")
    supervisor_code: str | None = Field(default=None, description="主管（督办）单位代码")


class UnitUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    keywords: list[str] | None = None
    parent_code: str | None = None
    supervisor_code: str | None = None
    reply_working_days: int | None = Field(default=None, ge=1, le=15, description="答复时限（1–15个工作日）")


class UnitPublic(UnitBase):
    id: int
    parent_code: str | None
    supervisor_code: str | None
    created_at: datetime
    updated_at: datetime
