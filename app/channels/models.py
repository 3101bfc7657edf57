"""Channel tables and API shapes: shared platform tokens, poll targets with their durable cursors, the
per-account health record, and echoes (the account's own replies coming back from a platform)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import JSONType, UTCDateTime

DEFAULT_POLL_SECONDS = 120


class ChannelToken(SQLModel, table=True):
    """One platform access token shared by every process (encrypted), and the lease of whoever is
    refreshing it, so that two processes never refresh the same token at once."""

    __tablename__ = "channel_tokens"

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    token_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PollTarget(SQLModel, table=True):
    """What to poll on one account (an article, a video, the account's comment inbox) and how far."""

    __tablename__ = "poll_targets"
    __table_args__ = (UniqueConstraint("account_id", "target", name="uq_poll_targets_account_target"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("accounts.id"), nullable=False, index=True))
    target: str = Field(default="", max_length=200)
    label: str = Field(default="", max_length=128)
    active: bool = True
    # Committed in the same transaction as the items it covered.
    cursor: str | None = Field(default=None, max_length=512)
    items_taken: int = 0
    echoes_seen: int = 0
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the last pass from the start began (lists that reorder are rescanned now and then).
    scan_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ChannelHealth(SQLModel, table=True):
    """Per account: polling schedule and outcome (success, errors, backoff), and the last push."""

    __tablename__ = "channel_health"
    __table_args__ = (Index("ix_channel_health_due", "polling_enabled", "next_poll_at"),)

    account_id: int = Field(sa_column=Column(Integer, ForeignKey("accounts.id"), primary_key=True))
    polling_enabled: bool = True
    poll_interval_seconds: int = DEFAULT_POLL_SECONDS
    next_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error_code: str | None = Field(default=None, max_length=64)
    consecutive_failures: int = 0
    rate_limited_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    needs_attention: bool = False  # credentials a person must renew
    last_item_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_push_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ChannelEcho(SQLModel, table=True):
    """The account's own message seen coming back (poll or push): never a new message; linked to the
    reply it is when one matches."""

    __tablename__ = "channel_echoes"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id", name="uq_channel_echoes_account_external"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("accounts.id"), nullable=False))
    external_id: str = Field(max_length=128)
    content: str = Field(sa_column=Column(Text, nullable=False))
    # Replies are another domain's table: ids only, no foreign keys.
    reply_id: int | None = Field(default=None, index=True)
    message_id: int | None = None
    matched_by: str | None = Field(default=None, max_length=32)
    received_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ChannelCapability(SQLModel, table=True):
    """What an account can actually do, as its platform said at the last check (daily, and at once
    after its secrets change), and which token expiry was already announced."""

    __tablename__ = "channel_capabilities"

    account_id: int = Field(sa_column=Column(Integer, ForeignKey("accounts.id"), primary_key=True))
    mode: str = Field(default="unknown", max_length=24)  # full / limited / import_only / needs_credentials
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    capabilities: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    windows: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refresh_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Which secrets the check saw (a digest of the encrypted blob): a change makes the account due.
    secrets_digest: str = Field(default="", max_length=64)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # The expiry an alert was sent for (a renewed token has another expiry and is announced again).
    expiry_alerted_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PlatformRemoval(SQLModel, table=True):
    """A citizen's message taken off its platform (illegal content, abuse): who, why, and what the
    platform answered. The message and its content stay in the service as evidence."""

    __tablename__ = "platform_removals"

    id: int | None = Field(default=None, primary_key=True)
    # Messages are another domain's table: id only, no foreign key (as for echoes).
    message_id: int = Field(index=True)
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("accounts.id"), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    outcome: str = Field(max_length=16)  # removed / failed
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    actor_id: int | None = None
    actor_name: str = Field(default="", max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)


# --- API shapes -----------------------------------------------------------------------------------------


class HealthState(StrEnum):
    ok = "ok"
    idle = "idle"  # nothing to poll (webhook-only account, or polling paused)
    failing = "failing"
    rate_limited = "rate_limited"
    needs_credentials = "needs_credentials"
    import_only = "import_only"  # the platform gives the account no way to receive or answer (仅导入)


class PollTargetCreate(SQLModel):
    target: str = Field(
        default="",
        max_length=200,
        description="微信：图文 msg_data_id:index；抖音：视频 item_id；"
        "微博：留空（收到的评论）、mentions（评论中@本账号）、status_mentions（微博中@本账号）",
        schema_extra={"examples": ["2247483714:0"]},
    )
    label: str = Field(
        default="", max_length=128, schema_extra={"examples": ["《关于春节期间办事安排的通知》"]}
    )


class PollTargetUpdate(SQLModel):
    label: str | None = Field(default=None, max_length=128)
    active: bool | None = None
    restart: bool = Field(default=False, description="从头重新扫描（已收到的不会重复入库）")


class PollTargetPublic(SQLModel):
    id: int
    account_id: int
    target: str
    label: str
    active: bool
    cursor: str | None
    items_taken: int
    echoes_seen: int
    last_polled_at: datetime | None
    created_at: datetime


class PollingUpdate(SQLModel):
    enabled: bool | None = Field(default=None, description="是否轮询该账号")
    interval_seconds: int | None = Field(default=None, ge=30, le=86400, description="轮询间隔（秒）")


class CapabilityItem(SQLModel):
    name: str
    label: str
    available: bool
    reason: str = ""


class CapabilityPublic(SQLModel):
    mode: str = Field(
        description="full 全部可用；limited 部分可用；import_only 仅导入（平台未开放收发能力，需人工导入与答复）；"
        "needs_credentials 授权失效需重新授权；unknown 尚未检查"
    )
    mode_label: str = Field(description="状态中文名，如“仅导入”")
    reason: str
    scopes: list[str]
    capabilities: list[CapabilityItem]
    windows: dict[str, int] = Field(description="各类消息的平台回复时限（小时），如 private: 48")
    token_expires_at: datetime | None
    refresh_expires_at: datetime | None = Field(description="需人工重新授权的时间（抖音 refresh_token）")
    checked_at: datetime | None
    next_check_at: datetime | None
    last_error: str | None


class RemovalCreate(SQLModel):
    reason: str = Field(
        min_length=2, max_length=500, description="删除原因（如：含违法信息、辱骂攻击），记入审计"
    )


class CommentAction(SQLModel):
    action: Literal["elect", "unelect", "delete_reply"] = Field(
        description="elect 标记精选；unelect 取消精选；delete_reply 删除本账号在该留言下的回复"
    )


class CommentSwitch(SQLModel):
    target: str = Field(
        max_length=200, description="图文 msg_data_id:index", schema_extra={"examples": ["2247483714:0"]}
    )
    open: bool = Field(description="true 开启留言；false 关闭留言")


class AuthorizeStart(SQLModel):
    redirect_uri: str = Field(
        max_length=500,
        description="在平台后台登记的 https 回调地址（授权后平台带 code 跳转至此）",
        schema_extra={"examples": ["https://huiying.qinghe.gov.cn/oauth/callback"]},
    )


class AuthorizeUrl(SQLModel):
    url: str = Field(description="请账号运营者在浏览器中打开并登录/扫码授权")


class AuthorizeComplete(AuthorizeStart):
    code: str = Field(min_length=1, max_length=512, description="平台回调带回的授权码 code")


class RemovalPublic(SQLModel):
    id: int
    message_id: int
    account_id: int
    reason: str
    outcome: str
    error: str | None
    actor_name: str
    created_at: datetime


class HealthPublic(SQLModel):
    account_id: int
    platform: str
    name: str
    unit_code: str
    active: bool
    state: HealthState
    polling_enabled: bool
    poll_interval_seconds: int
    next_poll_at: datetime | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    last_error_code: str | None
    consecutive_failures: int
    rate_limited_until: datetime | None
    lag_seconds: float | None = Field(description="距上次成功轮询的秒数（轮询账号）；未轮询为空")
    last_item_at: datetime | None = Field(description="最近一次收到的平台消息时间")
    last_push_at: datetime | None = Field(description="最近一次收到平台推送的时间（约每分钟记一次）")
    targets: list[PollTargetPublic]
    capability: CapabilityPublic | None = Field(
        default=None, description="平台实际开放的能力（授权范围、令牌到期、回复时限）；尚未检查为空"
    )


class RejectedRowPublic(SQLModel):
    row: int = Field(description="行号（表头为第1行）")
    reason: str


class ImportReport(SQLModel):
    imported: int = Field(description="新入库条数")
    duplicates: int = Field(description="已存在（重复导入）条数")
    answered: int = Field(default=0, description="其中在原系统已答复、直接记为已答复的条数")
    rejected: list[RejectedRowPublic]


class PushNonce(SQLModel, table=True):
    """A signed push seen on an account: its (timestamp, nonce) and the hash of its body. WeChat's plain
    mode signs the query string but not the body, so the same signature arriving with another body is a
    forgery. Rows live for the replay window; the database shares them between instances."""

    __tablename__ = "push_nonces"
    __table_args__ = (
        UniqueConstraint("account_id", "timestamp", "nonce", name="uq_push_nonces_account_timestamp_nonce"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("accounts.id"), nullable=False))
    timestamp: str = Field(max_length=16)
    nonce: str = Field(max_length=64)
    body_sha256: str = Field(max_length=64)
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)
