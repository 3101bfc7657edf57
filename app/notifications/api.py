"""HTTP routes for notifications: the units' channels (group robots, webhooks), the retry of a
notification record, and the in-app inbox (站内通知). The list of the records, scoped by their messages'
units, is served with the deadlines (`app.sla.api`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.deps import CurrentUser, SessionDep
from app.notifications import channels, delivery, inbox, records
from app.notifications.models import (
    ChannelCreate,
    ChannelPublic,
    ChannelTestResult,
    ChannelUpdate,
    InboxPage,
    MarkRead,
    NoticeSource,
    NotificationPublic,
)

# Listed with the deadlines in the API documentation, as before the notifications had their own package.
TAG = "时限与日历"
router = APIRouter(tags=[TAG])


@router.get("/notification-channels", response_model=list[ChannelPublic], summary="通知渠道列表")
def list_channels(
    session: SessionDep, user: CurrentUser, unit_code: str | None = None
) -> list[ChannelPublic]:
    """各单位的提醒渠道（企业微信/钉钉群机器人、通用 Webhook）。地址和密钥只写不读，只显示隐去密钥的地址。"""
    return [
        channels.public(c)
        for c in channels.list_channels(session=session, principal=user, unit_code=unit_code)
    ]


@router.post(
    "/notification-channels",
    response_model=ChannelPublic,
    status_code=status.HTTP_201_CREATED,
    summary="新增通知渠道",
)
def create_channel(data: ChannelCreate, session: SessionDep, user: CurrentUser) -> ChannelPublic:
    """为单位新增提醒渠道（管理员或本单位负责人）。`audience=leaders` 的渠道只接收发给单位负责人的超期提醒。"""
    return channels.public(channels.create(session=session, actor=user, data=data))


@router.patch("/notification-channels/{channel_id}", response_model=ChannelPublic, summary="修改通知渠道")
def update_channel(
    channel_id: int, data: ChannelUpdate, session: SessionDep, user: CurrentUser
) -> ChannelPublic:
    return channels.public(channels.update(session=session, actor=user, channel_id=channel_id, data=data))


@router.delete(
    "/notification-channels/{channel_id}", status_code=status.HTTP_204_NO_CONTENT, summary="删除通知渠道"
)
def delete_channel(channel_id: int, session: SessionDep, user: CurrentUser) -> Response:
    channels.delete(session=session, actor=user, channel_id=channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/notification-channels/{channel_id}/test", response_model=ChannelTestResult, summary="发送测试消息"
)
def test_channel(channel_id: int, session: SessionDep, user: CurrentUser) -> ChannelTestResult:
    """立即通过该渠道发送一条测试消息，返回平台的应答（便于核对 key、加签密钥）。"""
    result = channels.send_test(session=session, actor=user, channel_id=channel_id)
    return ChannelTestResult(ok=result.ok, retryable=result.retryable, detail=result.detail)


@router.post("/sla/notifications/{record_id}/retry", response_model=NotificationPublic, summary="重发通知")
def retry_notification(record_id: int, session: SessionDep, user: CurrentUser) -> NotificationPublic:
    """把发送失败或已跳过的通知重新放回发送队列（例如修好通知渠道之后）。"""
    return records.public(delivery.retry(session=session, actor=user, record_id=record_id))


inbox_router = APIRouter(prefix="/inbox", tags=["站内通知"])


@inbox_router.get("", response_model=InboxPage, summary="我的通知")
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
    return inbox.list_inbox(
        session=session, principal=user, unread_only=unread, source=source, offset=offset, limit=limit
    )


@inbox_router.post("/read", summary="标记已读")
def mark_read(data: MarkRead, session: SessionDep, user: CurrentUser) -> dict[str, int]:
    """把指定提醒（`keys`，如 `sla:12`）标记为已读；`keys` 为空时全部标记已读。重复标记不报错。"""
    return {"unread": inbox.mark_read(session=session, principal=user, keys=data.keys)}
