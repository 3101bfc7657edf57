"""Users, their roles, API tokens and sign-in sessions (only hashes of tokens and passwords are stored)."""

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
    username: str | None = Field(
        default=None,
        min_length=3,
        max_length=64,
        regex=r"^[A-Za-z0-9_.@-]+$",
        description="登录用户名（字母、数字、_.@-）；不填则只能用访问令牌",
        schema_extra={"examples": ["zhangsan"]},
    )
    password: str | None = Field(
        default=None, max_length=128, description="初始密码（只写，不回显；须满足复杂度要求）"
    )


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(sa_column=Column(String(16), nullable=False))  # type: ignore[assignment]
    unit_code: str | None = Field(
        default=None, sa_column=Column(String(64), ForeignKey("units.code"), nullable=True, index=True)
    )
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    username: str | None = Field(
        default=None, sa_column=Column(String(64), unique=True, index=True, nullable=True)
    )
    # argon2id encoded hash (parameters and salt inside); never the password itself.
    password_hash: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserPublic(UserBase):
    id: int
    username: str | None = None
    active: bool
    locked_until: datetime | None = None
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


class UserSession(SQLModel, table=True):
    """A browser sign-in: the cookie carries a random token, this row only its SHA-256."""

    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginRequest(SQLModel):
    username: str = Field(min_length=1, max_length=64, schema_extra={"examples": ["zhangsan"]})
    password: str = Field(min_length=1, max_length=128)


class LoginResult(SQLModel):
    user_id: int
    name: str
    role: str
    unit_code: str | None
    csrf_token: str = Field(description="以 Cookie 登录后，每个修改请求须在请求头 X-CSRF-Token 中带上")
    expires_at: datetime


class PasswordChange(SQLModel):
    old_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class PasswordReset(SQLModel):
    password: str = Field(min_length=1, max_length=128, description="新密码（只写）")
    username: str | None = Field(
        default=None, min_length=3, max_length=64, regex=r"^[A-Za-z0-9_.@-]+$", description="同时设置用户名"
    )
