"""HTTP routes for the account registry (备案), its lifecycle approvals, post reports and zombie checks."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response, status

from app import clock
from app.accounts import service as accounts
from app.accounts.models import AccountPublic
from app.calendar.service import load_calendar
from app.config import get_settings
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.registry import export, service, zombie
from app.registry.models import (
    AccountCheckPublic,
    CheckSummary,
    EventCreate,
    EventDecision,
    PostReport,
    Registration,
    RegistrationCreate,
    RegistrationPublic,
    RegistrationStatus,
    RegistryEventPublic,
    RegistryPlatform,
    UnregisteredAccount,
)
from app.units import service as units
from app.users.models import Role

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(prefix="/registry", tags=["账号备案"])
posts_router = APIRouter(prefix="/accounts", tags=["账号"])


def _publish(
    session: SessionDep, user: CurrentUser, registrations: list[Registration]
) -> list[RegistrationPublic]:
    flags = service.flags(
        session=session,
        registrations=registrations,
        calendar=load_calendar(session=session),
        tz=get_settings().tz,
    )
    return [service.public(r, flag_list=flags.get(r.id or 0, []), principal=user) for r in registrations]


@router.post(
    "/accounts", response_model=RegistrationPublic, status_code=status.HTTP_201_CREATED, summary="账号备案"
)
def register(
    data: RegistrationCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> RegistrationPublic:
    """填写备案表：主办单位、负责人及职务、联系电话、平台、账号名称、账号ID或网址、微信号与原始ID、开设日期、
    粉丝数、平均阅读量、更新频率；可关联本系统账号。提交后生成“开设”事件，待督办单位审批。
    开设后超过3个工作日才备案的会被标记。"""
    registration = service.register(session=session, actor=user, data=data, tz=settings.tz)
    return _publish(session, user, [registration])[0]


@router.get("/accounts", response_model=list[RegistrationPublic], summary="备案列表")
def list_registrations(
    session: SessionDep,
    user: CurrentUser,
    unit_code: str | None = None,
    platform: RegistryPlatform | None = None,
    status: RegistrationStatus | None = None,
    flag: Annotated[
        str | None,
        Query(
            description="只列出带此标记的：late_registration / late_filing / short_notice / duplicate_platform / zombie"
        ),
    ] = None,
) -> list[RegistrationPublic]:
    """备案账号及其标记：开设逾期备案、变更/关停/注销逾期报备、关停或变更提前不足7个工作日报备、
    同一单位同一平台多个账号、僵尸账号。
    联系电话只对督办、管理员和本单位负责人显示全号，其他角色看到脱敏值。"""
    rows = service.list_registrations(
        session=session,
        principal=user,
        unit_code=unit_code,
        platform=platform.value if platform else None,
        status=status.value if status else None,
    )
    out = _publish(session, user, rows)
    if flag:
        out = [r for r in out if any(f.code == flag for f in r.flags)]
    return out


@router.get(
    "/accounts.xlsx",
    summary="导出登记表和统计表（XLSX）",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "登记表、统计表两个工作表"}},
)
def export_registrations(session: SessionDep, user: CurrentUser, unit_code: str | None = None) -> Response:
    """按通知的《政务新媒体账号登记表》栏目导出（类型、主体单位、账号名称、账号地址/ID、负责人、职务、
    联系电话、运维人员、开设日期、认证情况），另附按单位、平台汇总的统计表。电话按当前角色脱敏。"""
    rows = service.list_registrations(session=session, principal=user, unit_code=unit_code)
    names = {u.code: u.name for u in units.list_units(session=session, principal=user)}
    body = export.to_xlsx(_publish(session, user, rows), names)
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(export.FORM_TITLE)}.xlsx"},
    )


@router.get("/unregistered", response_model=list[UnregisteredAccount], summary="未备案账号")
def unregistered(session: SessionDep, user: CurrentUser) -> list[UnregisteredAccount]:
    """在用但没有已批准备案的账号（从未备案或备案待审批），收留言多的在前：不得瞒报、漏报。"""
    return service.unregistered(session=session, principal=user)


@router.get("/accounts/{registration_id}", response_model=RegistrationPublic, summary="备案详情")
def get_registration(registration_id: int, session: SessionDep, user: CurrentUser) -> RegistrationPublic:
    registration = service.get(session=session, registration_id=registration_id, principal=user)
    return _publish(session, user, [registration])[0]


@router.get(
    "/accounts/{registration_id}/events", response_model=list[RegistryEventPublic], summary="备案变更记录"
)
def list_events(registration_id: int, session: SessionDep, user: CurrentUser) -> object:
    """开设、变更、关停、注销事件及其审批情况，按时间顺序。"""
    return service.list_events(session=session, principal=user, registration_id=registration_id)


@router.post(
    "/accounts/{registration_id}/events",
    response_model=RegistryEventPublic,
    status_code=status.HTTP_201_CREATED,
    summary="提交变更、关停或注销",
)
def submit_event(
    registration_id: int, data: EventCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> object:
    """提交变更（changes 中给出要改的字段，含 unit_code 变更主体单位）、关停或注销。变更和关停须提前7个工作日
    报备、经督办单位批准后方可实施：生效日期必须晚于报备日期，提前不足7个工作日会被标记；开设、变更、关停、
    注销都应在生效后3个工作日内报备，逾期会被标记。每个备案同时只能有一个待审批或待生效的事件。"""
    return service.submit_event(
        session=session, actor=user, registration_id=registration_id, data=data, tz=settings.tz
    )


@router.get("/events/pending", response_model=list[RegistryEventPublic], summary="待审批事件")
def pending(session: SessionDep, user: CurrentUser) -> object:
    return service.pending_events(session=session, principal=user)


@router.post("/events/{event_id}/approve", response_model=RegistryEventPublic, summary="审批通过")
def approve(
    event_id: int, data: EventDecision, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> object:
    """督办单位（supervisor）或管理员审批通过。生效日期已到的随即生效，未到的在生效日由每日任务生效；
    变更或关停的生效日期早于批准日期的拒绝（409）：须批准后方可实施。"""
    return service.decide_event(
        session=session,
        actor=user,
        event_id=event_id,
        approve=True,
        note=data.note,
        tz=settings.tz,
        decided_on=data.decided_on,
    )


@router.post("/events/{event_id}/reject", response_model=RegistryEventPublic, summary="驳回")
def reject(
    event_id: int, data: EventDecision, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> object:
    """驳回须填写审批意见。"""
    return service.decide_event(
        session=session,
        actor=user,
        event_id=event_id,
        approve=False,
        note=data.note,
        tz=settings.tz,
        decided_on=data.decided_on,
    )


@router.get("/zombies", response_model=list[AccountCheckPublic], summary="僵尸账号")
def zombies(
    session: SessionDep,
    user: CurrentUser,
    all: Annotated[bool, Query(description="true：列出所有账号的最近检查结果")] = False,
) -> list[AccountCheckPublic]:
    """每日检查结果：zombie 僵尸账号只看更新（默认超过14天即两周未更新，可用 HUIYING_ZOMBIE_DAYS 设为15天）；
    unresponsive 有留言超期未答复（互动回应不及时），与僵尸分开标记；warning 即将达到未更新天数（默认10天）已预警。
    默认列出僵尸或回应不及时的账号。"""
    return zombie.list_checks(session=session, principal=user, zombies_only=not all)


@router.post("/zombie-check", response_model=CheckSummary, summary="立即检查僵尸账号")
def run_check(session: SessionDep, user: CurrentUser, settings: SettingsDep) -> CheckSummary:
    """不等每日任务，立即检查全部账号（督办、管理员）。"""
    user.require(Role.admin, Role.supervisor)
    return zombie.check_accounts(session=session, now=clock.now(), tz=settings.tz)


@posts_router.post("/{account_id}/posts", response_model=AccountPublic, summary="报告账号发布")
def report_post(account_id: int, data: PostReport, session: SessionDep, user: CurrentUser) -> AccountPublic:
    """报告账号在平台上发布了内容（连接器能获取时自动报告）；用于僵尸账号检查的“最近发布时间”，只会前移。"""
    account = zombie.record_post(session=session, actor=user, account_id=account_id, posted_at=data.posted_at)
    return accounts.public(account)
