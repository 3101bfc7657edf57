"""`POST /api/v1/messages` answered beneath the framework for the ordinary request: every channel's
messages arrive here, and routing, dependency solving and the framework's layers cost each request more
than validating and storing it does.

The shortcut takes a request only when everything it needs is at hand without the database: a bearer
token in the token cache, a JSON body that `MessageCreate` accepts, and the account in the account
cache, visible to the caller and active. Anything else (a cache miss, a sign-in cookie, a body the
model refuses, a role that may not ingest) goes on, body unread, to the FastAPI route
(`app.messages.api.create_message`), which answers it as it always has. Once the shortcut has taken a
request it stores it as the route does (group commit: the answer comes after the commit) and answers
with the same body; a failure while storing is turned into a response by the application's own
exception handlers."""

from __future__ import annotations

import inspect
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope, Send

from app.accounts.service import peek_cached
from app.auth import cached_principal
from app.messages import api, service
from app.messages.group_commit import group_commit
from app.messages.models import MessageCreate


async def create_message(scope: Scope, body: bytes, send: Send) -> bool:
    """Answers an ingest request (the path and method are the caller's to check); False, having sent
    nothing, when the request is not an ordinary one and the FastAPI route must answer it."""
    prepared = _prepare(scope, body)
    if prepared is None:
        return False
    scope["route"] = _ROUTE  # counted under the route's template, as the route's requests are
    try:
        message_id, created = await group_commit.store(prepared)
    except Exception as exc:
        await _handled(scope, exc, send)
        return True
    content = orjson.dumps({"id": message_id, "status": "received", "duplicate": not created})
    response = Response(content, status_code=201 if created else 200, media_type="application/json")
    await response(scope, _no_body, send)
    return True


_ROUTE = next(r for r in api.router.routes if getattr(r, "endpoint", None) is api.create_message)


def _prepare(scope: Scope, body: bytes) -> service.PreparedMessage | None:
    """The row to store, or None when the request needs the full route."""
    if scope.get("root_path"):
        return None
    authorization = content_type = None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"content-type" and content_type is None:
            content_type = value
    if authorization is None or content_type is None:
        return None
    if content_type.split(b";", 1)[0].strip().lower() != b"application/json":
        return None
    principal = cached_principal(authorization)
    if principal is None:
        return None
    try:
        data = MessageCreate.model_validate(orjson.loads(body))
    except Exception:  # not JSON the route would accept: its answer (400/422) is the route's to give
        return None
    account = peek_cached(data.account_id)
    if account is None or not principal.sees_unit(account.unit_code):
        return None
    try:
        return service.build(actor=principal, data=data, account=account)
    except Exception:  # refused (role, inactive account, receipt time): the route gives the same refusal
        return None


async def _handled(scope: Scope, exc: Exception, send: Send) -> None:
    """Sends what the application's exception handler for `exc` answers; re-raises `exc` when only the
    catch-all handler (500) applies, which the server-error layer outside runs as for any route."""
    handlers: dict[Any, Any] = getattr(scope.get("app"), "exception_handlers", {})
    for cls in type(exc).__mro__:
        if cls is Exception:
            break
        handler = handlers.get(cls)
        if handler is not None:
            response = handler(Request(scope, _no_body), exc)
            if inspect.isawaitable(response):
                response = await response
            await response(scope, _no_body, send)
            return
    raise exc


async def _no_body() -> dict[str, Any]:
    # The body has been read already: a response that listens for a disconnect waits here.
    return {"type": "http.disconnect"}
