"""HTTP routes for moderation: check a text, edit the lexicons, list repeat offenders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import JSONResponse

from app.deps import CurrentUser, SessionDep
from app.moderation import service
from app.moderation.models import (
    CheckRequest,
    CheckResult,
    EvidenceFormat,
    EvidencePage,
    HitPublic,
    OffenderPublic,
    PiiPublic,
    TermCreate,
    TermKind,
    TermPublic,
)

router = APIRouter(prefix="/moderation", tags=["内容审核"])


@router.post("/check", response_model=CheckResult, summary="检查一段文字")
def check_text(data: CheckRequest, session: SessionDep, user: CurrentUser) -> CheckResult:
    """判断文字是否含辱骂（abusive）、敏感事项（sensitive）、广告引流（spam）、违法有害信息（prohibited）、
    待核实传言（rumour_check），措辞强烈但属正常批评的标为情绪激烈（intense，不算辱骂）；找出个人信息
    （手机号、身份证号、银行卡号、座机、邮箱）并给出脱敏后的文字。每个命中给出词条与理由（why）。
    只做检查，不保存、不改变任何数据。"""
    result = service.check_text(session=session, text=data.text)
    return CheckResult(
        abusive=result.abusive,
        sensitive=result.sensitive,
        spam=result.spam,
        intense=result.intense,
        prohibited=result.prohibited,
        rumour_check=result.rumour_check,
        pii=[PiiPublic(kind=span.kind, text=span.text) for span in result.pii],
        masked_text=result.masked_text,
        hits=[HitPublic(kind=h.kind, term=h.term, category=h.category, why=h.why) for h in result.hits],
    )


@router.get("/lexicon", response_model=list[TermPublic], summary="词库")
def list_terms(
    session: SessionDep,
    user: CurrentUser,
    kind: Annotated[TermKind | None, Query(description="只看一类词库")] = None,
) -> list[TermPublic]:
    """当前生效的词库（管理员、督办、审计可查看）。`source`：default 为系统预置，custom 为管理员添加。"""
    return service.list_terms(session=session, actor=user, kind=kind)


@router.post("/lexicon", response_model=TermPublic, status_code=status.HTTP_201_CREATED, summary="添加词条")
def add_term(data: TermCreate, session: SessionDep, user: CurrentUser) -> TermPublic:
    """向 abuse/sensitive/spam/allow 词库添加一个词条（仅管理员），所有进程立即生效。
    `allow` 为放行短语：落在其中的命中不算（如“垃圾站”中的“垃圾”）。"""
    return service.add_term(session=session, actor=user, data=data)


@router.delete("/lexicon/{kind}/{term:path}", status_code=status.HTTP_204_NO_CONTENT, summary="删除词条")
def remove_term(
    kind: TermKind,
    term: Annotated[str, Path(description="要删除的词条", examples=["狗官"])],
    session: SessionDep,
    user: CurrentUser,
) -> Response:
    """从词库删除一个词条（仅管理员；系统预置的词条也可删除），所有进程立即生效。"""
    service.remove_term(session=session, actor=user, kind=kind, term=term)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/offenders", response_model=list[OffenderPublic], summary="多次辱骂的用户")
def offenders(
    session: SessionDep,
    user: CurrentUser,
    min_offences: Annotated[int, Query(ge=1, le=1000, description="至少几条辱骂留言")] = 2,
    account_id: int | None = None,
    since: Annotated[datetime | None, Query(description="只统计此时间之后的留言")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OffenderPublic]:
    """按账号统计发布辱骂留言的用户，供督办部门报告屡犯者；留言本身作为证据保留，`message_ids` 可查。
    督办、审计、管理员可见全部账号，单位领导可见本单位账号。"""
    return service.offenders(
        session=session,
        actor=user,
        min_offences=min_offences,
        account_id=account_id,
        since=since,
        limit=limit,
    )


@router.get(
    "/evidence",
    response_model=EvidencePage,
    summary="违法有害信息证据导出",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON 或 CSV（format=csv）"}},
)
def export_evidence(
    session: SessionDep,
    user: CurrentUser,
    date_from: Annotated[datetime | None, Query(alias="from", description="判定时间起（含时区）")] = None,
    date_to: Annotated[datetime | None, Query(alias="to", description="判定时间止（不含）")] = None,
    format: Annotated[
        EvidenceFormat, Query(description="json 或 csv（Excel 可直接打开）")
    ] = EvidenceFormat.json,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
) -> Response:
    """被判定为违法有害信息、已从待答复队列隐藏的留言，作为证据导出（供会同公安部门依法查处）：留言原文（不脱敏）、
    发布者ID与昵称、平台账号与留言ID、发布时间与判定时间、命中词条与类别、平台链接。单位领导只能导出本单位的，
    督办、审计、管理员可导出全部；每次导出记入审计日志。"""
    items, next_cursor = service.evidence(
        session=session, actor=user, since=date_from, until=date_to, limit=limit, cursor=cursor
    )
    if format == EvidenceFormat.csv:
        return Response(
            content=service.evidence_csv(items),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="evidence.csv"'},
        )
    page = EvidencePage(items=items, next_cursor=next_cursor)
    return JSONResponse(page.model_dump(mode="json"))
