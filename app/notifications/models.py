"""Notification tables and API shapes: the channels (group robots, webhooks) of each unit, one
notification record per message and step (with the steps outside the escalation ladder), and the
in-app inbox's read marks. The inbox's notices are the records the service already keeps (deadline
and sensitive notices, hot-topic alerts, zombie checks); nothing is copied."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import field_validator
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import JSONType, UTCDateTime

ChannelKind = Literal["wecom", "dingtalk", "webhook"]
# "all": every notice of the unit; "leaders": only notices addressed to the unit's leaders.
Audience = Literal["all", "leaders"]

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


# ---------------------------------------------------------------- inbox


class NoticeSource(StrEnum):
    sla = "sla"  # sla_notifications: due soon, overdue, escalations, sensitive alerts, WeChat window
    topic = "topic"  # topic_alerts: hot topics
    zombie = "zombie"  # account_checks: accounts not updated


class InboxRead(SQLModel, table=True):
    __tablename__ = "inbox_reads"

    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id"), primary_key=True))
    source: str = Field(sa_column=Column(String(16), primary_key=True))
    item_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    read_at: datetime = Field(sa_type=UTCDateTime)


class InboxItem(SQLModel):
    key: str = Field(description="来源:编号，如 sla:12；标记已读时使用")
    source: NoticeSource
    kind: str = Field(
        description="提醒类别：due_soon / breach / supervisor / sensitive / hot_topic / zombie …"
    )
    title: str
    text: str
    unit_code: str | None
    message_id: int | None = None
    urgent: bool
    delivery: str = Field(description="群机器人推送状态：pending / sent / failed / skipped / cancelled")
    created_at: datetime
    read: bool


class InboxPage(SQLModel):
    items: list[InboxItem]
    unread: int = Field(description="当前用户可见的未读提醒总数")
    next_offset: int | None = None


class MarkRead(SQLModel):
    keys: list[str] = Field(
        default_factory=list, max_length=500, description="要标记已读的提醒 key；空表示全部"
    )
