"""HTTP routes for messages: ingest, read, list, reveal, and the pipeline's parked items."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response, status

from app.audit.service import record
from app.bounds import BoundedDatetime
from app.deps import CurrentUser, SessionDep
from app.messages import followups, service
from app.messages.group_commit import group_commit
from app.messages.models import (
    IntakeItemPublic,
    MessageCreate,
    MessageKind,
    MessagePage,
    MessagePublic,
    Receipt,
    RevealRequest,
    SlaState,
)
from app.messages.present import to_public
from app.users.models import Role

router = APIRouter(prefix="/messages", tags=["留言"])
pipeline_router = APIRouter(prefix="/pipeline", tags=["处理流水线"])


@router.post(
    "",
    response_model=Receipt,
    status_code=status.HTTP_201_CREATED,
    summary="接收一条留言",
    responses={200: {"description": "重复投递：返回已保存的同一条留言的 id", "model": Receipt}},
)
async def create_message(data: MessageCreate, session: SessionDep, user: CurrentUser) -> Response:
    """把一条留言/评论/私信写入统一队列（落库后才应答）。同一账号的同一 `external_id` 只保存一次：
    首次返回 201，重复投递返回 200 和同一个 `id`。详情用 `GET /messages/{id}` 查看。"""
    prepared = service.prepare(session=session, actor=user, data=data)
    session.rollback()  # end any read transaction before waiting for the writer (SQLite has one lock)
    message_id, created = await group_commit.store(prepared)
    body = {"id": message_id, "status": "received", "duplicate": not created}
    return Response(orjson.dumps(body), status_code=201 if created else 200, media_type="application/json")


@router.get("", response_model=MessagePage, summary="留言列表")
def list_messages(
    session: SessionDep,
    user: CurrentUser,
    status: Annotated[
        str | None,
        Query(description="状态：received/open/drafting/in_review/approved/publishing/published/closed"),
    ] = None,
    unit_code: str | None = None,
    sla_state: SlaState | None = None,
    account_id: int | None = None,
    platform: str | None = None,
    kind: MessageKind | None = None,
    received_from: BoundedDatetime | None = None,
    received_to: BoundedDatetime | None = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="关键词：内容或留言人昵称，中文按词匹配，多个词须同时出现"),
    ] = None,
    author_id: Annotated[
        str | None, Query(max_length=128, description="留言人在平台上的ID：查看同一网民的历史留言")
    ] = None,
    from_: Annotated[
        BoundedDatetime | None, Query(alias="from", description="收到时间起（含），同 received_from")
    ] = None,
    to: Annotated[BoundedDatetime | None, Query(description="收到时间止（不含），同 received_to")] = None,
    sort: Annotated[
        str, Query(description="-id（最新在前）、id、due_at（答复期限最近的在前，无期限的在最后）")
    ] = "-id",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> MessagePage:
    """按状态、单位、时限状态、关键词（`q`）、留言人（`author_id`）、收到时间（`from`/`to`）等筛选；
    用 `next_cursor` 翻页（每种排序都按索引续页，翻到多深都一样快）。
    只列出当前用户可见单位的留言。"""
    items, next_cursor = service.list_messages(
        session=session,
        principal=user,
        status=status,
        unit_code=unit_code,
        sla_state=sla_state.value if sla_state else None,
        account_id=account_id,
        platform=platform,
        kind=kind.value if kind else None,
        received_from=received_from or from_,
        received_to=received_to or to,
        q=q.strip() or None if q else None,
        author_id=author_id,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    return MessagePage(items=[to_public(m, user) for m in items], next_cursor=next_cursor)


@router.get("/{message_id}", response_model=MessagePublic, summary="留言详情")
def get_message(message_id: int, session: SessionDep, user: CurrentUser) -> MessagePublic:
    """留言详情，含分办结果、时限、标记与答复建议。个人信息已脱敏。"""
    return to_public(service.get(session=session, message_id=message_id, principal=user), user)


@router.get("/{message_id}/conversation", response_model=list[MessagePublic], summary="同一会话的追问链")
def conversation(message_id: int, session: SessionDep, user: CurrentUser) -> list[MessagePublic]:
    """同一网民在同一会话（同一篇文章/微博/视频下或同一私信会话）中的留言链：此前已答复的留言与其后的追问，
    按时间先后排列。追问有自己的答复时限，同样先审后发。"""
    service.get(session=session, message_id=message_id, principal=user)
    return [
        to_public(m, user)
        for m in followups.conversation(session=session, principal=user, message_id=message_id)
    ]


@router.post("/{message_id}/reveal", summary="查看原文（留痕）")
def reveal(message_id: int, data: RevealRequest, session: SessionDep, user: CurrentUser) -> dict[str, object]:
    """返回未脱敏的原文和留言人，用于回访等确需个人信息的场合；查看理由写在请求体中（不进网址和访问日志），
    每次查看都记入审计日志。审计员不可用。"""
    reason = data.reason
    user.require(Role.admin, Role.supervisor, Role.leader, Role.reviewer, Role.operator)
    message = service.get(session=session, message_id=message_id, principal=user)
    record(
        session=session,
        actor=user,
        action="message.reveal",
        entity_type="message",
        entity_id=message_id,
        unit_code=message.unit_code,
        note=reason,
    )
    session.commit()
    return {
        "id": message_id,
        "content": message.content,
        "author": {"id": message.author_id, "name": message.author_name},
    }


@pipeline_router.get("/parked", response_model=list[IntakeItemPublic], summary="搁置项（死信）")
def parked(
    session: SessionDep, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> object:
    """流水线多次重试仍失败而搁置的条目及其错误信息。"""
    user.require(Role.admin, Role.supervisor, Role.auditor)
    return service.parked_items(session=session, limit=limit)


@pipeline_router.post("/parked/{item_id}/retry", response_model=IntakeItemPublic, summary="重新处理搁置项")
def retry(item_id: int, session: SessionDep, user: CurrentUser) -> object:
    return service.retry_parked(session=session, actor=user, item_id=item_id)
