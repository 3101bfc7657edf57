"""Moderation tables (the editable lexicon, its version, author offences) and the API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from sqlalchemy import Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import JSONType, UTCDateTime


class TermKind(StrEnum):
    abuse = "abuse"
    sensitive = "sensitive"
    spam = "spam"
    allow = "allow"  # phrases that cancel a hit inside them ("垃圾站")
    harsh = "harsh"  # strong words about things: criticism, tagged 情绪激烈; 贬称 ones insult a person
    target = "target"  # words naming a person an insult can be aimed at ("小编", "你们")
    prohibited = "prohibited"  # illegal and harmful content (违法有害信息)
    rumour = "rumour"  # alarming assertions for the information office to confirm or clarify


class TermBase(SQLModel):
    kind: TermKind = Field(
        description=(
            "abuse 辱骂、harsh 激烈措辞（批评，贬称类指向人时算辱骂）、target 指向人的称呼、sensitive 敏感、"
            "prohibited 违法有害信息、rumour 待核实传言、spam 广告引流、allow 放行短语"
        )
    )
    term: str = Field(min_length=1, max_length=64, schema_extra={"examples": ["狗官"]})
    category: str = Field(default="", max_length=64, description="词条分组（如“信访”“伤亡”），为空时取类别名")

    @field_validator("term", "category")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class TermCreate(TermBase):
    pass


class ModerationTerm(TermBase, table=True):
    """One lexicon term. Once any term is edited, these rows ARE the lexicon (the shipped files only
    seed them), so an administrator can also remove a shipped term."""

    __tablename__ = "moderation_terms"
    __table_args__ = (UniqueConstraint("kind", "term", name="uq_moderation_terms_kind_term"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: TermKind = Field(sa_column=Column(String(16), nullable=False))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TermPublic(TermBase):
    source: str = Field(description="default 系统预置、custom 管理员添加")


class LexiconState(SQLModel, table=True):
    """One row: the lexicon's version. Its presence means the terms live in the database; every edit
    bumps the version so that every process rebuilds its matcher."""

    __tablename__ = "moderation_lexicon_state"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    version: int
    # Random per change: a database restored or recreated with the same version number is still new.
    stamp: str = Field(max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AuthorOffence(SQLModel, table=True):
    """One abusive message by one author on one account: kept as evidence, counted for repeat offenders."""

    __tablename__ = "moderation_offences"
    __table_args__ = (Index("ix_moderation_offences_author", "account_id", "author_id"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("messages.id"), unique=True, nullable=False))
    account_id: int = Field(foreign_key="accounts.id")
    author_id: str = Field(max_length=128)
    author_name: str = Field(default="", max_length=128)
    terms: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    at: datetime = Field(sa_type=UTCDateTime)


class OffenderPublic(SQLModel):
    account_id: int
    author_id: str
    author_name: str
    offences: int = Field(description="被判定为辱骂的留言条数")
    first_at: datetime
    last_at: datetime
    message_ids: list[int] = Field(description="最近的辱骂留言ID（最多20条，新的在前），留存为证据")


class CheckRequest(SQLModel):
    text: str = Field(
        min_length=1,
        max_length=20000,
        schema_extra={"examples": ["你们这帮狗官，我的电话13907351286，赶紧处理！"]},
    )


class PiiPublic(SQLModel):
    kind: str = Field(description="mobile 手机号、id_card 身份证号、bank_card 银行卡号、email 邮箱")
    text: str


class HitPublic(SQLModel):
    kind: str
    term: str
    category: str
    why: str = Field(default="", description="由规则判定时的理由（如“「垃圾」指向「小编」”）")


class CheckResult(SQLModel):
    abusive: bool
    sensitive: bool
    spam: bool
    intense: bool = Field(default=False, description="情绪激烈：措辞强烈的批评，不是辱骂，留在待答复队列")
    prohibited: bool = Field(default=False, description="违法有害信息")
    rumour_check: bool = Field(default=False, description="含待核实的传言，须信息发布部门核实或澄清")
    pii: list[PiiPublic]
    masked_text: str
    hits: list[HitPublic]


class ContentEvidence(SQLModel, table=True):
    """A message held as illegal and harmful content (违法有害信息): hidden from the reply queue and kept,
    with what matched, for the unit, the supervising office and — by export — the police."""

    __tablename__ = "moderation_evidence"
    __table_args__ = (Index("ix_moderation_evidence_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("messages.id"), unique=True, nullable=False))
    account_id: int = Field(foreign_key="accounts.id")
    unit_code: str | None = Field(default=None, max_length=64)
    terms: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    at: datetime = Field(sa_type=UTCDateTime)


class EvidenceFormat(StrEnum):
    json = "json"
    csv = "csv"


class EvidencePublic(SQLModel):
    """One item of the evidence export: the message as received, who wrote it, where, and when."""

    evidence_id: int
    message_id: int
    platform: str
    account_id: int
    account_name: str
    account_external_id: str = Field(description="账号在平台上的ID")
    message_external_id: str = Field(description="留言/评论在平台上的ID")
    kind: str
    author_id: str
    author_name: str
    content: str = Field(description="留言原文（证据，不脱敏）")
    received_at: datetime
    flagged_at: datetime
    unit_code: str | None
    terms: list[str] = Field(description="命中的违法有害信息词条")
    categories: list[str] = Field(description="类别（危害国家安全、邪教、暴恐、色情、赌博、诈骗……）")
    platform_refs: dict[str, Any] = Field(description="平台上定位该内容所需的标识（评论ID、作品ID等）")
    link: str | None = Field(description="平台上的链接（平台提供时）")


class EvidencePage(SQLModel):
    items: list[EvidencePublic]
    next_cursor: str | None = Field(description="下一页游标；为空表示没有更多")
