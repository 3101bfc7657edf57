"""HTTP routes of the knowledge base: entries and their versions, import/export, suggestions, and
proposing a published reply as an entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, FastAPI, File, Query, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from app import clock
from app.deps import CurrentUser, SessionDep
from app.knowledge import importexport, service
from app.knowledge.index import knowledge_index
from app.knowledge.models import (
    EntryCreate,
    EntryPage,
    EntryPublic,
    EntryStatus,
    EntryUpdate,
    ImportReport,
    IndexStatus,
    ProposeRequest,
    SuggestRequest,
    SuggestResponse,
    VersionPublic,
    entry_public,
    version_public,
)


@asynccontextmanager
async def _load_index(_: FastAPI) -> AsyncIterator[None]:
    # In the background: /readyz does not wait for it, and the first suggestion waits only if it comes first.
    knowledge_index.start_loading()
    yield


TAG = "问答库"
router = APIRouter(tags=[TAG], lifespan=_load_index)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "不存在，或无权查看（草稿仅管理员和本单位领导可见）"}
}
WRITE: dict[int | str, dict[str, Any]] = {
    403: {"description": "只有管理员和单位领导可以维护问答库"},
    404: {"description": "条目或单位不存在，或不在本人单位范围内"},
    409: {"description": "同一单位已有相同问题的条目"},
}


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


UnitFilter = Annotated[str | None, Query(description="只看该单位的条目")]
SharedFilter = Annotated[bool | None, Query(description="true 只看全县共用条目；false 只看各单位条目")]
StatusFilter = Annotated[EntryStatus | None, Query(description="draft / published / archived")]
TagFilter = Annotated[str | None, Query(description="含该标签")]
TextFilter = Annotated[str | None, Query(description="问题或答案包含该文字")]


@router.post(
    "/kb/suggest",
    response_model=SuggestResponse,
    summary="答复建议（按留言匹配问答库）",
    responses={200: {"description": "最相近的已发布、在有效期内的条目，最相近的在前"}},
)
async def suggest(data: SuggestRequest, user: CurrentUser) -> Response:
    """按群众留言原文（可含错别字、同音字、繁体、表情、@、话题、链接、拼音缩写如 sfz、口语说法如
    过期/到期、补办/换）找出最能回答它的问答库条目。`confident` 为 true 表示有把握（只可能是第一条；
    按开发集校准，问答库答不了的留言中看似有把握的不超过 5%）；`matched_terms` 说明匹配依据；`version` 供答复引用。
    给出 `unit_code`（如分办结果）时优先该单位的条目；给出 `channel` 时只建议适用于该渠道的条目。"""
    snapshot = knowledge_index.current()
    if snapshot is None:
        snapshot = await run_in_threadpool(knowledge_index.refresh)
    now = clock.now()
    knowledge_index.poke(now)
    hits = snapshot.search(
        data.text,
        unit_code=data.unit_code,
        channel=data.channel.value if data.channel else None,
        limit=data.limit,
        now=now,
    )
    body = orjson.dumps({"suggestions": [h.as_dict() for h in hits]})
    return Response(body, media_type="application/json")


@router.get("/kb/index", response_model=IndexStatus, summary="建议索引状态")
async def index_status(user: CurrentUser) -> IndexStatus:
    """本进程的建议索引是否已载入、含多少条目、对应的问答库版本。问答库的修改即时生效，其他进程在约1秒内跟上。"""
    return service.index_status()


@router.post(
    "/kb/entries",
    response_model=EntryPublic,
    status_code=status.HTTP_201_CREATED,
    summary="新建问答库条目",
    responses=WRITE,
)
def create_entry(data: EntryCreate, session: SessionDep, user: CurrentUser) -> EntryPublic:
    """管理员可为任何单位或全县共用（`unit_code` 为空）新建条目；单位领导为本单位（含下级单位）新建，
    不填 `unit_code` 即本单位。默认直接发布（`status: draft` 存为草稿）。同一单位的同一问题只能有一条。"""
    return entry_public(service.create(session=session, actor=user, data=data))


@router.get("/kb/entries", response_model=EntryPage, summary="问答库条目列表")
def list_entries(
    session: SessionDep,
    user: CurrentUser,
    unit_code: UnitFilter = None,
    shared: SharedFilter = None,
    status: StatusFilter = None,
    tag: TagFilter = None,
    q: TextFilter = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="上一页的 next_cursor")] = None,
) -> EntryPage:
    """最新在前。已发布的条目人人可见；草稿和已归档的条目只有管理员、督办、审计和本单位领导可见。"""
    items, next_cursor = service.list_entries(
        session=session,
        principal=user,
        unit_code=unit_code,
        shared=shared,
        status=status,
        tag=tag,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    return EntryPage(items=[entry_public(e) for e in items], next_cursor=next_cursor)


@router.get(
    "/kb/entries/{entry_id}", response_model=EntryPublic, summary="问答库条目详情", responses=NOT_FOUND
)
def get_entry(entry_id: int, session: SessionDep, user: CurrentUser) -> EntryPublic:
    return entry_public(service.get(session=session, entry_id=entry_id, principal=user))


@router.patch("/kb/entries/{entry_id}", response_model=EntryPublic, summary="修改问答库条目", responses=WRITE)
def update_entry(entry_id: int, data: EntryUpdate, session: SessionDep, user: CurrentUser) -> EntryPublic:
    """只改给出的字段。内容（问题、答案、相似问法、单位、标签、渠道、有效期）有变化即生成新版本，
    旧版本保留，引用旧版本的答复仍指向旧版本；`status` 可发布、退回草稿或归档。"""
    return entry_public(service.update(session=session, actor=user, entry_id=entry_id, data=data))


@router.delete(
    "/kb/entries/{entry_id}", response_model=EntryPublic, summary="归档问答库条目", responses=WRITE
)
def archive_entry(entry_id: int, session: SessionDep, user: CurrentUser) -> EntryPublic:
    """停止使用该条目（状态改为已归档，不再出现在答复建议中）。条目及其版本历史保留，供引用过它的答复追溯。"""
    return entry_public(service.archive(session=session, actor=user, entry_id=entry_id))


@router.get(
    "/kb/entries/{entry_id}/versions",
    response_model=list[VersionPublic],
    summary="条目的版本历史",
    responses=NOT_FOUND,
)
def list_versions(entry_id: int, session: SessionDep, user: CurrentUser) -> list[VersionPublic]:
    """每次内容修改留下的版本，最新在前。"""
    return [version_public(v) for v in service.versions(session=session, entry_id=entry_id, principal=user)]


@router.get(
    "/kb/entries/{entry_id}/versions/{version}",
    response_model=VersionPublic,
    summary="条目的某一版本",
    responses=NOT_FOUND,
)
def get_version(entry_id: int, version: int, session: SessionDep, user: CurrentUser) -> VersionPublic:
    """答复记录的 `kb_entry_id` + `kb_entry_version` 即指向这里：当时采用的问题与答案。"""
    found = service.get_version(session=session, entry_id=entry_id, version=version, principal=user)
    return version_public(found)


@router.post(
    "/kb/import",
    response_model=ImportReport,
    summary="导入问答库（CSV/XLSX）",
    responses={400: {"description": "文件无法读取或缺少“问题”“答案”列"}, 403: WRITE[403]},
)
def import_entries(
    session: SessionDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GB18030）或 XLSX，第一行为表头")],
    status: Annotated[
        EntryStatus, Query(description="文件没有“状态”列（或该格为空）时新条目的状态")
    ] = EntryStatus.published,
) -> ImportReport:
    """表头可用中文或英文：问题/question、答案/answer（必填），相似问法/alt_questions（用 | 或换行分隔）、
    单位/unit_code（单位代码或名称，空 = 全县共用）、标签/tags、渠道/channels、状态/status、
    生效时间/valid_from、失效时间/valid_to（日期或日期时间，本地时间）。逐行校验，返回被拒绝的行及原因。
    同一单位的同一问题更新已有条目（内容有变化才生成新版本），重复导入同一文件不产生任何变化。
    导出的文件可直接再导入。单位领导只能导入本单位的条目。"""
    data = file.file.read()
    return importexport.import_entries(
        session=session,
        actor=user,
        data=data,
        filename=file.filename or "upload.csv",
        default_status=status,
    )


@router.get(
    "/kb/export",
    summary="导出问答库（CSV/XLSX）",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, importexport.XLSX_TYPE: {}}}},
)
def export_entries(
    session: SessionDep,
    user: CurrentUser,
    format: Annotated[ExportFormat, Query(description="csv / xlsx")] = ExportFormat.csv,
    unit_code: UnitFilter = None,
    shared: SharedFilter = None,
    status: StatusFilter = None,
    tag: TagFilter = None,
    q: TextFilter = None,
) -> Response:
    """导出当前用户可见、符合筛选条件的条目，表头与导入相同（编号、版本列仅供参考，导入时忽略）。"""
    body, media, name = importexport.export_entries(
        session=session,
        principal=user,
        fmt=format.value,
        unit_code=unit_code,
        shared=shared,
        status=status,
        tag=tag,
        q=q,
    )
    ext = format.value
    disposition = f"attachment; filename=kb.{ext}; filename*=UTF-8''{quote(name)}"
    return Response(content=body, media_type=media, headers={"Content-Disposition": disposition})


@router.post(
    "/replies/{reply_id}/propose-kb",
    response_model=EntryPublic,
    status_code=status.HTTP_201_CREATED,
    summary="把已发布的答复提议为问答库条目",
    responses={
        404: {"description": "答复不存在或不属于本人单位"},
        409: {"description": "答复未发布或已提议过"},
    },
)
def propose_from_reply(
    reply_id: int, session: SessionDep, user: CurrentUser, data: ProposeRequest | None = None
) -> EntryPublic:
    """一步生成草稿条目：问题取留言内容（已脱敏，可用 `question` 改写），答案取答复正文，单位取留言的承办单位。
    草稿由本单位领导或管理员审定后发布。"""
    entry = service.propose_from_reply(
        session=session, actor=user, reply_id=reply_id, data=data or ProposeRequest()
    )
    return entry_public(entry)
