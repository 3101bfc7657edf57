"""SLA tables and API shapes: the escalation settings (due-soon rule, working hours, the ladder) and
a message's deadline with its notifications."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any, Literal

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Integer
from sqlmodel import Field, SQLModel

from app.calendar.workdays import WORKING_HOURS_END, WORKING_HOURS_START
from app.db import JSONType, UTCDateTime
from app.notifications.models import RESERVED_STEPS, NotificationPublic

NotifyTarget = Literal["unit", "leaders", "supervisor"]
StepTrigger = Literal["due_soon", "overdue"]
DueSoonPolicy = Literal["due_day_start", "hours_before", "working_days_before"]
STEP_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


# ---------------------------------------------------------------- escalation settings


class LadderStep(SQLModel):
    """One rung of the escalation ladder."""

    name: str = Field(
        schema_extra={"pattern": STEP_NAME_PATTERN, "examples": ["breach"]},
        description="步骤名（每条留言每个步骤只发送一次）",
    )
    at: StepTrigger = Field(description="due_soon 临期 / overdue 超期")
    after_working_days: int = Field(
        default=0, ge=0, le=30, description="触发后再过几个工作日（0 = 触发时；1 = 次一个工作日结束仍未答复）"
    )
    notify: NotifyTarget = Field(
        description="unit 承办单位 / leaders 承办单位负责人 / supervisor 主管（督办）单位"
    )
    escalation_level: int | None = Field(
        default=None, ge=1, le=9, description="到达此步时把督办级别提高到该值"
    )
    urgent: bool = Field(default=False, description="标题加【紧急】")
    working_hours_only: bool = Field(default=True, description="只在工作时间发送（敏感留言除外，立即发送）")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(STEP_NAME_PATTERN, value):
            raise ValueError("步骤名只能用小写字母、数字和下划线，以字母开头，最长32个字符")
        if value in RESERVED_STEPS:
            raise ValueError(f"步骤名 {value} 为系统保留")
        return value


DEFAULT_LADDER: tuple[LadderStep, ...] = (
    LadderStep(name="due_soon", at="due_soon", notify="unit"),
    LadderStep(name="breach", at="overdue", notify="leaders", urgent=True),
    LadderStep(
        name="supervisor",
        at="overdue",
        after_working_days=1,
        notify="supervisor",
        escalation_level=1,
        urgent=True,
    ),
)


class SlaSettings(SQLModel):
    """How deadlines are watched: when `due_soon` starts, working hours for routine notices, the ladder."""

    due_soon_policy: DueSoonPolicy = Field(
        default="due_day_start",
        description="due_day_start 截止日 00:00 起临期；hours_before 截止前若干小时；working_days_before 截止前若干工作日",
    )
    due_soon_hours: float | None = Field(default=None, ge=0, le=720)
    due_soon_working_days: int = Field(default=1, ge=0, le=30)
    work_start: time = Field(default=WORKING_HOURS_START, description="例行提醒的工作时间（本地时间）开始")
    work_end: time = Field(default=WORKING_HOURS_END)
    wechat_alert_hours: float = Field(
        default=6, gt=0, lt=48, description="微信私信48小时回复窗口关闭前多少小时提醒"
    )
    max_attempts: int = Field(default=8, ge=1, le=50, description="发送失败的最多尝试次数")
    sensitive_unit_code: str | None = Field(
        default=None, max_length=64, description="敏感留言立即提醒的督办单位；为空则用承办单位的主管单位"
    )
    ladder: list[LadderStep] = Field(default_factory=lambda: [s.model_copy() for s in DEFAULT_LADDER])

    @field_validator("work_start", "work_end")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("工作时间为本地时间，不能带时区，例如 08:30")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SlaSettings:
        if self.work_start >= self.work_end:
            raise ValueError("work_start 必须早于 work_end")
        if self.due_soon_policy == "hours_before" and self.due_soon_hours is None:
            raise ValueError("due_soon_policy=hours_before 需要 due_soon_hours")
        names = [s.name for s in self.ladder]
        if len(names) != len(set(names)):
            raise ValueError("督办步骤名不能重复")
        if len(names) > 10:
            raise ValueError("督办步骤最多10个")
        return self


class SlaConfig(SQLModel, table=True):
    """The stored `SlaSettings` (one row); without it the defaults apply."""

    __tablename__ = "sla_config"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    data: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class MessageDeadlinePublic(SQLModel):
    message_id: int
    unit_code: str | None
    working_days: int | None
    due_at: datetime | None
    provisional: bool
    sla_state: str | None
    due_soon_at: datetime | None
    next_check_at: datetime | None
    escalation_level: int
    first_replied_at: datetime | None
    platform_window_closes_at: datetime | None
    basis: dict[str, Any] | None
    notifications: list[NotificationPublic]
