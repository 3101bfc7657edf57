"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, text
from sqlmodel import select

from app.db import get_engine, is_migrated, session_scope
from app.errors import error_body
from app.messages.models import OPEN_ORDER, IntakeItem, IntakeState, Message, status_in
from app.ops import metrics

router = APIRouter(tags=["运行状态"])


@router.get("/healthz", summary="存活检查")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="就绪检查", responses={503: {"description": "数据库不可达或未迁移"}})
def readyz() -> Response:
    """数据库可连接且迁移为最新时返回 200。"""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        migrated = is_migrated()
    except Exception as exc:  # the point of this endpoint is to report any failure
        return JSONResponse(error_body("not_ready", f"数据库不可达：{type(exc).__name__}"), status_code=503)
    if not migrated:
        return JSONResponse(
            error_body("not_ready", "数据库未迁移到最新版本：请运行 huiying migrate"), status_code=503
        )
    return JSONResponse({"status": "ready"})


@router.get("/metrics", summary="Prometheus 指标")
def prometheus_metrics() -> Response:
    with session_scope() as session:
        pending = session.exec(
            select(func.count()).select_from(IntakeItem).where(IntakeItem.state == IntakeState.pending)
        ).one()
        metrics.queue_depth.set(pending)
        rows = session.exec(
            select(Message.sla_state, func.count())
            .where(status_in(OPEN_ORDER))  # answered from the partial index ix_messages_open_sla
            .group_by(Message.sla_state)
        ).all()
        # A state with no open message left drops out instead of keeping its last count.
        metrics.messages_by_sla.clear()
        for state, count in rows:
            metrics.messages_by_sla.labels(sla_state=state or "none").set(count)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
