"""The operators' console pages `/docs` (Swagger UI) and `/redoc` (ReDoc), served entirely by this service.

Government networks (政务外网) usually block public CDNs, so the scripts and stylesheets come from the
pinned `fastapi-offline` package, which ships the Swagger UI and ReDoc bundles, and are served here under
`/docs-assets/`. The pages declare their charset, carry a Chinese title and Authorize hint, and keep the
token across reloads (Swagger UI's `persistAuthorization`, stored in the browser's localStorage)."""

from __future__ import annotations

import html
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from app.errors import NotFound

router = APIRouter(include_in_schema=False)

ASSET_PREFIX = "/docs-assets"
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
SWAGGER_PARAMETERS: dict[str, Any] = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "persistAuthorization": True,
    "docExpansion": "none",
    "filter": True,
    "displayRequestDuration": True,
    "tryItOutEnabled": False,
    # The default validator badge would call a public host.
    "validatorUrl": None,
}
AUTHORIZE_HINT = (
    "使用方法：点击右侧 <b>Authorize（授权）</b> 按钮，填入访问令牌（不含 Bearer 前缀）后点 Authorize；"
    "令牌保存在本浏览器中，刷新页面后仍然有效，点 Logout 即清除。"
    "每个接口点开后按 Try it out 即可调用。"
)
# Only this origin: the pages must work where nothing else can be reached, and must not leak the token.
SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

SWAGGER_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 接口操作台</title>
<link rel="icon" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<style>
  .huiying-hint {{ font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
    background: #fff8e1; border-bottom: 1px solid #f0d48a; padding: 10px 20px; font-size: 14px; color: #3b3b3b; }}
  .huiying-hint a {{ color: #1565c0; }}
</style>
</head>
<body>
<div class="huiying-hint" id="huiying-hint">{hint} 另有 <a href="{root}/redoc">ReDoc 阅读版</a>
 和 <a href="{root}/board">督办看板</a>。</div>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
const config = {parameters};
config.url = {openapi_url};
config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
window.ui = SwaggerUIBundle(config);
</script>
</body>
</html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 接口说明</title>
<link rel="icon" href="{assets}/favicon.png">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<noscript>接口说明页需要启用 JavaScript。</noscript>
<redoc spec-url={openapi_url}></redoc>
<script src="{assets}/redoc.standalone.js"></script>
</body>
</html>
"""


def asset_dir() -> Path:
    """The folder of the Swagger UI / ReDoc bundles inside the installed `fastapi-offline` package."""
    return Path(str(files("fastapi_offline") / "static"))


def _page(request: Request, template: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    openapi_url = f"{root}{request.app.openapi_url}"
    body = template.format(
        title=html.escape(request.app.title),
        assets=f"{root}{ASSET_PREFIX}",
        root=root,
        hint=AUTHORIZE_HINT,
        parameters=json.dumps(SWAGGER_PARAMETERS),
        openapi_url=json.dumps(openapi_url),
    )
    return HTMLResponse(body, headers=SECURITY_HEADERS)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(request, SWAGGER_PAGE)


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    return _page(request, REDOC_PAGE)


@router.get(ASSET_PREFIX + "/{name}")
def asset(name: str) -> FileResponse:
    """One of the bundled files, by exact name (nothing else under the package folder is reachable)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("文件不存在")
    return FileResponse(
        asset_dir() / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
