"""Working-day calendar tables and API shapes: the administrator's day overrides, the years entered in
full, the version row every process checks its cached calendar against, and the deadline calculator's
answer."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any, Literal

from pydantic import field_validator
from sqlalchemy import Column, Date, Integer
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime

DayKind = Literal["holiday", "workday"]


class CalendarDay(SQLModel, table=True):
    """An administrator's override for one date; it wins over the official arrangement."""

    __tablename__ = "calendar_days"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_column=Column(Date, unique=True, nullable=False))
    kind: str = Field(max_length=16)
    note: str = Field(default="", max_length=200)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CalendarYear(SQLModel, table=True):
    """A year whose whole arrangement has been entered: its days without an override are plain
    Monday–Friday, no longer provisional."""

    __tablename__ = "calendar_years"

    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    note: str = Field(default="", max_length=200)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CalendarVersion(SQLModel, table=True):
    """One row, bumped with every calendar change, so each process knows when its cached calendar is stale."""

    __tablename__ = "calendar_version"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    version: int = 0
    # Random per change: a counter alone could repeat after the table is emptied and refilled.
    stamp: str = Field(default="", max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class DayPut(SQLModel):
    kind: DayKind = Field(
        description="holiday 放假 / workday 上班（调休）", schema_extra={"examples": ["holiday"]}
    )
    note: str = Field(default="", max_length=200, schema_extra={"examples": ["2027年春节"]})


class YearDay(DayPut):
    date: dt.date = Field(schema_extra={"examples": ["2027-02-06"]})


class YearPut(SQLModel):
    days: list[YearDay] = Field(
        description="这一年所有与“周一至周五上班”不同的日子（放假的工作日、调休上班的周末），"
        "以及需要标注的假日周末；替换该年原有的全部设置",
        max_length=366,
    )
    complete: bool = Field(
        default=True, description="true：该年放假安排已完整录入，其余日子按常规作息，不再是暂定"
    )
    note: str = Field(default="", max_length=200, schema_extra={"examples": ["国办发明电〔2026〕X号"]})

    @field_validator("days")
    @classmethod
    def _unique_days(cls, value: list[YearDay]) -> list[YearDay]:
        seen: set[date] = set()
        for item in value:
            if item.date in seen:
                raise ValueError(f"日期 {item.date.isoformat()} 重复")
            seen.add(item.date)
        return value


class CalendarDayPublic(SQLModel):
    date: dt.date
    weekday: str
    workday: bool
    source: str = Field(
        description="official 国务院安排 / override 管理员设置 / provisional 暂定 / standard 常规"
    )
    source_label: str
    name: str | None
    label: str
    note: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None


class CalendarYearPublic(SQLModel):
    year: int
    official: bool = Field(description="安装的 chinesecalendar 含该年国务院放假安排")
    complete: bool = Field(description="管理员已录入该年完整安排")
    provisional: bool = Field(
        description="该年未设置的日子为暂定：周末及法定节假日（元旦、春节除夕至初三、清明、劳动节、端午、中秋、国庆，含补休；农历节日按农历推算）"
    )
    days: list[CalendarDayPublic]


class CalendarChangePublic(SQLModel):
    day: CalendarDayPublic | None = None
    year: int | None = None
    overrides: int | None = None
    complete: bool | None = None
    recomputed: int = Field(description="受影响并重新计算了截止时间的未办结留言数")


class DeadlinePublic(SQLModel):
    due_at: datetime
    provisional: bool
    working_days: int
    basis: dict[str, Any] = Field(description="计算依据：计入与跳过的日子及其来源、文字说明")
