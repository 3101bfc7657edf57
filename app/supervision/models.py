"""Supervision tables: notices to units and the supervising office (sent through the units' notification
channels), rectification records (整改: zombie accounts, unanswered messages, inspection findings), deadline
extensions (延期) and inspection rounds (通报 bulletins and 抽查 sampling)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.bounds import BoundedDate
from app.db import JSONType, UTCDateTime


class NoticeState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"  # no channel configured: the notice stays on record, nobody was reached


class SupervisionNotice(SQLModel, table=True):
    """One notice to a unit or to the supervising office, recorded once (dedupe key), then delivered to
    the unit's notification channels with retries."""

    __tablename__ = "supervision_notices"
    __table_args__ = (Index("ix_supervision_notices_state_next", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    kind: str = Field(max_length=32, description="zombie_warning / zombie_notice / zombie_escalation / ...")
    unit_code: str = Field(max_length=64, index=True)
    target: str = Field(default="unit", max_length=16, description="unit / leaders / supervisor")
    title: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    urgent: bool = False
    state: str = Field(default=NoticeState.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    deliveries: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    detail: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SupervisionNoticePublic(SQLModel):
    id: int
    kind: str
    unit_code: str
    target: str
    title: str
    text: str
    state: str
    attempts: int
    detail: str | None
    created_at: datetime
    sent_at: datetime | None


class RectificationSource(StrEnum):
    zombie = "zombie"  # not updated (僵尸)
    inspection = "inspection"  # a finding of a sampling inspection (抽查)


class RectificationState(StrEnum):
    notified = "notified"  # the unit was told and must act
    rectified = "rectified"  # the unit acted (a post appeared / the unit reported what it did)
    escalated = "escalated"  # not rectified in time: the supervising office was told
    closed = "closed"  # the inspector checked the rectification and closed the finding


OPEN_RECTIFICATION = (RectificationState.notified.value, RectificationState.escalated.value)


class Rectification(SQLModel, table=True):
    """A 整改 record: what was found, whom it concerns, and its way to closure."""

    __tablename__ = "rectifications"
    __table_args__ = (Index("ix_rectifications_source_state", "source", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    unit_code: str = Field(sa_column=Column(String(64), ForeignKey("units.code"), nullable=False, index=True))
    account_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("accounts.id"), nullable=True, index=True)
    )
    message_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("messages.id"), nullable=True)
    )
    inspection_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("inspections.id"), nullable=True, index=True)
    )
    finding: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default=RectificationState.notified, max_length=16)
    due_on: BoundedDate | None = Field(default=None, description="整改期限（本地日期）")
    opened_at: datetime = Field(sa_type=UTCDateTime)
    rectified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rectified_note: str | None = Field(default=None, max_length=1000)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=64)
    created_by: str = Field(max_length=64)


class RectificationPublic(SQLModel):
    id: int
    source: str
    unit_code: str
    account_id: int | None
    message_id: int | None
    inspection_id: int | None
    finding: str
    state: str
    due_on: date | None
    opened_at: datetime
    rectified_at: datetime | None
    rectified_note: str | None
    escalated_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None


class RectifyRequest(SQLModel):
    note: str = Field(min_length=1, max_length=1000, description="整改情况说明")


class CloseFindingRequest(SQLModel):
    note: str | None = Field(default=None, max_length=1000, description="复核意见")


class ExtensionState(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class DeadlineExtension(SQLModel, table=True):
    """A request for more working days on one message (延期): the deadline changes only on approval."""

    __tablename__ = "deadline_extensions"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("messages.id"), nullable=False, index=True))
    unit_code: str = Field(max_length=64, index=True)
    working_days: int
    reason: str = Field(max_length=500)
    state: str = Field(default=ExtensionState.pending, max_length=16)
    requested_by: str = Field(max_length=64)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_note: str | None = Field(default=None, max_length=500)
    old_due_at: datetime = Field(sa_type=UTCDateTime)
    new_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ExtensionRequest(SQLModel):
    working_days: int = Field(ge=1, le=15, description="申请延长的工作日数（1–15）")
    reason: str = Field(min_length=2, max_length=500, description="延期理由（批准后作为截止时间变更的说明）")


class ExtensionDecision(SQLModel):
    note: str | None = Field(default=None, max_length=500, description="审批意见；驳回时必填")


class ExtensionPublic(SQLModel):
    id: int
    message_id: int
    unit_code: str
    working_days: int
    reason: str
    state: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    old_due_at: datetime
    new_due_at: datetime | None


class InspectionKind(StrEnum):
    bulletin = "bulletin"  # 通报
    sampling = "sampling"  # 抽查


class Inspection(SQLModel, table=True):
    """One inspection round: a bulletin (通报) of a period's figures, or a sampling inspection (抽查) with
    the messages and accounts checked; findings are rectification records."""

    __tablename__ = "inspections"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    period: str = Field(max_length=16, description="week / quarter / half")
    period_key: str = Field(max_length=16, description="2025-W12 / 2025-Q1 / 2025-H1")
    date_from: date
    date_to: date
    title: str = Field(max_length=200)
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    sampled: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    sent_to: str | None = Field(default=None, max_length=64, description="通报发送到的督办单位")
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class InspectionPublic(SQLModel):
    id: int
    kind: str
    period: str
    period_key: str
    date_from: date
    date_to: date
    title: str
    summary: dict[str, Any]
    sampled: dict[str, Any]
    sent_to: str | None
    created_by: str
    created_at: datetime


class BulletinCreate(SQLModel):
    period_key: str = Field(
        max_length=16,
        description="周期：2025-W12（周）、2025-Q1（季度）或 2025-H1（半年）",
        schema_extra={"examples": ["2025-Q1"]},
    )


class SamplingCreate(SQLModel):
    period_key: str = Field(
        max_length=16, description="抽查的周期（同通报）", schema_extra={"examples": ["2025-Q1"]}
    )
    messages: int = Field(default=10, ge=0, le=500, description="抽查留言数")
    accounts: int = Field(default=5, ge=0, le=200, description="抽查账号数")
    seed: int | None = Field(
        default=None, ge=0, le=2**31, description="随机种子：相同种子抽出相同样本，便于复核"
    )


class FindingCreate(SQLModel):
    finding: str = Field(min_length=2, max_length=2000, description="发现的问题")
    message_id: int | None = Field(default=None, description="涉及的抽查留言")
    account_id: int | None = Field(default=None, description="涉及的抽查账号")
    unit_code: str | None = Field(default=None, max_length=64, description="整改单位；为空取留言的承办单位")
    days: int = Field(default=10, ge=1, le=90, description="整改期限（天），未给 due_on 时使用")
    due_on: BoundedDate | None = Field(default=None, description="整改期限（本地日期）")
