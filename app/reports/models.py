"""Report shapes (per unit, account, platform and period), the overdue view, hot topics, the tables behind
hot topics (cached message terms, daily per-term counts, sent topic alerts) and the report roll-ups
(counts and reply-time histograms of whole local days and months, and the log of changes that voids them)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from app.config import DEFAULT_REPLY_WORKING_DAYS
from app.db import JSONType, UTCDateTime


class Dimension(StrEnum):
    unit = "unit"
    account = "account"
    platform = "platform"
    period = "period"


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class Metrics(SQLModel):
    received: int = Field(default=0, description="收到留言")
    answered: int = Field(default=0, description="已答复（有首次答复时间）")
    answered_on_time: int = Field(default=0, description="按时答复：首次答复不晚于截止时间")
    answered_late: int = Field(default=0, description="超期答复：首次答复晚于截止时间")
    overdue_now: int = Field(default=0, description="超期未答复：至今未答复且已过截止时间")
    open_now: int = Field(default=0, description="办理中：未答复、未过截止时间")
    out_of_scope: int = Field(default=0, description="非受理范围")
    transferred: int = Field(default=0, description="转办过的留言")
    transfers: int = Field(default=0, description="转办次数合计")
    transfers_out: int | None = Field(
        default=None,
        description="单位报表：期间内本单位把留言转出的次数（按转办时间计，多者可能推诿）；其他报表为空",
    )
    extensions: int | None = Field(
        default=None, description="单位报表：期间内收到的留言中经批准延期的次数；其他报表为空"
    )
    escalated: int = Field(default=0, description="督办（升级）过的留言")
    closed_without_reply: int = Field(
        default=0, description="未答复即关闭的留言（重复、仅致谢、辱骂、广告、其他）"
    )
    closed_late: int = Field(
        default=0, description="超过截止时间后才关闭、未答复的留言：计为未按时答复，不从超期中消失"
    )
    on_time_rate: float | None = Field(
        default=None,
        description="按时答复率（%）= 按时答复 ÷（按时答复 + 超期答复 + 超期未答复 + 超期后关闭）",
    )
    reply_days_median: float | None = Field(default=None, description="首次答复用时中位数（工作日）")
    reply_days_p90: float | None = Field(default=None, description="首次答复用时第90百分位（工作日）")
    reply_hours_median: float | None = Field(default=None, description="首次答复用时中位数（工作时间小时）")
    reply_hours_p90: float | None = Field(default=None, description="首次答复用时第90百分位（工作时间小时）")


class ReportRow(Metrics):
    unit_code: str | None = None
    unit_name: str | None = None
    reply_working_days: int | None = Field(
        default=None, description="该行单位当前的答复时限（工作日）；无单位的行为空"
    )
    account_id: int | None = None
    account_name: str | None = None
    platform: str | None = None
    platform_label: str | None = None
    period: str | None = Field(default=None, description="周期键：2020-01-06 / 2020-W02 / 2020-01 / 2020-Q1")
    period_label: str | None = None
    period_start: date | None = None
    zombie: bool | None = Field(default=None, description="账号报表：最近一次检查是否为僵尸账号")
    zombie_reasons: list[str] | None = None


class ColumnInfo(SQLModel):
    key: str
    label: str


class Report(SQLModel):
    dimension: Dimension
    period: str | None
    date_from: date | None = Field(description="起始日期（含），本地时间")
    date_to: date | None = Field(description="截止日期（含），本地时间")
    generated_at: datetime
    timezone: str
    first_received_at: datetime | None
    last_received_at: datetime | None
    columns: list[ColumnInfo]
    rows: list[ReportRow]
    total: ReportRow
    notes: list[str] = Field(
        default_factory=list,
        description=f"说明：哪些单位或留言适用了非默认（{DEFAULT_REPLY_WORKING_DAYS}个工作日）的答复时限",
    )


class OverdueBucket(SQLModel):
    key: str
    label: str
    count: int


class OverdueItem(SQLModel):
    id: int
    unit_code: str | None
    unit_name: str | None
    platform: str
    received_at: datetime
    due_at: datetime
    working_days_overdue: int
    escalation_level: int
    excerpt: str = Field(description="留言摘要（个人信息已脱敏）")


class OverdueReport(SQLModel):
    generated_at: datetime
    total: int
    buckets: list[OverdueBucket] = Field(description="超期未答复留言按超过截止时间多久分组")
    upcoming: list[OverdueBucket] = Field(description="未答复、即将到期的留言")
    by_unit: list[OverdueBucket] = Field(description="超期未答复留言按承办单位计数，多者在前")
    oldest: list[OverdueItem]


class TopicTerm(SQLModel):
    term: str
    count: int = Field(description="本窗口内含该词的留言数")
    baseline: float = Field(description="此前各窗口的平均留言数")
    lift: float = Field(description="(count + 1) ÷ (baseline + 1)")
    score: float


class TopicUnit(SQLModel):
    unit_code: str | None
    unit_name: str | None
    count: int


class TopicSample(SQLModel):
    id: int
    unit_code: str | None
    received_at: datetime
    text: str = Field(description="留言摘要（个人信息已脱敏）")


class TopicCluster(SQLModel):
    label: str
    terms: list[str]
    count: int
    baseline: float
    lift: float
    units: list[TopicUnit]
    samples: list[TopicSample]


class TopicReport(SQLModel):
    window_start: datetime
    window_end: datetime
    window_hours: float
    baseline_windows: int
    min_count: int
    min_lift: float
    messages_in_window: int
    messages_in_baseline: int
    terms: list[TopicTerm]
    clusters: list[TopicCluster]


class MessageTerms(SQLModel, table=True):
    """Each message's topic terms, computed once (segmentation is the slow part of hot topics)."""

    __tablename__ = "message_terms"

    message_id: int = Field(sa_column=Column(Integer, ForeignKey("messages.id"), primary_key=True))
    version: int
    terms: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))


class TopicDay(SQLModel, table=True):
    """A local day whose topic terms are counted in `topic_day_terms`, and what was counted: per unit
    ("" for messages not yet routed) the number of messages and the sum of their ids. Hot topics use a
    day's counts only while the day's messages still give the same figures (a message added to the day,
    removed, or moved to another unit changes them), the zone is the service's and the term version
    current; otherwise they count that day message by message."""

    __tablename__ = "topic_days"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    zone: str = Field(max_length=64)
    version: int
    units: dict[str, list[int]] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    counted_at: datetime = Field(sa_type=UTCDateTime)


class TopicDayTerm(SQLModel, table=True):
    """How many messages of a local day and unit hold a topic term, and which (ids ascending)."""

    __tablename__ = "topic_day_terms"
    __table_args__ = (Index("ix_topic_day_terms_term_day", "term", "day"),)

    day: date = Field(sa_column=Column(Date, primary_key=True))
    unit_code: str = Field(sa_column=Column(String(64), primary_key=True))
    term: str = Field(sa_column=Column(Text, primary_key=True))
    count: int
    ids: list[int] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))


class TopicSpan(SQLModel, table=True):
    """A local week (from Monday) or calendar month whose topic terms are summed over all units in
    `topic_span_terms` from its days' counts, and what was summed: the number of the span's messages and
    the sum of their ids. Requests without a unit scope read a span's sums instead of its days' while its
    messages still give the same figures and the zone and term version are current."""

    __tablename__ = "topic_spans"

    kind: str = Field(sa_column=Column(String(8), primary_key=True))
    start: date = Field(sa_column=Column(Date, primary_key=True))
    zone: str = Field(max_length=64)
    version: int
    count: int
    total: int = Field(sa_column=Column(BigInteger, nullable=False))
    counted_at: datetime = Field(sa_type=UTCDateTime)
    # The span's messages per term, by term number (`topic_term_ids`; app.reports.stats.encode_counts):
    # what requests add up (`topic_span_terms` keeps which messages).
    sums: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class TopicDayUnit(SQLModel, table=True):
    """A counted day's messages of one unit ("" = not routed) per term, by term number, as a span's
    `sums`: what requests add up for the days they read."""

    __tablename__ = "topic_day_units"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    unit_code: str = Field(sa_column=Column(String(64), primary_key=True))
    sums: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class TopicTermId(SQLModel, table=True):
    """A number for each topic term ever counted, so that stored counts are arrays added up at once."""

    __tablename__ = "topic_term_ids"
    __table_args__ = (UniqueConstraint("term", name="uq_topic_term_ids_term"),)

    id: int | None = Field(default=None, primary_key=True)
    term: str = Field(sa_column=Column(Text, nullable=False))


class TopicSpanTerm(SQLModel, table=True):
    """How many messages of a week or month (all units) hold a topic term, and which (ids ascending)."""

    __tablename__ = "topic_span_terms"

    kind: str = Field(sa_column=Column(String(8), primary_key=True))
    start: date = Field(sa_column=Column(Date, primary_key=True))
    term: str = Field(sa_column=Column(Text, primary_key=True))
    count: int
    ids: list[int] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))


class TopicAlert(SQLModel, table=True):
    """A hot-topic alert to the supervising office: recorded once per topic and window, then sent."""

    __tablename__ = "topic_alerts"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    unit_code: str = Field(max_length=64)
    label: str = Field(max_length=200)
    terms: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    count: int
    baseline: float
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_end: datetime = Field(sa_type=UTCDateTime)
    text: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="pending", max_length=16, description="pending / sent / failed / skipped")
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    # channel id (as text) -> UTC ISO time it accepted the alert; a retry skips those channels.
    deliveries: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    detail: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TopicAlertPublic(SQLModel):
    id: int
    unit_code: str
    label: str
    terms: list[str]
    count: int
    baseline: float
    window_start: datetime
    window_end: datetime
    state: str
    attempts: int
    detail: str | None
    created_at: datetime
    sent_at: datetime | None


class ReportChange(SQLModel, table=True):
    """When the receipt time of a message that the roll-ups count changed: written by database triggers on
    `messages` (migration 0017) for every insert, delete and report-relevant update of a message that is not
    waiting for its first reply, in the writer's own transaction. A roll-up whose range holds a change is
    not read; the roll-up job retires it and removes the changes it has seen."""

    __tablename__ = "report_changes"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ReportSpan(SQLModel, table=True):
    """A local day, week (from Monday) or calendar month (in `zone`) whose messages not waiting for a first reply are counted
    in `report_cells`, from `start_at` to `end_at` (UTC). Live while `retired_at` is empty; at most one live
    span per zone, kind and start."""

    __tablename__ = "report_spans"
    __table_args__ = (
        Index(
            "ux_report_spans_live",
            "zone",
            "kind",
            "start",
            unique=True,
            sqlite_where=text("retired_at IS NULL"),
            postgresql_where=text("retired_at IS NULL"),
        ),
        Index("ix_report_spans_start_at", "start_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    zone: str = Field(max_length=64)
    kind: str = Field(max_length=8)
    start: date = Field(sa_column=Column(Date, nullable=False))
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    built_at: datetime = Field(sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReportCell(SQLModel, table=True):
    """The counts of one span's messages of one unit, account and platform, and their reply times as
    histograms (`app.reports.rollups.encode`: pairs of value and count, values ascending)."""

    __tablename__ = "report_cells"

    id: int | None = Field(default=None, primary_key=True)
    span_id: int = Field(foreign_key="report_spans.id", index=True)
    unit_code: str | None = Field(default=None, max_length=64)
    account_id: int
    platform: str = Field(max_length=16)
    received: int = 0
    answered: int = 0
    answered_on_time: int = 0
    answered_late: int = 0
    out_of_scope: int = 0
    transferred: int = 0
    transfers: int = 0
    escalated: int = 0
    closed_without_reply: int = 0
    closed_late: int = 0
    days_hist: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    hours_hist: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
