"""The supervision board page (`/board`): one static HTML file with vanilla JS and inline SVG charts that
reads the JSON report APIs with a token the user pastes once (kept in the browser's localStorage)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

PAGE = Path(__file__).resolve().parent / "static" / "board.html"


@cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


@router.get("/board", response_class=HTMLResponse)
def board() -> HTMLResponse:
    # The page holds no data; the token stays in the browser and is sent only to this origin's API.
    return HTMLResponse(
        _page(),
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )
