"""HTTP routes for the in-app inbox (站内通知)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import CurrentUser, SessionDep
from app.inbox import service
from app.inbox.models import InboxPage, MarkRead, NoticeSource

router = APIRouter(prefix="/inbox", tags=["站内通知"])


@router.get("", response_model=InboxPage, summary="我的通知")
def list_inbox(
    session: SessionDep,
    user: CurrentUser,
    unread: Annotated[bool, Query(description="只看未读")] = False,
    source: Annotated[
        NoticeSource | None, Query(description="sla 时限与敏感提醒 / topic 热点 / zombie 僵尸账号")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxPage:
    """系统发出的每一条提醒（临期、超期、督办、敏感留言、微信回复窗口、热点话题、僵尸账号）都在此收件箱，
    不论是否配置了群机器人。办理人员、审核人员看到发给本单位的提醒；单位负责人及以上还看到发给负责人和主管单位的提醒。"""
    return service.list_inbox(
        session=session, principal=user, unread_only=unread, source=source, offset=offset, limit=limit
    )


@router.post("/read", summary="标记已读")
def mark_read(data: MarkRead, session: SessionDep, user: CurrentUser) -> dict[str, int]:
    """把指定提醒（`keys`，如 `sla:12`）标记为已读；`keys` 为空时全部标记已读。重复标记不报错。"""
    return {"unread": service.mark_read(session=session, principal=user, keys=data.keys)}
