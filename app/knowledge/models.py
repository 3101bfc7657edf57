"""Knowledge-base tables (entries, their versions, the KB version counter) and the API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.accounts.models import Platform
from app.db import JSONType, UTCDateTime

MAX_QUESTION = 500
MAX_ANSWER = 5000
MAX_ALT_QUESTIONS = 50
MAX_TAGS = 20
MAX_TAG = 32
MAX_SUGGEST_TEXT = 20000


class EntryStatus(StrEnum):
    draft = "draft"  # being written or proposed; leaders and admins see it, suggestions do not use it
    published = "published"  # in force: suggested to operators
    archived = "archived"  # withdrawn; kept because replies point at its versions


STATUS_LABELS = {EntryStatus.draft: "草稿", EntryStatus.published: "已发布", EntryStatus.archived: "已归档"}

# Separators inside one cell of a list (alternative questions, tags, channels) in files.
LIST_SEPARATOR = "|"


def _clean_list(values: list[str], *, limit: int, max_length: int, what: str) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        value = value.strip()
        if not value:
            continue
        if len(value) > max_length:
            raise ValueError(f"{what}每项不超过{max_length}个字符")
        if LIST_SEPARATOR in value or "\n" in value:
            raise ValueError(f"{what}不能包含“|”或换行（导入导出时用作分隔符）")
        seen[value] = None
    if len(seen) > limit:
        raise ValueError(f"{what}最多{limit}项")
    return list(seen)


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} 必须带时区，例如 2026-01-01T00:00:00+08:00")
    return value


class EntryFields(SQLModel):
    """The versioned content of an entry."""

    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION,
        description="标准问题",
        schema_extra={"examples": ["居民身份证有效期满了怎么换领？"]},
    )
    answer: str = Field(
        min_length=1,
        max_length=MAX_ANSWER,
        description="标准答案（统一口径）",
        schema_extra={
            "examples": [
                "有效期满前三个月内，本人携带原证到户籍所在地派出所办理换领，工本费20元，约15个工作日取证。"
            ]
        },
    )
    unit_code: str | None = Field(
        default=None, max_length=64, description="所属单位；为空表示全县共用（仅管理员可维护）"
    )
    alt_questions: list[str] = Field(
        default_factory=list,
        description="相似问法（群众的其他说法）",
        schema_extra={"examples": [["身份证过期了怎么办", "身份证到期换证去哪里"]]},
    )
    tags: list[str] = Field(default_factory=list, schema_extra={"examples": [["户籍", "证件"]]})
    channels: list[Platform] = Field(
        default_factory=list,
        description="适用渠道（wechat/weibo/douyin/generic=网站·App·12345）；为空表示全部渠道",
    )
    valid_from: datetime | None = Field(default=None, description="生效时间（含时区）；为空表示立即生效")
    valid_to: datetime | None = Field(
        default=None, description="失效时间（含时区，含当时）；为空表示长期有效"
    )

    @field_validator("question", "answer")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("不能为空")
        return value

    @field_validator("alt_questions")
    @classmethod
    def _alts(cls, value: list[str]) -> list[str]:
        return _clean_list(value, limit=MAX_ALT_QUESTIONS, max_length=MAX_QUESTION, what="相似问法")

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return _clean_list(value, limit=MAX_TAGS, max_length=MAX_TAG, what="标签")

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[Platform]) -> list[Platform]:
        return list(dict.fromkeys(value))

    @field_validator("valid_from")
    @classmethod
    def _from_aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value, "valid_from")

    @field_validator("valid_to")
    @classmethod
    def _to_aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value, "valid_to")

    @model_validator(mode="after")
    def _window(self) -> EntryFields:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("失效时间不能早于生效时间")
        return self


class EntryCreate(EntryFields):
    status: EntryStatus = Field(
        default=EntryStatus.published, description="draft 草稿；published 发布（默认）"
    )
    note: str | None = Field(default=None, max_length=200, description="修改说明（记入版本历史）")


class EntryUpdate(SQLModel):
    """Only the fields given change; a change of content makes a new version."""

    question: str | None = Field(default=None, min_length=1, max_length=MAX_QUESTION)
    answer: str | None = Field(default=None, min_length=1, max_length=MAX_ANSWER)
    unit_code: str | None = Field(default=None, max_length=64)
    alt_questions: list[str] | None = None
    tags: list[str] | None = None
    channels: list[Platform] | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    status: EntryStatus | None = None
    note: str | None = Field(default=None, max_length=200, description="修改说明（记入版本历史）")


class KnowledgeEntry(SQLModel, table=True):
    """An entry as it stands now (its newest version) with its status."""

    __tablename__ = "kb_entries"
    __table_args__ = (
        # One entry per question and unit ("" = shared): what makes imports idempotent.
        UniqueConstraint("scope_key", "question_key", name="uq_kb_entries_scope_question"),
        Index("ix_kb_entries_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_code: str | None = Field(
        default=None, sa_column=Column(String(64), ForeignKey("units.code"), nullable=True, index=True)
    )
    scope_key: str = Field(max_length=64)
    question_key: str = Field(max_length=MAX_QUESTION)
    status: str = Field(default=EntryStatus.published, max_length=16)
    version: int = 1
    # Random per change of the row (content or status): what an index compares to find changed entries,
    # which (id, version) alone cannot do across a restored or recreated database.
    revision: str = Field(max_length=32)
    question: str = Field(max_length=MAX_QUESTION)
    answer: str = Field(sa_column=Column(Text, nullable=False))
    alt_questions: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # "|tag|tag|": lets the list filter by tag with a plain LIKE on SQLite and PostgreSQL alike.
    tag_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source_reply_id: int | None = None
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class KnowledgeEntryVersion(SQLModel, table=True):
    """One version of an entry's content; replies keep (entry id, version) of the answer they used."""

    __tablename__ = "kb_entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_kb_entry_versions_entry_version"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(sa_column=Column(Integer, ForeignKey("kb_entries.id"), nullable=False))
    version: int
    unit_code: str | None = Field(default=None, max_length=64)
    question: str = Field(max_length=MAX_QUESTION)
    answer: str = Field(sa_column=Column(Text, nullable=False))
    alt_questions: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=200)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class KnowledgeState(SQLModel, table=True):
    """One row, bumped in the same transaction as every KB change: each process's index compares it with
    the state it was built from and catches up."""

    __tablename__ = "kb_state"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    version: int
    # Random per change: a database recreated with the same version number still reads as changed.
    stamp: str = Field(max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- API shapes --------------------------------------------------------------------------------------------


class EntryPublic(SQLModel):
    id: int
    unit_code: str | None
    question: str
    answer: str
    alt_questions: list[str]
    tags: list[str]
    channels: list[str]
    valid_from: datetime | None
    valid_to: datetime | None
    status: str
    version: int = Field(description="当前版本号；每次修改内容加一")
    source_reply_id: int | None = Field(description="由哪条已发布答复提议而来")
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


class EntryPage(SQLModel):
    items: list[EntryPublic]
    next_cursor: str | None = Field(description="下一页游标；为空表示没有更多")


class VersionPublic(SQLModel):
    entry_id: int
    version: int
    unit_code: str | None
    question: str
    answer: str
    alt_questions: list[str]
    tags: list[str]
    channels: list[str]
    valid_from: datetime | None
    valid_to: datetime | None
    note: str | None
    created_by: str
    created_at: datetime


class SuggestRequest(SQLModel):
    text: str = Field(
        min_length=1,
        max_length=MAX_SUGGEST_TEXT,
        description="群众留言原文（只匹配开头和结尾各1000字）",
        schema_extra={"examples": ["我身份证下个月就过期了，现在能提前去换吗？"]},
    )
    unit_code: str | None = Field(default=None, max_length=64, description="优先该单位的条目（如分办结果）")
    limit: int = Field(default=5, ge=1, le=20)
    channel: Platform | None = Field(default=None, description="留言来自哪个渠道；只建议适用于该渠道的条目")


class SuggestionPublic(SQLModel):
    entry_id: int
    version: int = Field(description="条目版本：引用该建议的答复记录此版本")
    question: str
    answer: str
    unit_code: str | None
    score: float = Field(description="相似度 0–1")
    confident: bool = Field(
        description="有把握：明显胜过第二条（按开发集校准），可直接采用（只有第一条可能为 true）"
    )
    matched_terms: list[str] = Field(
        description="匹配依据：共有的词、同音字（补半≈补办）、拼音缩写（sfz=身份证）"
    )
    matched_field: str = Field(description="question 标准问题、alt 相似问法、answer 答案")


class SuggestResponse(SQLModel):
    suggestions: list[SuggestionPublic]


class RejectedRow(SQLModel):
    row: int = Field(description="行号（表头为第1行）")
    reason: str


class ImportReport(SQLModel):
    total: int = Field(description="数据行数")
    created: int
    updated: int = Field(description="已有条目（同一单位、同一问题）内容变化，生成新版本")
    unchanged: int
    rejected: list[RejectedRow]
    ignored_columns: list[str] = Field(default_factory=list, description="未识别而忽略的列")


class ProposeRequest(SQLModel):
    question: str | None = Field(
        default=None,
        max_length=MAX_QUESTION,
        description="标准问题；为空时取留言内容（已脱敏）",
        schema_extra={"examples": ["新生儿落户需要带哪些材料？"]},
    )
    alt_questions: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class IndexStatus(SQLModel):
    ready: bool = Field(description="索引已载入")
    entries: int = Field(description="索引中的条目数（已发布且在有效期内）")
    kb_version: int | None = Field(description="索引对应的问答库版本")
    built_at: datetime | None


def entry_public(entry: KnowledgeEntry) -> EntryPublic:
    assert entry.id is not None
    return EntryPublic.model_validate(entry, from_attributes=True)


def version_public(version: KnowledgeEntryVersion) -> VersionPublic:
    return VersionPublic.model_validate(version, from_attributes=True)


def content_of(entry: KnowledgeEntry | KnowledgeEntryVersion) -> dict[str, Any]:
    """The versioned fields of an entry or a version, JSON-ready (for audit events and comparisons)."""
    return {
        "unit_code": entry.unit_code,
        "question": entry.question,
        "answer": entry.answer,
        "alt_questions": list(entry.alt_questions or []),
        "tags": list(entry.tags or []),
        "channels": list(entry.channels or []),
        "valid_from": entry.valid_from.isoformat() if entry.valid_from else None,
        "valid_to": entry.valid_to.isoformat() if entry.valid_to else None,
    }
