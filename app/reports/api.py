"""HTTP routes for supervision reports (JSON, CSV, XLSX), the overdue view and hot topics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response
from sqlmodel import Session

from app import clock
from app.auth import Principal
from app.bounds import BoundedDate, BoundedDatetime
from app.calendar.service import load_calendar
from app.config import Settings
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.errors import BadRequest
from app.reports import alerts, export, service
from app.reports.models import (
    Dimension,
    OverdueReport,
    Report,
    ReportFormat,
    TopicAlertPublic,
    TopicReport,
)
from app.reports.periods import Period
from app.reports.topics import TopicSettings, hot_topics
from app.sla.escalation import load_settings
from app.units import service as units
from app.users.models import Role

router = APIRouter(prefix="/reports", tags=["统计报表"])

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON 报表；`format=csv` 或 `format=xlsx` 时为带中文表头的文件（最后一行为合计）",
        "content": {"text/csv": {}, XLSX_TYPE: {}},
    }
}

FromQuery = Annotated[
    BoundedDate | None, Query(alias="from", description="起始日期（含，本地时间），如 2020-01-01")
]
ToQuery = Annotated[
    BoundedDate | None, Query(alias="to", description="截止日期（含，本地时间），如 2020-12-31")
]
PeriodQuery = Annotated[Period | None, Query(description="再按周期细分：day / week / month / quarter")]
FormatQuery = Annotated[ReportFormat, Query(description="json / csv / xlsx")]


def _respond(report: Report, fmt: ReportFormat) -> Response | Report:
    if fmt == ReportFormat.json:
        return report
    if fmt == ReportFormat.csv:
        body, media, ext = export.to_csv(report), "text/csv; charset=utf-8", "csv"
    else:
        body, media, ext = export.to_xlsx(report), XLSX_TYPE, "xlsx"
    name = export.filename(report, ext)
    disposition = f"attachment; filename=report.{ext}; filename*=UTF-8''{quote(name)}"
    return Response(content=body, media_type=media, headers={"Content-Disposition": disposition})


@dataclass(frozen=True)
class ReportQuery:
    """What every report endpoint takes: the caller, the date range, the unit filter and the format."""

    session: Session
    user: Principal
    settings: Settings
    date_from: date | None
    date_to: date | None
    format: ReportFormat
    unit_code: str | None


def _report_query(
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    format: FormatQuery = ReportFormat.json,
    unit_code: str | None = None,
) -> ReportQuery:
    return ReportQuery(session, user, settings, date_from, date_to, format, unit_code)


ReportQueryDep = Annotated[ReportQuery, Depends(_report_query)]


def _report(dimension: Dimension, q: ReportQuery, period: Period | None, platform: str | None) -> Any:
    """Builds the report for `dimension` and answers it in the requested format."""
    if q.unit_code is not None:
        units.require(session=q.session, code=q.unit_code, principal=q.user)
    sla_settings = load_settings(session=q.session)
    report = service.build_report(
        session=q.session,
        principal=q.user,
        dimension=dimension,
        period=period,
        date_from=q.date_from,
        date_to=q.date_to,
        now=clock.now(),
        calendar=load_calendar(session=q.session),
        tz=q.settings.tz,
        unit_code=q.unit_code,
        platform=platform,
        work_hours=(sla_settings.work_start, sla_settings.work_end),
    )
    return _respond(report, q.format)


@router.get("/units", response_model=Report, responses=FILE_RESPONSES, summary="各单位办理情况")
def units_report(q: ReportQueryDep, period: PeriodQuery = None, platform: str | None = None) -> Any:
    """按单位统计某段时间（按收到时间）内的留言：收到、已答复、按时/超期答复、超期未答复、非受理范围、转办、
    督办，以及首次答复用时的中位数和第90百分位（工作日、工作小时）。按时答复率 = 按时答复 ÷（按时答复 +
    超期答复 + 超期未答复）。单位角色只看到本单位及下级单位；督办、审计、管理员看到全部。
    不带 `from`、`to` 时统计全部留言；督办看板（/board）未选日期时按最近30天（截至服务器的今天）请求。
    整日、整周、整月的数字取自后台任务 report-rollups 预先汇总的结果；留言有任何变动，该时段即改为实时统计，
    待答复留言始终实时统计，所以结果总是最新的，统计一年或全部留言也很快。"""
    return _report(Dimension.unit, q, period, platform)


@router.get("/accounts", response_model=Report, responses=FILE_RESPONSES, summary="各账号办理情况")
def accounts_report(q: ReportQueryDep, period: PeriodQuery = None, platform: str | None = None) -> Any:
    """按账号统计（指标同各单位报表），并附最近一次僵尸账号检查结果。"""
    return _report(Dimension.account, q, period, platform)


@router.get("/platforms", response_model=Report, responses=FILE_RESPONSES, summary="各平台办理情况")
def platforms_report(q: ReportQueryDep, period: PeriodQuery = None) -> Any:
    """按平台（微信、微博、抖音、网站/App）统计，指标同各单位报表。"""
    return _report(Dimension.platform, q, period, None)


@router.get("/periods", response_model=Report, responses=FILE_RESPONSES, summary="办理情况趋势")
def periods_report(
    q: ReportQueryDep,
    period: Annotated[Period, Query(description="day / week / month / quarter")] = Period.week,
    platform: str | None = None,
) -> Any:
    """按周期（默认按周，周一开始）统计，没有留言的周期也列出。"""
    return _report(Dimension.period, q, period, platform)


@router.get("/overdue", response_model=OverdueReport, summary="超期未答复留言")
def overdue(
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    unit_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200, description="列出超期最久的前几条")] = 20,
) -> OverdueReport:
    """未答复且已过截止时间的留言：按超期多久分组、按单位计数、超期最久的几条（摘要已脱敏）；
    以及今天和3个工作日内到期的数量。"""
    if unit_code is not None:
        units.require(session=session, code=unit_code, principal=user)
    return service.overdue_report(
        session=session,
        principal=user,
        now=clock.now(),
        calendar=load_calendar(session=session),
        tz=settings.tz,
        unit_code=unit_code,
        limit=limit,
    )


@router.get("/topics", response_model=TopicReport, summary="舆情热点")
def topics(
    session: SessionDep,
    user: CurrentUser,
    config: SettingsDep,
    at: Annotated[BoundedDatetime | None, Query(description="窗口结束时间（含时区），默认现在")] = None,
    window_hours: Annotated[float, Query(gt=0, le=24 * 92, description="窗口长度（小时），如 24、168")] = 24,
    baseline_windows: Annotated[int, Query(ge=1, le=30, description="与此前多少个窗口的平均量比较")] = 7,
    min_count: Annotated[int, Query(ge=1, le=10_000, description="本窗口至少多少条留言")] = 3,
    min_lift: Annotated[
        float, Query(ge=1, le=100, description="至少是基线的多少倍（(本窗口+1)÷(基线+1)）")
    ] = 3.0,
    unit_code: str | None = None,
) -> TopicReport:
    """最近一个窗口内数量明显高于此前基线的词（jieba 分词，去停用词）和留言簇，附涉及单位与示例留言
    （已脱敏）。单位角色只统计本单位及下级单位的留言。"""
    if at is not None and at.tzinfo is None:
        raise BadRequest("at 必须带时区，例如 2026-03-01T12:00:00+08:00")
    if unit_code is not None:
        units.require(session=session, code=unit_code, principal=user)
    settings = TopicSettings(
        window=timedelta(hours=window_hours),
        baseline_windows=baseline_windows,
        min_count=min_count,
        min_lift=min_lift,
    )
    return hot_topics(
        session=session,
        principal=user,
        at=at or clock.now(),
        settings=settings,
        unit_code=unit_code,
        tz=config.tz,
    )


@router.get("/topic-alerts", response_model=list[TopicAlertPublic], summary="舆情热点提醒记录")
def topic_alerts(
    session: SessionDep, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> object:
    """发给督办单位的热点提醒及其发送状态（阈值：24小时内至少5条且为此前7天日均的3倍以上）。"""
    user.require(Role.admin, Role.supervisor, Role.auditor)
    return alerts.list_alerts(session=session, limit=limit)
