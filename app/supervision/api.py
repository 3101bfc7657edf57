"""HTTP routes for supervision: rectification records (整改), the notices sent, deadline extensions (延期)
and inspection rounds (通报、抽查)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import CurrentUser, SessionDep
from app.supervision import notices, rectification
from app.supervision.models import (
    CloseFindingRequest,
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
