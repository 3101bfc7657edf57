"""HTTP routes for supervision: rectification records (整改), the notices sent, deadline extensions (延期)
and inspection rounds (通报、抽查)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status

from app import clock
from app.accounts import service as accounts
from app.accounts.models import AccountPublic
from app.channels.http import UNAUTHENTICATED, raw_body_doc, read_body
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.supervision import extensions, inspections, notices, posts, rectification
from app.supervision.models import (
    BulletinCreate,
    CloseFindingRequest,
    ExtensionDecision,
    ExtensionPublic,
    ExtensionRequest,
    ExtensionState,
    FindingCreate,
    InspectionKind,
    InspectionPublic,
    RectificationPublic,
    RectificationSource,
    RectificationState,
    RectifyRequest,
    SamplingCreate,
    SupervisionNoticePublic,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
router = APIRouter(prefix="/supervision", tags=["督查"])
# Signed like the platform pushes (no token): a website/app telling that the account published something.
posts_webhook_router = APIRouter(prefix="/webhooks", tags=["平台接入"])


@posts_webhook_router.post(
    "/generic/{account_id}/posts",
    summary="网站/App 发布推送（签名）",
    response_model=AccountPublic,
    responses=UNAUTHENTICATED,
    openapi_extra=raw_body_doc(
        "application/json",
        '{"external_id":"news-20240506-01","posted_at":"2024-05-06T09:30:00+08:00","title":"关于五一假期办事安排的通知"}',
    ),
)
async def generic_post(account_id: int, request: Request, session: SessionDep) -> object:
    """网站或 App 发布了内容（签名方式同留言推送）：更新账号的“最近发布时间”（只前移），
    供僵尸账号检查使用。"""
    body = await read_body(request)
    account = posts.record_pushed(
        session=session, account_id=account_id, headers=request.headers, body=body, now=clock.now()
    )
    return accounts.public(account)


@router.get("/rectifications", response_model=list[RectificationPublic], summary="整改记录")
def list_rectifications(
    session: SessionDep,
    user: CurrentUser,
    source: RectificationSource | None = None,
    state: RectificationState | None = None,
    inspection_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> object:
    """僵尸账号和抽查发现问题的整改记录：notified 已通知 → rectified 已整改 → closed 已销号；
    逾期未整改为 escalated（已报告督办单位）。本单位角色只看到本单位的记录。"""
    return rectification.list_rectifications(
        session=session,
        principal=user,
        source=source.value if source else None,
        state=state.value if state else None,
        inspection_id=inspection_id,
        limit=limit,
    )


@router.post(
    "/rectifications/{rectification_id}/rectify", response_model=RectificationPublic, summary="报告整改情况"
)
def rectify(rectification_id: int, data: RectifyRequest, session: SessionDep, user: CurrentUser) -> object:
    """单位负责人（或督办、管理员）报告整改情况；僵尸账号在检测到新发布后自动记为已整改。"""
    return rectification.rectify(
        session=session, actor=user, rectification_id=rectification_id, note=data.note
    )


@router.post(
    "/rectifications/{rectification_id}/close", response_model=RectificationPublic, summary="整改销号"
)
def close(rectification_id: int, data: CloseFindingRequest, session: SessionDep, user: CurrentUser) -> object:
    """督办单位复核已整改的记录并销号。"""
    return rectification.close(session=session, actor=user, rectification_id=rectification_id, note=data.note)


@router.get("/notices", response_model=list[SupervisionNoticePublic], summary="督查通知")
def list_notices(
    session: SessionDep,
    user: CurrentUser,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> object:
    """发出的督查通知（更新预警、僵尸账号整改通知、逾期报告、通报、节假日安排提醒），最新的在前；
    本单位角色只看到发给本单位的。"""
    return notices.list_notices(session=session, principal=user, kind=kind, limit=limit)


extensions_router = APIRouter(tags=["督查"])


@extensions_router.post(
    "/messages/{message_id}/extensions",
    response_model=ExtensionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="申请延期",
)
def request_extension(
    message_id: int, data: ExtensionRequest, session: SessionDep, user: CurrentUser
) -> object:
    """承办单位在截止时间前申请延长答复时限（1–15个工作日，累计不超过15个），须说明理由；
    督办单位批准前截止时间不变。"""
    return extensions.request(session=session, actor=user, message_id=message_id, data=data)


@extensions_router.get("/extensions", response_model=list[ExtensionPublic], summary="延期申请列表")
def list_extensions(
    session: SessionDep,
    user: CurrentUser,
    state: ExtensionState | None = None,
    message_id: int | None = None,
) -> object:
    """延期申请（pending 待审批 / approved 已批准 / rejected 已驳回）；本单位角色只看到本单位的。"""
    return extensions.list_extensions(
        session=session, principal=user, state=state.value if state else None, message_id=message_id
    )


@extensions_router.post(
    "/extensions/{extension_id}/approve", response_model=ExtensionPublic, summary="批准延期"
)
def approve_extension(
    extension_id: int, data: ExtensionDecision, session: SessionDep, user: CurrentUser
) -> object:
    """督办单位（supervisor）或管理员批准：截止时间从原截止日起顺延所批工作日，时限说明注明延期及理由。"""
    return extensions.decide(
        session=session, actor=user, extension_id=extension_id, approve=True, note=data.note
    )


@extensions_router.post(
    "/extensions/{extension_id}/reject", response_model=ExtensionPublic, summary="驳回延期"
)
def reject_extension(
    extension_id: int, data: ExtensionDecision, session: SessionDep, user: CurrentUser
) -> object:
    """驳回须填写审批意见；截止时间不变。"""
    return extensions.decide(
        session=session, actor=user, extension_id=extension_id, approve=False, note=data.note
    )


@router.post("/bulletins", response_model=InspectionPublic, summary="生成通报")
def make_bulletin(
    data: BulletinCreate, response: Response, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> object:
    """生成一个周期（周、季度、半年）的通报：按时答复率、未按时答复和超期未答复、僵尸账号、未备案账号、
    排名靠后的单位，并发送到督办单位的通知渠道。同一周期只生成一次（再次请求返回已有通报，200）。"""
    item, created = inspections.bulletin(session=session, actor=user, key=data.period_key, tz=settings.tz)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return item


@router.get("/inspections", response_model=list[InspectionPublic], summary="通报与抽查记录")
def list_inspections(session: SessionDep, user: CurrentUser, kind: InspectionKind | None = None) -> object:
    """通报（bulletin）和抽查（sampling）记录，最新的在前；本单位角色只看到通报。"""
    return inspections.list_inspections(session=session, principal=user, kind=kind.value if kind else None)


@router.get(
    "/inspections/{inspection_id}.xlsx",
    summary="导出通报（XLSX）",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "通报、各单位、僵尸账号、未备案账号四个工作表"}},
)
def bulletin_file(inspection_id: int, session: SessionDep, user: CurrentUser) -> Response:
    """通报的 XLSX 文件（所有角色可下载通报）。"""
    item = inspections.get_bulletin(session=session, inspection_id=inspection_id)
    return Response(
        inspections.bulletin_xlsx(item),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(item.title)}.xlsx"},
    )


@router.post(
    "/samplings", response_model=InspectionPublic, status_code=status.HTTP_201_CREATED, summary="抽查"
)
def make_sampling(
    data: SamplingCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> object:
    """按周期随机抽取留言和账号进行检查（给定 seed 可复现同一样本），记录抽查范围。"""
    return inspections.sampling(session=session, actor=user, data=data, tz=settings.tz)


@router.post(
    "/inspections/{inspection_id}/findings",
    response_model=RectificationPublic,
    status_code=status.HTTP_201_CREATED,
    summary="登记抽查发现的问题",
)
def add_finding(
    inspection_id: int, data: FindingCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> object:
    """登记抽查中发现的问题（须是本次抽查的留言或账号），生成整改记录并通知整改单位：
    单位报告整改情况后，由督办单位复核销号。"""
    return inspections.record_finding(
        session=session, actor=user, inspection_id=inspection_id, data=data, tz=settings.tz
    )
