"""SLA tables and API shapes: calendar overrides and complete years, notification channels per unit,
the escalation settings, and one notification record per message and ladder step."""

from __future__ import annotations

import datetime as dt
import re
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, Literal

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import JSONType, UTCDateTime

DayKind = Literal["holiday", "workday"]
ChannelKind = Literal["wecom", "dingtalk", "webhook"]
# "all": every notice of the unit; "leaders": only notices addressed to the unit's leaders.
Audience = Literal["all", "leaders"]
NotifyTarget = Literal["unit", "leaders", "supervisor"]
StepTrigger = Literal["due_soon", "overdue"]
DueSoonPolicy = Literal["due_day_start", "hours_before", "working_days_before"]

# Steps outside the ladder, recorded in the same table (so they too are sent once).
SENSITIVE_STEP = "sensitive"
WINDOW_STEP = "wechat_window"
# Illegal and harmful content: one alert to the unit's leaders, one to the supervising office.
PROHIBITED_LEADERS_STEP = "prohibited_leaders"
PROHIBITED_SUPERVISOR_STEP = "prohibited_supervisor"
RUMOUR_STEP = "rumour_check"  # to the information office, to confirm or clarify
# Alerts about what a message says: sent even when the message is answered or closed (hidden) meanwhile.
CONTENT_ALERT_STEPS = frozenset(
    {SENSITIVE_STEP, PROHIBITED_LEADERS_STEP, PROHIBITED_SUPERVISOR_STEP, RUMOUR_STEP}
)
RESERVED_STEPS = CONTENT_ALERT_STEPS | {WINDOW_STEP}
STEP_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


# ---------------------------------------------------------------- calendar


class CalendarDay(SQLModel, table=True):
    """An administrator's override for one date; it wins over the official arrangement."""

    __tablename__ = "calendar_days"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_column=Column(Date, unique=True, nullable=False))
    kind: str = Field(max_length=16)
    note: str = Field(default="", max_length=200)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CalendarYear(SQLModel, table=True):
    """A year whose whole arrangement has been entered: its days without an override are plain
    Monday–Friday, no longer provisional."""

    __tablename__ = "calendar_years"

    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    note: str = Field(default="", max_length=200)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CalendarVersion(SQLModel, table=True):
    """One row, bumped with every calendar change, so each process knows when its cached calendar is stale."""

    __tablename__ = "calendar_version"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    version: int = 0
    # Random per change: a counter alone could repeat after the table is emptied and refilled.
    stamp: str = Field(default="", max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class DayPut(SQLModel):
    kind: DayKind = Field(
        description="holiday 放假 / workday 上班（调休）", schema_extra={"examples": ["holiday"]}
    )
    note: str = Field(default="", max_length=200, schema_extra={"examples": ["2027年春节"]})


class YearDay(DayPut):
    date: dt.date = Field(schema_extra={"examples": ["2027-02-06"]})


class YearPut(SQLModel):
    days: list[YearDay] = Field(
        description="这一年所有与“周一至周五上班”不同的日子（放假的工作日、调休上班的周末），"
        "以及需要标注的假日周末；替换该年原有的全部设置",
        max_length=366,
    )
    complete: bool = Field(
        default=True, description="true：该年放假安排已完整录入，其余日子按常规作息，不再是暂定"
    )
    note: str = Field(default="", max_length=200, schema_extra={"examples": ["国办发明电〔2026〕X号"]})

    @field_validator("days")
    @classmethod
    def _unique_days(cls, value: list[YearDay]) -> list[YearDay]:
        seen: set[date] = set()
        for item in value:
            if item.date in seen:
                raise ValueError(f"日期 {item.date.isoformat()} 重复")
            seen.add(item.date)
        return value


class CalendarDayPublic(SQLModel):
    date: dt.date
    weekday: str
    workday: bool
    source: str = Field(
        description="official 国务院安排 / override 管理员设置 / provisional 暂定 / standard 常规"
    )
    source_label: str
    name: str | None
    label: str
    note: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None


class CalendarYearPublic(SQLModel):
    year: int
    official: bool = Field(description="安装的 chinesecalendar 含该年国务院放假安排")
    complete: bool = Field(description="管理员已录入该年完整安排")
    provisional: bool = Field(
        description="该年未设置的日子为暂定：周末及法定节假日（元旦、春节除夕至初三、清明、劳动节、端午、中秋、国庆，含补休；农历节日按农历推算）"
    )
    days: list[CalendarDayPublic]


class CalendarChangePublic(SQLModel):
    day: CalendarDayPublic | None = None
    year: int | None = None
    overrides: int | None = None
    complete: bool | None = None
    recomputed: int = Field(description="受影响并重新计算了截止时间的未办结留言数")


class DeadlinePublic(SQLModel):
    due_at: datetime
    provisional: bool
    working_days: int
    basis: dict[str, Any] = Field(description="计算依据：计入与跳过的日子及其来源、文字说明")


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


# ---------------------------------------------------------------- channels


class ChannelBase(SQLModel):
    kind: ChannelKind = Field(
        description="wecom 企业微信群机器人 / dingtalk 钉钉群机器人 / webhook 通用签名 Webhook"
    )
    name: str = Field(min_length=1, max_length=64, schema_extra={"examples": ["县公安局办公群"]})
    audience: Audience = Field(
        default="all", description="all：本单位所有提醒；leaders：只接收发给单位负责人的提醒（超期）"
    )


class ChannelCreate(ChannelBase):
    unit_code: str = Field(max_length=64)
    url: str = Field(
        min_length=8,
        max_length=1000,
        description="机器人 Webhook 地址（含 key / access_token），只写不读",
        schema_extra={"examples": ["https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=xxxx"]},
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="钉钉“加签”密钥（SEC…）或通用 Webhook 的 HMAC 密钥；只写不读",
    )
    active: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _check_url(value)


class ChannelUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    audience: Audience | None = None
    url: str | None = Field(default=None, min_length=8, max_length=1000)
    secret: str | None = Field(default=None, max_length=200, description="空字符串表示清除密钥")
    active: bool | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)


def _check_url(value: str) -> str:
    value = value.strip()
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("通知地址必须是 http(s) 地址")
    return value


class NotificationChannel(SQLModel, table=True):
    __tablename__ = "notification_channels"

    id: int | None = Field(default=None, primary_key=True)
    unit_code: str = Field(sa_column=Column(String(64), ForeignKey("units.code"), nullable=False, index=True))
    kind: str = Field(max_length=16)
    name: str = Field(max_length=64)
    audience: str = Field(default="all", max_length=16)
    # The URL carries the robot's key, so it is encrypted with the secret: {"url": …, "secret": …}.
    secrets_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    url_hint: str = Field(max_length=300)
    has_secret: bool = False
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ChannelPublic(ChannelBase):
    id: int
    unit_code: str
    url_hint: str = Field(description="地址（密钥部分已隐去）")
    has_secret: bool
    active: bool
    created_at: datetime
    updated_at: datetime


class ChannelTestResult(SQLModel):
    ok: bool
    retryable: bool
    detail: str


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
    work_start: time = Field(default=time(8, 30), description="例行提醒的工作时间（本地时间）开始")
    work_end: time = Field(default=time(17, 30))
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


# ---------------------------------------------------------------- notifications


class NotificationState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"  # nobody to tell (no channel, no supervisor) or no longer useful
    cancelled = "cancelled"  # the message was answered or closed before it went out


class SlaNotification(SQLModel, table=True):
    """One escalation step of one message: recorded once (unique), then delivered with retries."""

    __tablename__ = "sla_notifications"
    __table_args__ = (
        UniqueConstraint("message_id", "step", name="uq_sla_notifications_message_step"),
        Index("ix_sla_notifications_state_next", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("messages.id"), nullable=False))
    step: str = Field(max_length=32)
    target: str = Field(max_length=16, description="unit / leaders / supervisor")
    unit_code: str | None = Field(default=None, max_length=64, index=True)
    title: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    urgent: bool = False
    # Routine notices (and their retries) wait for working hours; alerts go at any time.
    working_hours_only: bool = True
    state: str = Field(default=NotificationState.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # channel id (as text) -> UTC ISO time it accepted the notice; a retry skips those channels.
    deliveries: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    triggered_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class NotificationPublic(SQLModel):
    id: int
    message_id: int
    step: str
    target: str
    unit_code: str | None
    title: str
    urgent: bool
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    triggered_at: datetime
    sent_at: datetime | None
    created_at: datetime


MessageDeadlinePublic.model_rebuild()
