"""HTTP routes for supervision: rectification records (整改), the notices sent, deadline extensions (延期)
and inspection rounds (通报、抽查)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.deps import CurrentUser, SessionDep
from app.supervision import extensions, notices, rectification
from app.supervision.models import (
    CloseFindingRequest,
    ExtensionDecision,
    ExtensionPublic,
    ExtensionRequest,
    ExtensionState,
    RectificationPublic,
    RectificationSource,
    RectificationState,
    RectifyRequest,
    SupervisionNoticePublic,
)

router = APIRouter(prefix="/supervision", tags=["督查"])


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
