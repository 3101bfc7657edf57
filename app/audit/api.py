"""HTTP routes for reading the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.audit import service
from app.audit.models import AuditEventPublic
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.identity import Role

router = APIRouter(prefix="/audit", tags=["审计日志"])


@router.get("/events", response_model=list[AuditEventPublic], summary="审计日志")
def list_events(
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: Annotated[
        str | None, Query(description="操作，如 auth.login_failed；以“.”结尾表示一类，如 auth.")
    ] = None,
    actor_id: Annotated[int | None, Query(description="操作人（用户ID）")] = None,
    from_: Annotated[datetime | None, Query(alias="from", description="时间起（含）")] = None,
    to: Annotated[datetime | None, Query(description="时间止（不含）")] = None,
    before_id: Annotated[int | None, Query(description="翻页：只返回ID小于此值的事件")] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="条数；JSON 最多 500，CSV 最多 5000")] = 50,
    format: Annotated[Literal["json", "csv"], Query(description="json 或 csv（导出）")] = "json",
) -> object:
    """谁在何时做了什么、改动前后的内容。按时间倒序；可按操作、操作人、时间筛选，`format=csv` 导出。
    单位角色只看到本单位及下级单位的事件。管理员、督办和审计员看到的内容中个人信息已脱敏；对方系统的原始应答（remote_detail）仅管理员可见。"""
    user.require(Role.admin, Role.supervisor, Role.auditor, Role.leader)
    if format == "json" and limit > 500:
        limit = 500
    events = service.list_events(
        session=session,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor_id=actor_id,
        at_from=from_,
        at_to=to,
        units=user.units,
        before_id=before_id,
        limit=limit,
    )
    shown = [service.public(e, user) for e in events]
    if format == "csv":
        return Response(
            service.to_csv(shown, tz=settings.tz),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
        )
    return shown
