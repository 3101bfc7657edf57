"""Units (单位): a tree of government departments; each may name a supervisor unit that escalations go to."""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from app.config import DEFAULT_REPLY_WORKING_DAYS
from app.db import JSONType, UTCDateTime

CODE_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"


class UnitBase(SQLModel):
    code: str = Field(max_length=64, schema_extra={"pattern": CODE_PATTERN, "examples": ["xgaj"]})
    name: str = Field(min_length=1, max_length=128, schema_extra={"examples": ["县公安局"]})
    keywords: list[str] = Field(default_factory=list, schema_extra={"examples": [["身份证", "户口", "报警"]]})
    reply_working_days: int | None = Field(
        default=None,
        ge=1,
        le=15,
        description=f"该单位的答复时限（1–15个工作日），为空时用系统默认（{DEFAULT_REPLY_WORKING_DAYS}）；"
        f"修改会记入审计日志，报表注明非{DEFAULT_REPLY_WORKING_DAYS}天的时限",
    )

    @field_validator("keywords")
    @classmethod
    def _clean_keywords(cls, value: list[str]) -> list[str]:
        seen: dict[str, None] = {}
        for word in value:
            word = word.strip()
            if not word or len(word) > 64:
                raise ValueError("关键词不能为空且不超过64个字符")
            seen[word] = None
        return list(seen)


class UnitCreate(UnitBase):
    parent_code: str | None = Field(default=None, description="上级单位代码")
    supervisor_code: str | None = Field(default=None, description="主管（督办）单位代码")


class UnitUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    keywords: list[str] | None = None
    parent_code: str | None = None
    supervisor_code: str | None = None
    reply_working_days: int | None = Field(default=None, ge=1, le=15, description="答复时限（1–15个工作日）")


class Unit(UnitBase, table=True):
    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    parent_code: str | None = Field(
        default=None, sa_column=Column(String(64), ForeignKey("units.code"), nullable=True, index=True)
    )
    supervisor_code: str | None = Field(
        default=None, sa_column=Column(String(64), ForeignKey("units.code"), nullable=True)
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class UnitPublic(UnitBase):
    id: int
    parent_code: str | None
    supervisor_code: str | None
    created_at: datetime
    updated_at: datetime
