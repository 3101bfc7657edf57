"""The in-app inbox: who has read which notice. The notices themselves are the records the service
already keeps (deadline/sensitive notices, hot-topic alerts, zombie checks); nothing is copied."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime


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
