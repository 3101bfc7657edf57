"""The audit log: append-only record of every state change — who, when, what, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from app.db import JSONType, UTCDateTime


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, description="用户ID；系统任务为空")
    actor_name: str = Field(max_length=64)
    action: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    unit_code: str | None = Field(default=None, max_length=64, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    note: str | None = Field(default=None, max_length=500)


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    entity_type: str
    entity_id: str
    unit_code: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None
