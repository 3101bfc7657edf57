"""Users, their roles and API tokens (only a token's hash is stored)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    leader = "leader"
    reviewer = "reviewer"
    operator = "operator"
    auditor = "auditor"


# Roles that see only their own unit and its sub-units.
UNIT_SCOPED_ROLES = frozenset({Role.leader, Role.reviewer, Role.operator})


class UserBase(SQLModel):
    name: str = Field(min_length=1, max_length=64, schema_extra={"examples": ["张三"]})
    role: Role
    unit_code: str | None = Field(default=None, description="所属单位；leader/reviewer/operator 必填")


class UserCreate(UserBase):
    pass


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(sa_column=Column(String(16), nullable=False))  # type: ignore[assignment]
    unit_code: str | None = Field(
        default=None, sa_column=Column(String(64), ForeignKey("units.code"), nullable=True, index=True)
    )
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class UserPublic(UserBase):
    id: int
    active: bool
    created_at: datetime


class UserWithToken(UserPublic):
    token: str = Field(description="只显示这一次，请妥善保存")


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
