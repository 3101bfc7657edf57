"""Account registry (政务新媒体备案): the registration form, its approved lifecycle events, and the
daily zombie-account check of each service account."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from app.bounds import BoundedDate, BoundedDatetime
from app.db import JSONType, UTCDateTime


class RegistryPlatform(StrEnum):
    wechat = "wechat"
    weibo = "weibo"
    douyin = "douyin"
    toutiao = "toutiao"
    kuaishou = "kuaishou"
    bilibili = "bilibili"
    mini_program = "mini_program"
    app = "app"
    website = "website"
    other = "other"


PLATFORM_LABELS: dict[str, str] = {
    "wechat": "微信公众号",
    "weibo": "微博",
    "douyin": "抖音",
    "toutiao": "今日头条",
    "kuaishou": "快手",
    "bilibili": "哔哩哔哩",
    "mini_program": "小程序",
    "app": "移动客户端",
    "website": "网站",
    "other": "其他",
    # the service's own account platform for website/app message boards
    "generic": "网站/App",
}


class RegistrationStatus(StrEnum):
    pending = "pending"  # opening filed, not yet approved
    active = "active"
    closed = "closed"  # 关停
    cancelled = "cancelled"  # 注销


class LifecycleKind(StrEnum):
    opened = "opened"
    changed = "changed"
    closed = "closed"
    cancelled = "cancelled"


class EventStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class RegistrationFields(SQLModel):
    """The form fields a later `changed` event may alter."""

    person_in_charge: str = Field(min_length=1, max_length=64, schema_extra={"examples": ["李明"]})
    person_title: str = Field(
        default="", max_length=64, description="负责人职务", schema_extra={"examples": ["办公室主任"]}
    )
    phones: list[str] = Field(
        default_factory=list,
        description="联系电话（个人信息：非必要角色看到的是脱敏值）",
        schema_extra={"examples": [["13812345678", "0731-88886666"]]},
    )
    account_name: str = Field(min_length=1, max_length=128, schema_extra={"examples": ["青禾公安"]})
    account_ref: str = Field(
        default="",
        max_length=256,
        description="账号ID或主页网址",
        schema_extra={"examples": ["gh_3f2a1b0c9d8e"]},
    )
    wechat_id: str | None = Field(default=None, max_length=64, description="微信号")
    wechat_original_id: str | None = Field(default=None, max_length=64, description="微信原始ID（gh_开头）")
    followers: int | None = Field(default=None, ge=0, description="关注/粉丝数")
    avg_reads: int | None = Field(default=None, ge=0, description="平均阅读量")
    posting_frequency: str | None = Field(
        default=None, max_length=64, description="更新频率", schema_extra={"examples": ["每周3次"]}
    )
    maintainer: str = Field(
        default="", max_length=128, description="运维人员（登记表栏目）", schema_extra={"examples": ["王芳"]}
    )
    verification: str = Field(
        default="",
        max_length=64,
        description="认证情况（登记表栏目），如 已认证（政府机构）/ 未认证",
        schema_extra={"examples": ["已认证（政府机构）"]},
    )


class RegistrationCreate(RegistrationFields):
    unit_code: str = Field(description="主办单位代码", schema_extra={"examples": ["xgaj"]})
    platform: RegistryPlatform = Field(schema_extra={"examples": ["wechat"]})
    opened_on: BoundedDate = Field(description="开设日期", schema_extra={"examples": ["2026-02-26"]})
    account_id: int | None = Field(default=None, description="对应的本系统账号ID（可选）")
    registered_on: BoundedDate | None = Field(
        default=None,
        description="备案日期；为空取今天。补录纸质备案时由督办/管理员填写，单位不可倒填",
    )


class RegistrationChanges(SQLModel):
    """A `changed` event: only the fields given are changed when it is approved."""

    person_in_charge: str | None = Field(default=None, min_length=1, max_length=64)
    person_title: str | None = Field(default=None, max_length=64)
    phones: list[str] | None = None
    account_name: str | None = Field(default=None, min_length=1, max_length=128)
    account_ref: str | None = Field(default=None, max_length=256)
    wechat_id: str | None = Field(default=None, max_length=64)
    wechat_original_id: str | None = Field(default=None, max_length=64)
    followers: int | None = Field(default=None, ge=0)
    avg_reads: int | None = Field(default=None, ge=0)
    posting_frequency: str | None = Field(default=None, max_length=64)
    maintainer: str | None = Field(default=None, max_length=128)
    verification: str | None = Field(default=None, max_length=64)
    account_id: int | None = None
    unit_code: str | None = Field(
        default=None, max_length=64, description="新的主办单位代码（变更主体单位）；关联账号随之转给新单位"
    )


class Registration(RegistrationFields, table=True):
    __tablename__ = "account_registrations"
    __table_args__ = (Index("ix_account_registrations_unit_platform", "unit_code", "platform"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_code: str = Field(sa_column=Column(String(64), ForeignKey("units.code"), nullable=False))
    platform: str = Field(max_length=16)
    account_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("accounts.id"), nullable=True, index=True)
    )
    phones: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    opened_on: date
    registered_on: date
    status: str = Field(default=RegistrationStatus.pending, max_length=16)
    closed_on: date | None = None
    cancelled_on: date | None = None
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Flag(SQLModel):
    code: str = Field(
        description="late_registration 开设逾期备案 / late_filing 变更、关停、注销逾期备案 / "
        "short_notice 关停或变更提前不足7个工作日报备 / duplicate_platform / zombie 僵尸（未更新） / "
        "unresponsive 留言超期未答复"
    )
    message: str


class RegistrationPublic(RegistrationFields):
    id: int
    unit_code: str
    platform: str
    platform_label: str
    account_id: int | None
    opened_on: date
    registered_on: date
    status: str
    closed_on: date | None
    cancelled_on: date | None
    phones_masked: bool = Field(description="为真时 phones 为脱敏值")
    flags: list[Flag]
    created_at: datetime
    updated_at: datetime


class EventCreate(SQLModel):
    kind: LifecycleKind = Field(
        description="changed 变更 / closed 关停 / cancelled 注销（开设由备案时自动生成）"
    )
    effective_on: BoundedDate = Field(description="生效日期（关停、注销或变更的日期）")
    notice_on: BoundedDate | None = Field(default=None, description="对外公告日期（仅记录）")
    filed_on: BoundedDate | None = Field(
        default=None, description="报备日期；为空取今天。补录纸质报备时由督办/管理员填写，单位不可倒填"
    )
    changes: RegistrationChanges | None = Field(default=None, description="变更内容（kind=changed 时必填）")
    note: str | None = Field(default=None, max_length=500)


class EventDecision(SQLModel):
    note: str | None = Field(default=None, max_length=500, description="审批意见")
    decided_on: BoundedDate | None = Field(
        default=None, description="批准日期；为空取今天。仅补录纸质审批时填写，不能晚于今天、不能早于报备日期"
    )


class RegistryEvent(SQLModel, table=True):
    __tablename__ = "registry_events"

    id: int | None = Field(default=None, primary_key=True)
    registration_id: int = Field(
        sa_column=Column(Integer, ForeignKey("account_registrations.id"), nullable=False, index=True)
    )
    kind: str = Field(max_length=16)
    effective_on: date
    notice_on: date | None = None
    filed_on: date | None = Field(default=None, description="报备日期（本地）")
    changes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    note: str | None = Field(default=None, max_length=500)
    status: str = Field(default=EventStatus.pending, max_length=16)
    submitted_by: str = Field(max_length=64)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_on: date | None = Field(default=None, description="批准日期（本地）")
    decision_note: str | None = Field(default=None, max_length=500)
    # An approved event takes effect on its effective date: until then the registration is unchanged.
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RegistryEventPublic(SQLModel):
    id: int
    registration_id: int
    kind: str
    effective_on: date
    notice_on: date | None
    filed_on: date | None
    changes: dict[str, Any] | None
    note: str | None
    status: str
    submitted_by: str
    submitted_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decided_on: date | None
    decision_note: str | None
    applied_at: datetime | None = Field(description="生效（写入备案）时间；批准后到生效日才生效")


class AccountCheck(SQLModel, table=True):
    """The latest zombie check of one service account (one row per account, replaced each day)."""

    __tablename__ = "account_checks"

    account_id: int = Field(sa_column=Column(Integer, ForeignKey("accounts.id"), primary_key=True))
    checked_at: datetime = Field(sa_type=UTCDateTime)
    checked_on: date = Field(index=True)
    zombie: bool = False  # not updated (僵尸) only
    no_post: bool = False
    warning: bool = False  # close to the zombie limit: the unit was warned
    unresponsive: bool = False  # messages left unanswered past their deadline (互动回应不及时)
    days_since_post: int | None = None
    last_post_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    overdue_unanswered: int = 0
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    flagged_since: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountCheckPublic(SQLModel):
    account_id: int
    account_name: str
    platform: str
    unit_code: str
    unit_name: str
    checked_at: datetime
    zombie: bool = Field(description="僵尸：超过规定天数未更新（只看更新）")
    no_post: bool
    warning: bool = Field(description="预警：即将达到未更新天数上限，已提醒单位")
    unresponsive: bool = Field(description="互动回应不及时：有留言超期未答复（与僵尸分开）")
    days_since_post: int | None
    last_post_at: datetime | None
    overdue_unanswered: int
    reasons: list[str]
    flagged_since: datetime | None


class PostReport(SQLModel):
    posted_at: BoundedDatetime = Field(
        description="发布时间（含时区）", schema_extra={"examples": ["2026-03-01T10:00:00+08:00"]}
    )


class CheckSummary(SQLModel):
    checked: int
    zombies: int
    warnings: int = 0
    unresponsive: int = 0
    rectified: int = 0
    escalated: int = 0
    newly_flagged: int
    cleared: int
    skipped: bool = Field(default=False, description="今天已检查过（force=false 时不重复）")


class UnregisteredAccount(SQLModel):
    """An active service account without an approved registration (瞒报、漏报)."""

    account_id: int
    account_name: str
    platform: str
    platform_label: str
    unit_code: str
    unit_name: str
    registration_id: int | None = Field(description="待审批的备案号；为空表示从未备案")
    registration_status: str | None = Field(description="pending 待审批；为空表示从未备案")
    messages_received: int = Field(description="该账号已收到的留言数：在收留言却未备案")
    last_message_at: datetime | None
