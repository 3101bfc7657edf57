"""HTTP routes for replies: draft, review, publish outcomes, closing and out-of-scope, my queue, and
the message with everything about it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from app.deps import CurrentUser, SessionDep
from app.messages import service as messages
from app.messages.models import MessagePublic, MessageStatus
from app.messages.present import to_public as message_public
from app.replies import present, service
from app.replies.models import (
    CloseRequest,
    ConfirmRequest,
    EscalateRequest,
    ManualDeliveryRequest,
    MessageFull,
    OutOfScopeRequest,
    QueuePage,
    RejectRequest,
    ReplyCreate,
    ReplyPage,
    ReplyPublic,
    ReplyUpdate,
)
from app.replies.workflow import ReplyState

router = APIRouter(tags=["答复"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "不存在，或不属于当前用户的单位"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "当前状态不允许此操作"}}


def _public(session: SessionDep, reply_id: int, user: CurrentUser) -> ReplyPublic:
    reply, message = service.get(session=session, reply_id=reply_id, principal=user)
    return present.one(session=session, reply=reply, message=message, principal=user)


@router.post(
    "/messages/{message_id}/replies",
    response_model=ReplyPublic,
    status_code=status.HTTP_201_CREATED,
    summary="起草答复",
    responses={**NOT_FOUND, **CONFLICT, 422: {"description": "答复超过平台字数上限等"}},
)
def create_reply(message_id: int, data: ReplyCreate, session: SessionDep, user: CurrentUser) -> ReplyPublic:
    """本单位经办人起草答复：引用答复建议（记录问答库条目及版本，可省略正文而直接采用建议答案）或自行撰写。
    超过平台字数上限（如微博评论140字）时直接拒绝，发布时绝不截断。"""
    reply = service.create_draft(session=session, actor=user, message_id=message_id, data=data)
    return _public(session, reply.id or 0, user)


@router.get("/messages/{message_id}/replies", response_model=list[ReplyPublic], summary="留言的全部答复")
def list_message_replies(message_id: int, session: SessionDep, user: CurrentUser) -> list[ReplyPublic]:
    message = messages.get(session=session, message_id=message_id, principal=user)
    return present.replies_of(session=session, message=message, principal=user)


@router.get("/replies", response_model=ReplyPage, summary="答复列表（如待人工确认、无法送达）")
def list_replies(
    session: SessionDep,
    user: CurrentUser,
    state: Annotated[
        ReplyState | None, Query(description="如 held（待人工确认）、undeliverable（无法送达）")
    ] = None,
    message_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[int | None, Query(description="上一页的 next_cursor")] = None,
) -> ReplyPage:
    """当前用户可见单位的答复，最新在前。"""
    items, next_cursor = present.list_replies(
        session=session, principal=user, state=state, message_id=message_id, limit=limit, cursor=cursor
    )
    return ReplyPage(items=items, next_cursor=str(next_cursor) if next_cursor is not None else None)


@router.get("/replies/{reply_id}", response_model=ReplyPublic, summary="答复详情", responses=NOT_FOUND)
def get_reply(reply_id: int, session: SessionDep, user: CurrentUser) -> ReplyPublic:
    """答复正文、状态、审核记录（每级审核时的原文）、发布尝试与失败原因及替代办法。"""
    return _public(session, reply_id, user)


@router.patch(
    "/replies/{reply_id}", response_model=ReplyPublic, summary="修改草稿", responses={**NOT_FOUND, **CONFLICT}
)
def update_reply(reply_id: int, data: ReplyUpdate, session: SessionDep, user: CurrentUser) -> ReplyPublic:
    """只能修改起草中（含被退回）的答复。修改人此后不能审核这条答复。"""
    service.edit(session=session, actor=user, reply_id=reply_id, data=data)
    return _public(session, reply_id, user)


@router.post(
    "/replies/{reply_id}/submit",
    response_model=ReplyPublic,
    summary="提交审核",
    responses={**NOT_FOUND, **CONFLICT},
)
def submit_reply(reply_id: int, session: SessionDep, user: CurrentUser) -> ReplyPublic:
    """先审后发：提交后由本单位审核人审核；敏感留言还须本单位领导复核。"""
    service.submit(session=session, actor=user, reply_id=reply_id)
    return _public(session, reply_id, user)


@router.post(
    "/replies/{reply_id}/approve",
    response_model=ReplyPublic,
    summary="审核通过",
    responses={**NOT_FOUND, **CONFLICT, 403: {"description": "不能审核本人起草的答复；敏感留言须领导复核"}},
)
def approve_reply(reply_id: int, session: SessionDep, user: CurrentUser) -> ReplyPublic:
    """本单位审核人（或领导）审核通过。敏感留言（或答复正文涉及敏感事项）第一级通过后转本单位领导复核；最后一级
    通过后进入发布队列，由后台任务发布到平台。审核人不能是起草或修改过该答复的人。发布前检查（checks）
    有 block 级问题（公开答复含个人信息、辱骂、违法有害信息、超出字数）时返回 409，并列出原因。"""
    service.approve(session=session, actor=user, reply_id=reply_id)
    return _public(session, reply_id, user)


@router.post(
    "/replies/{reply_id}/escalate",
    response_model=ReplyPublic,
    summary="提请领导复核",
    responses={**NOT_FOUND, **CONFLICT},
)
def escalate_reply(
    reply_id: int, data: EscalateRequest, session: SessionDep, user: CurrentUser
) -> ReplyPublic:
    """审核人认为需要领导把关时，可将任一待审核的答复提请本单位领导复核（不限于词库标记为敏感的），须说明原因。
    起草或修改过该答复的人不能提请（403）；提请人不能再作为领导复核人审核通过。"""
    service.escalate(session=session, actor=user, reply_id=reply_id, reason=data.reason)
    return _public(session, reply_id, user)


@router.post(
    "/replies/{reply_id}/reject",
    response_model=ReplyPublic,
    summary="退回修改",
    responses={**NOT_FOUND, **CONFLICT},
)
def reject_reply(reply_id: int, data: RejectRequest, session: SessionDep, user: CurrentUser) -> ReplyPublic:
    """退回起草人修改，须说明原因。"""
    service.reject(session=session, actor=user, reply_id=reply_id, reason=data.reason)
    return _public(session, reply_id, user)


@router.post(
    "/replies/{reply_id}/withdraw",
    response_model=ReplyPublic,
    summary="撤回答复",
    responses={**NOT_FOUND, **CONFLICT},
)
def withdraw_reply(reply_id: int, session: SessionDep, user: CurrentUser) -> ReplyPublic:
    """撤回尚未审核通过的答复，留言回到待答复。"""
    service.withdraw(session=session, actor=user, reply_id=reply_id)
    return _public(session, reply_id, user)


@router.post(
    "/replies/{reply_id}/retry",
    response_model=ReplyPublic,
    summary="重新发布",
    responses={**NOT_FOUND, **CONFLICT},
)
def retry_reply(reply_id: int, session: SessionDep, user: CurrentUser) -> ReplyPublic:
    """把待人工确认或无法送达的答复重新放入发布队列（待人工确认的答复可能已在平台上，请先核实）。"""
    service.retry(session=session, actor=user, reply_id=reply_id)
    return _public(session, reply_id, user)


@router.post(
    "/replies/{reply_id}/confirm-published",
    response_model=ReplyPublic,
    summary="确认已发布",
    responses={**NOT_FOUND, **CONFLICT},
)
def confirm_published(
    reply_id: int, data: ConfirmRequest, session: SessionDep, user: CurrentUser
) -> ReplyPublic:
    """发布结果未知而转人工的答复：在平台后台核实确已发布后登记。"""
    service.confirm_published(
        session=session,
        actor=user,
        reply_id=reply_id,
        note=data.note,
        platform_reply_id=data.platform_reply_id,
    )
    return _public(session, reply_id, user)


@router.post(
    "/replies/{reply_id}/delivered-manually",
    response_model=ReplyPublic,
    summary="登记人工送达",
    responses={**NOT_FOUND, **CONFLICT},
)
def delivered_manually(
    reply_id: int, data: ManualDeliveryRequest, session: SessionDep, user: CurrentUser
) -> ReplyPublic:
    """平台拒收（如微信超过48小时客服消息窗口）或结果未知时，经电话、短信、后台等方式送达后登记，
    留言记为已答复并计算是否按时。"""
    service.deliver_manually(
        session=session, actor=user, reply_id=reply_id, note=data.note, delivered_at=data.delivered_at
    )
    return _public(session, reply_id, user)


@router.post(
    "/messages/{message_id}/close",
    response_model=MessagePublic,
    summary="不予答复并关闭",
    responses={**NOT_FOUND, **CONFLICT},
)
def close_message(
    message_id: int, data: CloseRequest, session: SessionDep, user: CurrentUser
) -> MessagePublic:
    """审核人或领导关闭无需答复的留言：重复、仅致谢、辱骂、广告或其他（须说明）。未审核的草稿随之撤回。"""
    message = service.close_message(
        session=session, actor=user, message_id=message_id, reason=data.reason, note=data.note
    )
    return message_public(message, user)


@router.post(
    "/messages/{message_id}/out-of-scope",
    response_model=ReplyPublic,
    status_code=status.HTTP_201_CREATED,
    summary="非本单位职责（当日告知）",
    responses={**NOT_FOUND, **CONFLICT},
)
def out_of_scope(
    message_id: int, data: OutOfScopeRequest, session: SessionDep, user: CurrentUser
) -> ReplyPublic:
    """标记为不属于本级政府职责：时限改为当个工作日，并起草告知答复（指明负责部门和途径），同样先审后发。"""
    reply = service.mark_out_of_scope(session=session, actor=user, message_id=message_id, text=data.text)
    return _public(session, reply.id or 0, user)


@router.get("/queue", response_model=QueuePage, summary="我的待办")
def my_queue(
    session: SessionDep,
    user: CurrentUser,
    status: Annotated[
        MessageStatus | None, Query(description="只看某一状态：open/drafting/in_review/approved/publishing")
    ] = None,
    include_flagged: Annotated[
        bool, Query(description="包含被标记为辱骂或广告的留言（默认不显示，留作证据）")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> QueuePage:
    """本单位（及下级单位）未办结的留言，按答复期限由近到远排列（无期限的在最后），附当前答复状态。
    被标记为辱骂或广告的留言默认不在待办中（审核人可用 include_flagged=true 查看后关闭）。"""
    items, next_cursor = present.queue(
        session=session,
        principal=user,
        status=status,
        include_flagged=include_flagged,
        limit=limit,
        cursor=cursor,
    )
    return QueuePage(items=items, next_cursor=next_cursor)


@router.get(
    "/messages/{message_id}/full", response_model=MessageFull, summary="留言全貌", responses=NOT_FOUND
)
def message_full(message_id: int, session: SessionDep, user: CurrentUser) -> MessageFull:
    """一次取回留言、分办依据、答复建议、时限及其计算依据、全部答复（含审核记录）和操作历史。"""
    return present.full(session=session, principal=user, message_id=message_id)
