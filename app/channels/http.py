"""What the webhook routes share: the raw body read under its limit (signatures cover the exact bytes),
and the OpenAPI text for a signed raw body and for query parameters documented rather than declared."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from app.errors import PayloadTooLarge
from connectors.base import MAX_BODY_BYTES

UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {"description": "签名不符、重放（时间戳超出5分钟）或账号未配置验证密钥；不保存任何内容"},
    400: {"description": "XML/JSON 格式错误、含 DTD/实体（XML 炸弹）或字段不合法"},
    404: {"description": "账号不存在或不属于该平台"},
    413: {"description": "请求体超过上限"},
}


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body (signatures cover the exact bytes), refused with 413 past `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"请求体超过上限 {limit} 字节")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"请求体超过上限 {limit} 字节")
        chunks.append(chunk)
    return b"".join(chunks)


def query_doc(query: dict[str, str]) -> dict[str, object]:
    """OpenAPI for query parameters documented rather than declared ({name: description}): each
    declared parameter costs every push a validation pass, and the connectors read the raw query."""
    return {"parameters": [_parameter(name, text) for name, text in query.items()]}


def _parameter(name: str, text: str) -> dict[str, object]:
    if not text:  # undescribed: shown as FastAPI shows a declared `name: str = ""`
        return {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string", "default": "", "title": name.title()},
        }
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}


def raw_body_doc(media_type: str, example: str, query: dict[str, str] | None = None) -> dict[str, object]:
    """OpenAPI for a raw signed body (and the query parameters of `query_doc`)."""
    doc: dict[str, object] = {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": {"type": "string"}, "example": example}},
        }
    }
    if query:
        doc.update(query_doc(query))
    return doc
