"""Messages (留言/评论/私信) and the inbound queue that the pipeline drains."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import NullType
from sqlmodel import Field, SQLModel

from app.config import DEFAULT_REPLY_WORKING_DAYS
from app.db import JSONType, UTCDateTime


class MessageKind(StrEnum):
    comment = "comment"
    private = "private"
    mention = "mention"


class MessageStatus(StrEnum):
    received = "received"  # stored, waiting for the pipeline
    open = "open"  # routed, waiting for a draft
    drafting = "drafting"
    in_review = "in_review"
    approved = "approved"
    publishing = "publishing"
    published = "published"
    closed = "closed"  # closed without a reply, for a stated reason


OPEN_STATUSES = frozenset(
    {
        MessageStatus.received,
        MessageStatus.open,
        MessageStatus.drafting,
        MessageStatus.in_review,
        MessageStatus.approved,
        MessageStatus.publishing,
    }
)


# The statuses of the reply queue (open messages past the pipeline, not yet published or closed).
QUEUE_STATUSES = (
    MessageStatus.open,
    MessageStatus.drafting,
    MessageStatus.in_review,
    MessageStatus.approved,
    MessageStatus.publishing,
)
# Still open, in a fixed order (the text of the partial index below).
OPEN_ORDER = (MessageStatus.received, *QUEUE_STATUSES)


# What the reports read of a message (app.reports.service), in the order of ix_messages_report.
REPORT_COLUMNS = (
    "received_at",
    "unit_code",
    "account_id",
    "platform",
    "status",
    "first_replied_at",
    "due_at",
    "closed_at",
    "out_of_scope",
    "transfer_count",
    "escalation_level",
    "reply_working_days",
    "reply_working_hours",
)
# A deadline computed with another limit than the standard five working days (NULL never matches).
OTHER_LIMIT_SQL = f"working_days <> {DEFAULT_REPLY_WORKING_DAYS}"


def status_in_sql(statuses: tuple[MessageStatus, ...], dialect: str) -> str:
    """A partial index's condition, written out with literal values: SQLite uses a partial index only
    for a query carrying this very expression (bound parameters do not count), PostgreSQL for any query
    that implies it. On SQLite a unary plus keeps the (status, id) index from claiming the term (without
    statistics its planner would take that index and sort). `status_in()` puts it in a query."""
    values = ", ".join(f"'{s.value}'" for s in statuses)
    return f"{'+' if dialect == 'sqlite' else ''}status IN ({values})"


class _StatusIn(ColumnElement[bool]):
    """`status_in_sql(statuses, <the dialect>)` as a WHERE term."""

    inherit_cache = False  # the statuses are part of the text
    # Not Boolean: SQLite (no boolean type) would get `… = 1` appended, and the text would no longer be
    # the partial index's condition.
    type = NullType()  # type: ignore[assignment]

    def __init__(self, statuses: tuple[MessageStatus, ...]) -> None:
        self.statuses = statuses


@compiles(_StatusIn)
def _status_in_sql(element: _StatusIn, compiler: Any, **kw: Any) -> str:
    return status_in_sql(element.statuses, compiler.dialect.name)


def status_in(statuses: tuple[MessageStatus, ...]) -> ColumnElement[bool]:
    """The WHERE term that lets a query use the partial index made with `status_in_sql(statuses, …)`."""
    return _StatusIn(statuses)


def in_queue() -> ColumnElement[bool]:
    """The reply queue's statuses, in the form its partial indexes are made with."""
    return status_in(QUEUE_STATUSES)


def _partial(statuses: tuple[MessageStatus, ...], also: str = "") -> dict[str, Any]:
    return {
        "sqlite_where": text(status_in_sql(statuses, "sqlite") + also),
        "postgresql_where": text(status_in_sql(statuses, "postgresql") + also),
    }


# Open and not answered yet (with `status_in(OPEN_ORDER)`): the overdue report's rows.
UNANSWERED_SQL = "first_replied_at IS NULL"


class SlaState(StrEnum):
    on_track = "on_track"
    due_soon = "due_soon"
    overdue = "overdue"
    met = "met"
    missed = "missed"


class Author(SQLModel):
    id: str = Field(default="", max_length=128, description="平台上的用户标识")
    name: str = Field(default="", max_length=128, description="昵称")


class MessageCreate(SQLModel):
    account_id: int = Field(description="账号ID", schema_extra={"examples": [1]})
    external_id: str = Field(
        min_length=1,
        max_length=128,
        description="平台上的消息ID（同一账号内去重）",
        schema_extra={"examples": ["m-1001"]},
    )
    kind: MessageKind = Field(default=MessageKind.comment)
    author: Author = Field(default_factory=Author)
    content: str = Field(
        min_length=1,
        max_length=20000,
        schema_extra={"examples": ["我身份证下个月就过期了，现在能提前去换吗？"]},
    )
    received_at: datetime | None = Field(default=None, description="收到时间（含时区）；为空取当前时间")
    thread_ref: dict[str, Any] = Field(default_factory=dict, description="回复所需的平台上下文")


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id", name="uq_messages_account_external_id"),
        Index("ix_messages_status_id", "status", "id"),
        # Sort by deadline (NULLS LAST is the order of both databases' (due_at, id) walk plus a second
        # walk of the undated ones): all messages, one unit's, and the open ones (the reply queue).
        Index("ix_messages_due_id", "due_at", "id"),
        Index("ix_messages_unit_due_id", "unit_code", "due_at", "id"),
        Index("ix_messages_queue_due_id", "due_at", "id", **_partial(QUEUE_STATUSES)),
        Index("ix_messages_queue_unit_due_id", "unit_code", "due_at", "id", **_partial(QUEUE_STATUSES)),
        # The reports count a range of receipts from this index alone (every column they read), and
        # list the few messages whose deadline used another limit than the standard five working days.
        Index("ix_messages_report", *REPORT_COLUMNS),
        Index(
            "ix_messages_other_limit",
            "received_at",
            "unit_code",
            "working_days",
            "out_of_scope",
            sqlite_where=text(OTHER_LIMIT_SQL),
            postgresql_where=text(OTHER_LIMIT_SQL),
        ),
        # The overdue report counts the waiting messages per unit and range of deadlines from this index alone.
        Index(
            "ix_messages_waiting_due",
            "due_at",
            "unit_code",
            "id",
            **_partial(OPEN_ORDER, f" AND {UNANSWERED_SQL}"),
        ),
        # The reports count the messages waiting for a first reply live (the roll-ups leave them out: they
        # become overdue as time passes) from this index alone.
        Index(
            "ix_messages_waiting_report", *REPORT_COLUMNS, **_partial(OPEN_ORDER, f" AND {UNANSWERED_SQL}")
        ),
        # /metrics counts the open messages by SLA state from this index alone.
        Index("ix_messages_open_sla", "sla_state", "status", **_partial(OPEN_ORDER)),
        # Hot topics check the daily and weekly counts against a range's messages (per unit: how many,
        # the sum of their ids) from this index alone.
        Index("ix_messages_received_unit_id", "received_at", "unit_code", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id")
    platform: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    author_id: str = Field(default="", max_length=128, index=True)
    author_name: str = Field(default="", max_length=128)
    content: str = Field(sa_column=Column(Text, nullable=False))
    thread_ref: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=MessageStatus.received, max_length=16)
    close_reason: str | None = Field(default=None, max_length=200)
    # When it was closed without a reply: a message closed after its deadline stays "not answered in time".
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # routing
    unit_code: str | None = Field(
        default=None, sa_column=Column(String(64), ForeignKey("units.code"), nullable=True)
    )
    routing: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    out_of_scope: bool = False
    transfer_count: int = 0

    # moderation and suggestions
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    moderation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    suggestions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )

    # deadline and SLA
    working_days: int | None = None
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provisional: bool = False
    deadline_basis: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    sla_state: str | None = Field(default=None, max_length=16)
    due_soon_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    escalation_level: int = 0
    first_replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Receipt to first reply in working days and working hours (one decimal), stored with the first
    # reply (app.sla.service.mark_replied) under the calendar and working hours then in force.
    reply_working_days: int | None = None
    reply_working_hours: float | None = None
    platform_window_closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RoutingPublic(SQLModel):
    unit_code: str | None
    confidence: float
    reason: str
    out_of_scope: bool = False
    pointer: str | None = Field(default=None, description="不属于本级职责时建议的答复指引")


class MessagePublic(SQLModel):
    id: int
    account_id: int
    platform: str
    external_id: str
    kind: str
    author: Author
    content: str = Field(description="个人信息已脱敏；需要原文请调用 reveal")
    received_at: datetime
    status: str
    close_reason: str | None = None
    closed_at: datetime | None = None
    unit_code: str | None
    routing: RoutingPublic | None
    out_of_scope: bool
    transfer_count: int
    due_at: datetime | None
    provisional: bool
    sla_state: str | None
    escalation_level: int
    first_replied_at: datetime | None
    platform_window_closes_at: datetime | None
    flags: list[str]
    suggestions: list[dict[str, Any]]


class Receipt(SQLModel):
    """What ingest answers: the stored message's id (the same id for a repeated delivery)."""

    id: int
    status: str
    duplicate: bool


class MessagePage(SQLModel):
    items: list[MessagePublic]
    next_cursor: str | None = Field(description="下一页游标；为空表示没有更多")


class IntakeState(StrEnum):
    pending = "pending"
    done = "done"
    parked = "parked"


class IntakeItem(SQLModel, table=True):
    """One unit of intake work (the queue `app.intake.pipeline` drains): a stored message waiting to be
    normalised, checked, routed, suggested. Not to be confused with `connectors.base.InboundItem`, a
    message or comment as a platform delivered it, before it is stored."""

    __tablename__ = "inbound_items"
    __table_args__ = (Index("ix_inbound_items_state_available", "state", "available_at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("messages.id"), unique=True, nullable=False))
    state: str = Field(default=IntakeState.pending, max_length=16)
    attempts: int = 0
    available_at: datetime = Field(sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class IntakeItemPublic(SQLModel):
    id: int
    message_id: int
    state: str
    attempts: int
    available_at: datetime
    last_error: str | None
    updated_at: datetime


class RevealRequest(SQLModel):
    reason: str = Field(
        min_length=2, max_length=200, description="查看原文的理由（记入审计日志），如“回访核实”"
    )
