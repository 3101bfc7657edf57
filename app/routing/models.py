"""Routing tables (rules, settings, version, learned models, labelled examples, transfer history), the
environment defaults and the API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.db import JSONType, UTCDateTime


class Fallback(StrEnum):
    account = "account"  # the owner unit of the account the message came in on
    dispatcher = "dispatcher"  # the dispatcher queue (a unit of the supervising office)


class RoutingDefaults(BaseSettings):
    """Defaults from the environment until an administrator stores settings through the API:
    HUIYING_ROUTING_FALLBACK, HUIYING_ROUTING_DISPATCHER_UNIT, HUIYING_ROUTING_LOCAL_PLACES
    (comma-separated), HUIYING_ROUTING_THRESHOLD."""

    model_config = SettingsConfigDict(env_prefix="HUIYING_ROUTING_", env_file=".env", extra="ignore")

    fallback: Fallback = Fallback.account
    dispatcher_unit: str | None = None
    local_places: str = ""
    threshold: float = Field(default=0.4, ge=0.0, le=1.0)


# ------------------------------------------------------------------------------------------- settings


class RoutingSettings(SQLModel):
    fallback: Fallback = Field(
        default=Fallback.account,
        description="没有把握时交给谁：account 来源账号的主办单位；dispatcher 分办席（dispatcher_unit_code）",
    )
    dispatcher_unit_code: str | None = Field(
        default=None,
        max_length=64,
        description="分办席所在单位（通常为督办单位）",
        schema_extra={"examples": ["zfb"]},
    )
    local_places: list[str] = Field(
        default_factory=list,
        description="本地地名（本县乡镇、街道等），提到它们不算“外地事项”",
        schema_extra={"examples": [["青禾县", "青禾镇", "柳塘乡"]]},
    )
    threshold: float = Field(default=0.4, ge=0.0, le=1.0, description="置信度低于此值时按 fallback 处理")

    @field_validator("local_places")
    @classmethod
    def _clean_places(cls, value: list[str]) -> list[str]:
        places = [p.strip() for p in value if p.strip()]
        if any(len(p) > 32 for p in places) or len(places) > 2000:
            raise ValueError("地名不超过32个字符，最多2000个")
        return list(dict.fromkeys(places))


class RoutingConfig(SQLModel, table=True):
    """The stored `RoutingSettings` (one row); without it the environment defaults apply."""

    __tablename__ = "routing_config"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    data: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RoutingVersion(SQLModel, table=True):
    """One row: bumped by every change of rules, settings or model, so every process rebuilds its router."""

    __tablename__ = "routing_version"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    version: int
    # Random per change: a database restored or recreated with the same version number is still new.
    stamp: str = Field(max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# ------------------------------------------------------------------------------------------- rules


class RuleKind(StrEnum):
    keyword = "keyword"  # the normalised text contains the pattern
    regex = "regex"  # the pattern (Python regular expression) matches the text
    account = "account"  # the message came in on the account with this id


class RuleBase(SQLModel):
    kind: RuleKind = Field(description="keyword 关键词、regex 正则表达式、account 来源账号ID")
    pattern: str = Field(min_length=1, max_length=500, schema_extra={"examples": ["非洲猪瘟"]})
    unit_code: str = Field(max_length=64, schema_extra={"examples": ["xnyj"]})
    priority: int = Field(default=0, ge=-1000, le=1000, description="多条规则同时命中时，优先级高者生效")
    note: str = Field(default="", max_length=200, description="备注（为什么有这条规则）")


class RuleCreate(RuleBase):
    pass


class RuleUpdate(SQLModel):
    kind: RuleKind | None = None
    pattern: str | None = Field(default=None, min_length=1, max_length=500)
    unit_code: str | None = Field(default=None, max_length=64)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    note: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class RoutingRuleRow(RuleBase, table=True):
    __tablename__ = "routing_rules"

    id: int | None = Field(default=None, primary_key=True)
    kind: RuleKind = Field(sa_column=Column(String(16), nullable=False))
    unit_code: str = Field(sa_column=Column(String(64), ForeignKey("units.code"), nullable=False))
    active: bool = True
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RulePublic(RuleBase):
    id: int
    active: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


# ------------------------------------------------------------------------------------------- preview


class PreviewRequest(SQLModel):
    text: str = Field(
        min_length=1, max_length=20000, schema_extra={"examples": ["小区门口的下水道堵了一个星期，污水横流"]}
    )
    account_id: int | None = Field(default=None, description="来源账号（可选；用于账号规则和主办单位）")


class Candidate(SQLModel):
    unit_code: str
    score: float = Field(description="证据分（越大越可能）")


class MessageRouting(SQLModel):
    """How the pipeline routed a message (the full record behind `routing` in the message)."""

    message_id: int
    unit_code: str | None = Field(description="留言当前所在单位")
    suggested_unit: str | None = Field(description="分办建议的单位；没有把握时为空")
    confidence: float
    reason: str
    out_of_scope: bool = Field(description="是否疑似/确认不属于本级职责")
    pointer: str | None = Field(description="建议告知留言人的去处（答复时可采用）")
    candidates: list[Candidate]
    rule_id: int | None = None
    fallback: str | None = Field(description="没有把握时的去向：account 来源账号主办单位、dispatcher 分办席")
    transfer_count: int


class PreviewResult(SQLModel):
    unit_code: str | None = Field(description="建议办理单位；没有把握时为空（实际分办时按 fallback 处理）")
    confidence: float
    reason: str
    out_of_scope: bool
    pointer: str | None = Field(description="不属于本级职责时，建议告知留言人的去处")
    candidates: list[Candidate]
    rule_id: int | None = None


# ------------------------------------------------------------------------------------------- transfers


class TransferKind(StrEnum):
    transfer = "transfer"  # 转办: the unit that had it passes it on
    assign = "assign"  # 分派: the dispatcher or a supervisor decides the unit


class TransferCreate(SQLModel):
    unit_code: str = Field(max_length=64, schema_extra={"examples": ["xzjj"]})
    reason: str = Field(
        min_length=2, max_length=500, schema_extra={"examples": ["涉及道路施工，属住建局职责"]}
    )

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = value.strip()
        if len(value) < 2:
            raise ValueError("请填写转办理由（至少2个字）")
        return value


class AssignCreate(SQLModel):
    unit_code: str = Field(max_length=64, schema_extra={"examples": ["xzjj"]})
    reason: str = Field(default="", max_length=500)


class MessageTransfer(SQLModel, table=True):
    """One change of a message's unit by a person (a transfer or an assignment); reports count the
    transfers out of each unit."""

    __tablename__ = "message_transfers"
    __table_args__ = (Index("ix_message_transfers_from_at", "from_unit", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("messages.id"), nullable=False, index=True))
    kind: str = Field(max_length=16)
    from_unit: str | None = Field(default=None, max_length=64)
    to_unit: str = Field(max_length=64)
    reason: str = Field(default="", max_length=500)
    actor_id: int | None = None
    actor_name: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime)


class TransferPublic(SQLModel):
    id: int
    message_id: int
    kind: str
    from_unit: str | None
    to_unit: str
    reason: str
    actor_name: str
    at: datetime


class TransferResult(SQLModel):
    message_id: int
    unit_code: str
    transfer_count: int
    due_at: datetime | None = Field(description="答复时限（转办不重新计时）")
    transfer: TransferPublic


# ------------------------------------------------------------------------------------------- learning


class ExampleSource(StrEnum):
    transfer = "transfer"
    assign = "assign"
    imported = "import"


class RoutingExample(SQLModel, table=True):
    """A labelled example for the learned router: a message text (personal data masked) and its unit."""

    __tablename__ = "routing_examples"
    __table_args__ = (Index("ix_routing_examples_source_hash", "source", "text_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("messages.id"), nullable=True, index=True)
    )
    text: str = Field(sa_column=Column(Text, nullable=False))
    text_hash: str = Field(max_length=40)
    unit_code: str = Field(max_length=64)
    source: str = Field(max_length=16)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ExampleCreate(SQLModel):
    text: str = Field(min_length=2, max_length=20000)
    unit_code: str = Field(max_length=64)


class RejectedRow(SQLModel):
    row: int
    reason: str


class ImportReport(SQLModel):
    imported: int
    duplicates: int
    rejected: list[RejectedRow]


class RoutingModelRow(SQLModel, table=True):
    """A trained model (JSON); the newest row is the one in use. Its id is the model version."""

    __tablename__ = "routing_models"

    id: int | None = Field(default=None, primary_key=True)
    trained_at: datetime = Field(sa_type=UTCDateTime)
    trained_by: str = Field(max_length=64)
    example_count: int
    classes: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    sources: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    data: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))


class ModelInfo(SQLModel):
    version: int
    trained_at: datetime
    trained_by: str
    example_count: int
    classes: dict[str, int] = Field(description="各单位的样本数")
    sources: dict[str, int] = Field(description="样本来源：transfer 转办、assign 分派、import 导入")
