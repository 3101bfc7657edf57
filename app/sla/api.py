"""HTTP routes for deadlines: the working-day calendar, the deadline calculator, a message's deadline
basis, the escalation settings and the list of notification records (scoped by their messages' units)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from app import bounds, clock
from app.calendar import service as calendar
from app.calendar.models import CalendarChangePublic, CalendarYearPublic, DayPut, DeadlinePublic, YearPut
from app.config import get_settings
from app.deps import CurrentUser, SessionDep
from app.errors import Invalid
from app.messages import service as messages
from app.notifications import records
from app.notifications.models import NotificationPublic, NotificationState
from app.sla import days, escalation, service
from app.sla.models import MessageDeadlinePublic, SlaSettings
from app.units import service as units
from app.users.models import Role

TAG = "时限与日历"
router = APIRouter(prefix="/calendar", tags=[TAG])
sla_router = APIRouter(tags=[TAG])

YearParam = Annotated[
    int, Path(ge=calendar.MIN_YEAR, le=calendar.MAX_YEAR, description="年份", examples=[2027])
]
# An unencoded "+" in a query string arrives as a space: "…T10:00:00 08:00".
_SPACE_OFFSET = re.compile(r"^(.+T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def _parse_instant(value: str) -> datetime:
    text = value.strip()
    match = _SPACE_OFFSET.match(text)
    if match:
        text = f"{match.group(1)}+{match.group(2)}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(
            f"received_at 格式应为 ISO 8601，例如 2026-02-12T10:00:00+08:00（收到：{value}）"
        ) from exc
    if parsed.tzinfo is None:
        # A time without an offset is read as local time (HUIYING_TIMEZONE), as a clerk would mean it.
        parsed = parsed.replace(tzinfo=get_settings().tz)
    if not bounds.in_range(parsed):
        raise Invalid(f"received_at {bounds.RANGE_TEXT}（收到：{value}）")
    return parsed


@router.get("/deadline", response_model=DeadlinePublic, summary="计算答复时限")
def compute_deadline(
    session: SessionDep,
    user: CurrentUser,
    received_at: Annotated[
        str,
        Query(
            description="收到时间，ISO 8601；不带时区按本地时间（Asia/Shanghai）理解",
            examples=["2026-02-12T10:00:00+08:00"],
        ),
    ],
    working_days: Annotated[
        int | None,
        Query(ge=0, le=60, description="工作日数；0 = 不属于受理范围（当日答复）；为空取单位或系统默认"),
    ] = None,
    unit_code: Annotated[str | None, Query(description="按该单位的答复时限计算")] = None,
) -> DeadlinePublic:
    """按国务院放假安排（含调休上班）和管理员设置计算截止时间：收到当日不计入，第 N 个工作日
    23:59:59（本地时间）截止。`basis` 列出计入和跳过的每一天及其来源，便于核对。"""
    at = _parse_instant(received_at)
    if working_days is None:
        if unit_code is not None:
            units.require(session=session, code=unit_code, principal=user)
        working_days = service.reply_limit(session=session, unit_code=unit_code)
    result = service.compute_deadline(session=session, received_at=at, working_days=working_days)
    return DeadlinePublic(
        due_at=result.due_at,
        provisional=result.provisional,
        working_days=working_days,
        basis=result.to_dict(),
    )


@router.get("/days", response_model=CalendarYearPublic, summary="某年的放假与调休")
def list_days(
    session: SessionDep,
    user: CurrentUser,
    year: Annotated[
        int | None, Query(ge=calendar.MIN_YEAR, le=calendar.MAX_YEAR, description="年份，默认今年")
    ] = None,
) -> CalendarYearPublic:
    """列出该年所有与“周一至周五上班”不同的日子及管理员设置，`source` 为
    official（国务院安排）、override（管理员设置）或 provisional（暂定：该年安排尚未录入）。"""
    return calendar.list_year(session=session, year=year or clock.now().astimezone(get_settings().tz).year)


@router.put("/days/{day}", response_model=CalendarChangePublic, summary="设置某天放假或上班")
def put_day(day: date, data: DayPut, session: SessionDep, user: CurrentUser) -> CalendarChangePublic:
    """管理员设置某一天为放假（holiday）或上班（workday），优先于国务院安排。受影响的未办结留言
    立即重新计算截止时间，并记入审计日志。"""
    return days.set_day(session=session, actor=user, day=day, data=data)


@router.delete("/days/{day}", response_model=CalendarChangePublic, summary="取消某天的设置")
def delete_day(day: date, session: SessionDep, user: CurrentUser) -> CalendarChangePublic:
    """取消管理员设置，该日恢复按国务院安排（或常规作息）。受影响的留言重新计算。"""
    return days.clear_day(session=session, actor=user, day=day)


@router.put("/years/{year}", response_model=CalendarChangePublic, summary="录入一年的放假安排")
def put_year(year: YearParam, data: YearPut, session: SessionDep, user: CurrentUser) -> CalendarChangePublic:
    """一次录入某年全部放假日和调休上班日（替换该年原有设置），并可标记该年“已完整录入”：
    此后该年其余日子按常规作息，相关截止时间不再是暂定。未办结留言随即重新计算。"""
    return days.set_year(session=session, actor=user, year=year, data=data)


@sla_router.get(
    "/messages/{message_id}/deadline", response_model=MessageDeadlinePublic, summary="留言的时限与依据"
)
def message_deadline(message_id: int, session: SessionDep, user: CurrentUser) -> MessageDeadlinePublic:
    """这条留言的截止时间是怎么算出来的（计入/跳过的日子及来源）、当前时限状态、督办级别和已发出的提醒。"""
    message = messages.get(session=session, message_id=message_id, principal=user)
    assert message.id is not None
    return MessageDeadlinePublic(
        message_id=message.id,
        unit_code=message.unit_code,
        working_days=message.working_days,
        due_at=message.due_at,
        provisional=message.provisional,
        sla_state=message.sla_state,
        due_soon_at=message.due_soon_at,
        next_check_at=message.next_check_at,
        escalation_level=message.escalation_level,
        first_replied_at=message.first_replied_at,
        platform_window_closes_at=message.platform_window_closes_at,
        basis=message.deadline_basis,
        notifications=[records.public(n) for n in records.for_message(session, message.id)],
    )


@sla_router.get("/sla/settings", response_model=SlaSettings, summary="督办设置")
def get_settings_(session: SessionDep, user: CurrentUser) -> SlaSettings:
    """临期规则、例行提醒的工作时间、督办阶梯（每步：触发时点、通知对象、督办级别）。"""
    user.require(Role.admin, Role.supervisor, Role.auditor)
    return escalation.load_settings(session=session)


@sla_router.put("/sla/settings", response_model=SlaSettings, summary="修改督办设置")
def put_settings(data: SlaSettings, session: SessionDep, user: CurrentUser) -> SlaSettings:
    """修改临期规则、工作时间或督办阶梯（仅管理员）。所有未办结留言随即按新设置重新检查。"""
    saved, _ = escalation.update_settings(session=session, actor=user, data=data)
    return saved


@sla_router.get("/sla/notifications", response_model=list[NotificationPublic], summary="提醒与督办记录")
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    state: NotificationState | None = None,
    message_id: int | None = None,
    before_id: Annotated[int | None, Query(description="翻页：只返回ID小于此值的记录")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[NotificationPublic]:
    """每条留言每个督办步骤一条记录：pending 待发送、sent 已发送、failed 失败、skipped 跳过（无渠道等）、
    cancelled 已答复取消。单位负责人只看到本单位及下级单位的记录。"""
    user.require(Role.admin, Role.supervisor, Role.auditor, Role.leader)
    items = service.list_notifications(
        session=session,
        units=user.units,
        state=state.value if state else None,
        message_id=message_id,
        before_id=before_id,
        limit=limit,
    )
    return [records.public(n) for n in items]
