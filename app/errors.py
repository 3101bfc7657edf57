"""One error family, mapped to HTTP in one place: `{"error": {"code", "message"}}`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connectors.base import PayloadError
from connectors.spreadsheet import SpreadsheetTooLarge


class HuiyingError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class BadRequest(HuiyingError):
    status, code = 400, "bad_request"


class Unauthorized(HuiyingError):
    status, code = 401, "unauthorized"


class Forbidden(HuiyingError):
    status, code = 403, "forbidden"


class NotFound(HuiyingError):
    status, code = 404, "not_found"


class Conflict(HuiyingError):
    status, code = 409, "conflict"


class PayloadTooLarge(HuiyingError):
    status, code = 413, "payload_too_large"


class Invalid(HuiyingError):
    status, code = 422, "invalid"


class TooManyRequests(HuiyingError):
    status, code = 429, "too_many_requests"


class Unavailable(HuiyingError):
    status, code = 503, "unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


@contextmanager
def uploaded_file() -> Iterator[None]:
    """Turns a connector's refusal of an uploaded file into the contract's error: 413 over a limit
    (size, rows, a decompression bomb), else 400 with the reason."""
    try:
        yield
    except SpreadsheetTooLarge as exc:
        raise PayloadTooLarge(exc.message, code="file_too_large") from exc
    except PayloadError as exc:
        raise BadRequest(exc.message, code="bad_file") from exc
