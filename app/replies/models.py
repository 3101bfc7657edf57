"""Replies (答复) to messages, their review decisions, and the API shapes around them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.audit.models import AuditEventPublic
from app.db import JSONType, UTCDateTime
from app.messages.models import MessagePublic, RoutingPublic
from app.replies.workflow import ReplyState

MAX_REPLY_CHARS = 5000


class ReplyKind(StrEnum):
    answer = "answer"  # answers the message
    pointer = "pointer"  # out of scope: says who is responsible and how to reach them


class Delivery(StrEnum):
    """How a published reply reached the citizen."""

    platform = "platform"  # the connector sent it and the platform confirmed
    verified = "verified"  # outcome was unknown; found on the platform afterwards
    confirmed = "confirmed"  # outcome was unknown; a person confirmed it is on the platform
    manual = "manual"  # delivered by a person outside the platform API (phone, back office …)


class Decision(StrEnum):
    approved = "approved"
    rejected = "rejected"
    escalated = "escalated"  # sent to the unit's leader by hand (提请领导复核)


class CloseReason(StrEnum):
    duplicate = "duplicate"
    thanks_only = "thanks_only"
    abusive = "abusive"
    spam = "spam"
    other = "other"


CLOSE_REASON_LABELS = {
    CloseReason.duplicate: "重复留言",
    CloseReason.thanks_only: "仅表示感谢，无需答复",
    CloseReason.abusive: "辱骂或恶意内容",
    CloseReason.spam: "广告或垃圾信息",
    CloseReason.other: "其他",
}


class Reply(SQLModel, table=True):
    __tablename__ = "replies"
    __table_args__ = (
        # The outbox reads only due rows: (approved, next_attempt_at <= now) and stale (publishing, lease over).
        Index("ix_replies_state_next_attempt", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("messages.id"), nullable=False, index=True))
    kind: str = Field(default=ReplyKind.answer, max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    # The knowledge base is another domain: ids only, no foreign key.
    kb_entry_id: int | None = None
    kb_entry_version: int | None = None
    author_id: int | None = None
    author_name: str = Field(default="", max_length=64)
    # Everyone who wrote or changed the text: none of them may approve it.
    editor_ids: list[int] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    state: str = Field(default=ReplyState.drafting, max_length=16)
    rejection_reason: str | None = Field(default=None, max_length=500)
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # Outgoing checks of the current text ({code, level, message, span}), recomputed on every write.
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    approved_by_id: int | None = None
    approved_by_name: str | None = Field(default=None, max_length=64)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # outbox
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    attempts: int = 0
    # approved: when to try next; publishing: when the claim's lease runs out (then: outcome unknown).
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last try's outcome was unknown: look on the platform before sending again.
    check_before_send: bool = False
    platform_reply_id: str | None = Field(default=None, max_length=128)
    error_code: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    alternative: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delivery: str | None = Field(default=None, max_length=16)
    delivery_note: str | None = Field(default=None, max_length=500)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ReplyReview(SQLModel, table=True):
    """One review decision, with the exact text it was about."""

    __tablename__ = "reply_reviews"

    id: int | None = Field(default=None, primary_key=True)
    reply_id: int = Field(sa_column=Column(Integer, ForeignKey("replies.id"), nullable=False, index=True))
    level: int = Field(description="1 = 审核；2 = 领导复核（敏感留言）")
    decision: str = Field(max_length=16)
    reviewer_id: int | None = None
    reviewer_name: str = Field(max_length=64)
    reviewer_role: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, max_length=500)
    at: datetime = Field(sa_type=UTCDateTime)


# --- API shapes -------------------------------------------------------------------------------------


class ReplyCreate(SQLModel):
    text: str | None = Field(
        default=None,
        max_length=MAX_REPLY_CHARS,
        description="答复正文；引用问答库条目时可省略，取该条目的建议答案",
        schema_extra={
            "examples": ["您好，身份证有效期满前三个月内可申请换领，请携带原证件到户籍所在地派出所办理。"]
        },
    )
    kb_entry_id: int | None = Field(default=None, description="引用的问答库条目ID（来自答复建议）")
    kb_entry_version: int | None = Field(default=None, description="条目版本；为空时取建议中记录的版本")


class ReplyUpdate(SQLModel):
    text: str | None = Field(default=None, max_length=MAX_REPLY_CHARS)
    kb_entry_id: int | None = None
    kb_entry_version: int | None = None


class RejectRequest(SQLModel):
    reason: str = Field(
        min_length=2,
        max_length=500,
        description="退回原因（起草人可见）",
        schema_extra={"examples": ["办理地点写错了，请核实"]},
    )


class EscalateRequest(SQLModel):
    reason: str = Field(
        min_length=2,
        max_length=500,
        description="提请领导复核的原因（领导可见）",
        schema_extra={"examples": ["涉及征地补偿口径，请领导把关"]},
    )


class CheckSpan(SQLModel):
    start: int
    end: int


class CheckPublic(SQLModel):
    code: str = Field(
        description="pii 个人信息、abuse 辱骂、prohibited 违法有害信息、sensitive 敏感、kb_mismatch 与问答库口径不一致、length 超出平台字数"
    )
    level: str = Field(description="block 必须修改，否则不能审核通过；warn 提醒审核人")
    message: str
    span: CheckSpan | None = Field(default=None, description="问题在答复正文中的位置（字符下标，end 不含）")


class CloseRequest(SQLModel):
    reason: CloseReason = Field(
        description="duplicate 重复、thanks_only 仅致谢、abusive 辱骂、spam 广告、other 其他"
    )
    note: str | None = Field(default=None, max_length=150, description="说明；reason 为 other 时必填")


class OutOfScopeRequest(SQLModel):
    text: str | None = Field(
        default=None,
        max_length=MAX_REPLY_CHARS,
        description="告知留言人应向哪个部门反映、如何联系（答复同样先审后发，当日办结）；为空时采用分办给出的建议告知语",
        schema_extra={"examples": ["您好，您反映的问题属于市供电公司职责，请拨打95598反映。"]},
    )


class ManualDeliveryRequest(SQLModel):
    note: str = Field(
        min_length=2,
        max_length=500,
        description="如何送达（电话、短信、后台人工回复……）",
        schema_extra={"examples": ["已电话告知留言人"]},
    )
    delivered_at: datetime | None = Field(default=None, description="送达时间（含时区）；为空取当前时间")


class ConfirmRequest(SQLModel):
    note: str = Field(min_length=2, max_length=500, description="在平台上核实的情况")
    platform_reply_id: str | None = Field(default=None, max_length=128)


class ReviewPublic(SQLModel):
    level: int
    decision: str
    reviewer_id: int | None
    reviewer_name: str
    reviewer_role: str
    text: str
    reason: str | None
    at: datetime


class ReplyPublic(SQLModel):
    id: int
    message_id: int
    kind: str
    text: str
    kb_entry_id: int | None
    kb_entry_version: int | None
    author_id: int | None
    author_name: str
    state: str
    state_label: str
    review_levels: int = Field(description="需要的审核级数：敏感留言为2（审核 + 领导复核）")
    rejection_reason: str | None
    warnings: list[str]
    checks: list[CheckPublic] = Field(
        description="发布前检查：每次修改正文后重新计算；有 block 时不能审核通过"
    )
    reviews: list[ReviewPublic]
    approved_by_name: str | None
    approved_at: datetime | None
    idempotency_key: str
    attempts: int
    next_attempt_at: datetime | None
    platform_reply_id: str | None
    error_code: str | None
    last_error: str | None
    alternative: str | None = Field(description="无法送达时的替代办法（如改为公开答复或人工送达）")
    delivery: str | None
    delivery_note: str | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ReplyPage(SQLModel):
    items: list[ReplyPublic]
    next_cursor: str | None


class ReplySummary(SQLModel):
    id: int
    state: str
    state_label: str
    last_error: str | None
    alternative: str | None


class QueueItem(MessagePublic):
    reply: ReplySummary | None = Field(default=None, description="当前（或最近一条）答复")


class QueuePage(SQLModel):
    items: list[QueueItem]
    next_cursor: str | None


class DeadlinePublic(SQLModel):
    due_at: datetime | None
    provisional: bool
    working_days: int | None
    sla_state: str | None
    due_soon_at: datetime | None
    escalation_level: int
    first_replied_at: datetime | None
    platform_window_closes_at: datetime | None
    basis: dict[str, Any] | None = Field(description="时限如何算出（计入与跳过的日期及其来源）")


class MessageFull(SQLModel):
    message: MessagePublic
    routing: RoutingPublic | None
    routing_detail: dict[str, Any] | None = Field(description="分办的完整依据")
    suggestions: list[dict[str, Any]]
    deadline: DeadlinePublic
    replies: list[ReplyPublic]
    history: list[AuditEventPublic]
