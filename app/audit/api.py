"""HTTP routes for reading the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app import privacy
from app.audit import service
from app.audit.models import AuditEventPublic
from app.deps import CurrentUser, SessionDep
from app.users.models import Role

router = APIRouter(prefix="/audit", tags=["审计日志"])


@router.get("/events", response_model=list[AuditEventPublic], summary="审计日志")
def list_events(
    session: SessionDep,
    user: CurrentUser,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    before_id: Annotated[int | None, Query(description="翻页：只返回ID小于此值的事件")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> object:
    """谁在何时做了什么、改动前后的内容。按时间倒序；单位角色只看到本单位及下级单位的事件。管理员、督办和审计员看到的内容中个人信息已脱敏；对方系统的原始应答（remote_detail）仅管理员可见。"""
    user.require(Role.admin, Role.supervisor, Role.auditor, Role.leader)
    events = service.list_events(
        session=session,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        units=user.units,
        before_id=before_id,
        limit=limit,
    )
    return [privacy.audit_public(e, user) for e in events]
