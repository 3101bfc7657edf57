"""Who the people and units are, as authentication reads them: roles, the unit tree's table and the tables
of users, their API tokens and sign-in sessions (only hashes of tokens and passwords are stored).

The request and response shapes built on them live with their domains (`app/units/models.py`,
`app/users/models.py`); these tables sit below them so that authentication needs neither domain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from app.config import DEFAULT_REPLY_WORKING_DAYS
from app.db import JSONType, UTCDateTime


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    leader = "leader"
    reviewer = "reviewer"
    operator = "operator"
    auditor = "auditor"


# Roles that see only their own unit and its sub-units.
UNIT_SCOPED_ROLES = frozenset({Role.leader, Role.reviewer, Role.operator})


CODE_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"


class UnitBase(SQLModel):
    code: str = Field(max_length=64, schema_extra={"pattern": CODE_PATTERN, "examples": ["xgaj"]})
    name: str = Field(min_length=1, max_length=128, schema_extra={"examples": ["县公安局"]})
    keywords: list[str] = Field(default_factory=list, schema_extra={"examples": [["身份证", "户口", "报警"]]})
    reply_working_days: int | None = Field(
        default=None,
        ge=1,
        le=15,
        description=f"该单位的答复时限（1–15个工作日），为空时用系统默认（{DEFAULT_REPLY_WORKING_DAYS}）；"
        f"修改会记入审计日志，报表注明非{DEFAULT_REPLY_WORKING_DAYS}天的时限",
    )

    @field_validator("keywords")
    @classmethod
    def _clean_keywords(cls, value: list[str]) -> list[str]:
        seen: dict[str, None] = {}
        for word in value:
            word = word.strip()
            if not word or len(word) > 64:
                raise ValueError("关键词不能为空且不超过64个字符")
            seen[word] = None
        return list(seen)


class Unit(UnitBase, table=True):
    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    parent_code: str | None = Field(
        default=None, sa_column=Column(String(64), ForeignKey("units.code"), nullable=True, index=True)
    )
    supervisor_code: str | None = Field(
        default=None, sa_column=Column(String(64), ForeignKey("units.code"), nullable=True)
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class UserBase(SQLModel):
    name: str = Field(min_length=1, max_length=64, schema_extra={"examples": ["张三"]})
    role: Role
    unit_code: str | None = Field(default=None, description="所属单位；leader/reviewer/operator 必填")


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
