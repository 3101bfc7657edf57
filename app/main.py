"""The ASGI application: routers, the one error format, body-size limit, metrics, start-up checks."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import demo_receiver, wiring
from app.bounds import oversized_id
from app.config import DEFAULT_REPLY_WORKING_DAYS, Settings, get_settings
from app.console.pages import install as install_console
from app.db import get_engine, is_migrated, session_scope
from app.errors import HuiyingError, error_body
from app.messages import fast_route
from app.ops import metrics
from app.ops.runtime import tune_gc
from app.routes import include_routers
from app.scheduler import start as scheduler_start
from app.users.service import ensure_admin_token

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

DESCRIPTION = f"""
**回应（Huiying）**：政务新媒体留言统一办理。各平台（微信公众号、微博、抖音、网站/App、12345 导入）的
评论与私信进入同一队列 → 分办到责任单位 → 从统一问答库给出答复建议（口径一致）→ 先审后发 →
{DEFAULT_REPLY_WORKING_DAYS}个工作日内答复，超时督办。

使用方法：点右上角 **Authorize**，填入访问令牌（管理员令牌来自 `HUIYING_ADMIN_TOKEN`，
其他用户由 `POST /api/v1/users` 或 `huiying users create` 签发）。

错误统一为 `{{"error": {{"code": "...", "message": "..."}}}}`。
"""

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "busy",
}

STATUS_MESSAGES = {
    404: "接口不存在",
    405: "不支持该请求方法",
    413: "请求体过大",
}


# A request answered beneath the framework: (scope, its whole body, send) → False, having sent
# nothing, when the framework's route must answer it after all. It sets scope["route"] to the route it
# stands in for, so that the request is counted under that route.
Shortcut = Callable[[Scope, bytes, Send], Awaitable[bool]]


class Edge:
    """The one ASGI layer in front of the app: refuses request bodies over `max_bytes` with 413 (with or
    without Content-Length) and counts requests and their latency per route template. One layer, not
    two, because every layer costs each request a coroutine and a `send` wrapper. `shortcuts` maps a
    (method, path) to a handler that may answer the request before routing, given the body this layer
    read (a JSON, form or text body, or one without a Content-Length): the ingest route."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, shortcuts: Mapping[tuple[str, str], Shortcut] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.shortcuts = dict(shortcuts or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(event: Message) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]
            await send(event)

        try:
            refusal = _refuse_target(scope)
            if refusal is not None:
                await _error(send_wrapper, *refusal)
                return
            checked = await self._within_limit(scope, receive, send_wrapper)
            if checked is None:
                return
            receive, body = checked
            shortcut = self.shortcuts.get((scope["method"], scope["path"])) if body is not None else None
            if shortcut is not None and body is not None and await shortcut(scope, body, send_wrapper):
                return
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.http_latency.labels(route=route).observe(time.perf_counter() - start)
            metrics.http_requests.labels(method=scope["method"], route=route, status=str(status)).inc()

    async def _within_limit(
        self, scope: Scope, receive: Receive, send: Send
    ) -> tuple[Receive, bytes | None] | None:
        """The `receive` to hand on and the body when it was read here (a text body, or one without a
        Content-Length), or None when a 413 (or a 400 for a NUL in a JSON or form body) was sent."""
        text_body = False
        for name, value in scope["headers"]:
            if name == b"content-type":
                text_body = value.split(b";", 1)[0].strip().lower() in TEXT_BODIES
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_bytes
                except ValueError:
                    too_large = False
                if too_large:
                    await _too_large(send, self.max_bytes)
                    return None
                if not text_body:
                    return receive, None
        # Chunked, or a body whose text is checked for NUL characters (a JSON "\u0000" escape too):
        # read it all here, within the limit, then replay.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            event = await receive()
            if event["type"] != "http.request":
                return receive, None
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return None
            chunks.append(chunk)
            more = event.get("more_body", False)
        body = b"".join(chunks)
        if text_body and (b"\x00" in body or b"\\u0000" in body or b"%00" in body):
            await _error(send, 400, "nul_character", "文本中不能包含空字符（NUL）")
            return None
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, body


# Bodies whose text is checked for NUL characters before any route sees it.
TEXT_BODIES = frozenset({b"application/json", b"application/x-www-form-urlencoded", b"text/plain"})


def _refuse_target(scope: Scope) -> tuple[int, str, str] | None:
    """A path id no row can have is 404; a NUL character in the path or query string is 400."""
    path = scope.get("path", "")
    raw_path = scope.get("raw_path") or path.encode()
    if b"%00" in raw_path or "\x00" in path or b"%00" in scope.get("query_string", b""):
        return 400, "nul_character", "请求中不能包含空字符（NUL）"
    if any(oversized_id(segment) for segment in path.split("/")):
        return 404, "not_found", "对象不存在（编号超出范围）"
    return None


async def _too_large(send: Send, limit: int) -> None:
    await _error(send, 413, "payload_too_large", f"请求体超过上限 {limit} 字节")


async def _error(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps(error_body(code, message))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _validation_message(errors: list[dict[str, Any]]) -> tuple[int, str, str]:
    for err in errors:
        if err.get("type") == "json_invalid":
            return 400, "malformed_json", "请求体不是合法的 JSON"
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or '请求体'}: {err.get('msg', '')}")
    return 422, "invalid", "请求参数有误：" + "；".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HuiyingError)
    async def _huiying(_: Request, exc: HuiyingError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [dict(e) for e in exc.errors()]
        status, code, message = _validation_message(errors)
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:20]
        ]
        return JSONResponse(error_body(code, message, details), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        message = STATUS_MESSAGES.get(exc.status_code) or (
            "请求体无法解析（编码错误？请使用 UTF-8）" if exc.status_code == 400 else str(exc.detail)
        )
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        # A value the database column cannot hold (a number beyond 64 bits, a date beyond its range).
        log.warning("value out of range: %s", exc)
        return JSONResponse(error_body("out_of_range", "参数超出允许范围"), status_code=422)

    @app.exception_handler(TimeoutError)
    @app.exception_handler(PoolTimeout)
    async def _busy(_: Request, exc: Exception) -> JSONResponse:
        # Overload, not a fault: the database's write lock or connection pool stayed busy too long.
        log.warning("database busy: %s", exc)
        return JSONResponse(
            error_body("busy", "系统繁忙，请稍后重试"), status_code=503, headers={"Retry-After": "1"}
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal", "服务器内部错误，已记录"), status_code=500)


def startup_checks(settings: Settings) -> None:
    """What the API and the worker do first: tune the collector, refuse an unmigrated database, make the
    configured admin token valid."""
    tune_gc()
    if not is_migrated(get_engine()):
        raise RuntimeError(
            "数据库未迁移到最新版本（database is not migrated）：请先运行 `huiying migrate`"
            f"（HUIYING_DATABASE_URL={get_engine().url.render_as_string(hide_password=True)}）"
        )
    if settings.admin_token:
        with session_scope() as session:
            ensure_admin_token(session, settings.admin_token)


def create_app(settings: Settings | None = None, *, start_scheduler: bool | None = None) -> FastAPI:
    settings = settings or get_settings()
    wiring.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        startup_checks(settings)
        scheduler = None
        run_jobs = settings.scheduler == "on" if start_scheduler is None else start_scheduler
        if run_jobs:
            scheduler = scheduler_start(settings)
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)

    app = FastAPI(
        title=settings.docs_title,
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served offline by app/ops/docs.py
        redoc_url=None,
        # The service exports its own Prometheus metrics (app/ops/metrics.py); FastAPI's OpenTelemetry
        # spans, metrics and logs would cost every request without anyone to receive them.
        telemetry={
            "tracing": False,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "auto_configure": False,
        },
    )
    install_error_handlers(app)
    shortcuts = {("POST", f"{API_PREFIX}/messages"): fast_route.create_message}
    app.add_middleware(Edge, max_bytes=settings.max_body_bytes, shortcuts=shortcuts)

    include_routers(app, API_PREFIX)
    if settings.demo_receiver:
        demo_receiver.install(app)
    install_console(app)
    return app
