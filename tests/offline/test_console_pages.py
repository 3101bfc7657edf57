"""`/docs`, `/redoc` and `/board` load nothing from another host: every script, stylesheet, icon and image
they reference is served here with 200, and each page declares its charset."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

PAGES = ["/docs", "/redoc", "/board"]
BASE = "http://testserver"


class References(HTMLParser):
    """Collects the URLs a browser would fetch on load, and the declared charset."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.charset: str | None = None
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append(tag)
        if tag == "meta" and "charset" in values:
            self.charset = values["charset"].lower()
        for name in ("src", "href", "spec-url", "data", "poster", "srcset"):
            if name in values and not (tag == "a" and name == "href"):
                self.urls.append(values[name])


def parse(html: str) -> References:
    refs = References()
    refs.feed(html)
    return refs


@pytest.mark.parametrize("path", PAGES)
def test_page_references_only_this_host_and_every_asset_is_served(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    refs = parse(resp.text)
    assert refs.charset == "utf-8", f"{path} declares no utf-8 charset"
    assert "//cdn" not in resp.text and "fonts.googleapis" not in resp.text
    for url in refs.urls:
        absolute = urljoin(BASE + path, url)
        assert urlsplit(absolute).netloc == "testserver", f"{path} loads {url} from another host"
        asset = client.get(absolute)
        assert asset.status_code == 200, f"{path} references {url}, which answers {asset.status_code}"
        assert asset.content, url
    # the pages say what to do in Chinese and the browser may only talk to this origin
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp


def test_docs_page_is_chinese_persists_authorisation_and_loads_the_bundled_swagger_ui(client):
    html = client.get("/docs").text
    assert '<html lang="zh-CN">' in html
    assert "<title>回应 Huiying · 接口操作台</title>" in html
    assert "Authorize（授权）" in html and "访问令牌" in html
    assert '"persistAuthorization": true' in html
    assert '"validatorUrl": null' in html  # no badge fetched from a public validator
    refs = parse(html)
    assert "/docs-assets/swagger-ui-bundle.js" in refs.urls
    assert "/docs-assets/swagger-ui.css" in refs.urls
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in js.text
    assert client.get("/docs-assets/swagger-ui.css").headers["content-type"].startswith("text/css")


def test_redoc_page_uses_the_bundled_redoc_without_web_fonts(client):
    html = client.get("/redoc").text
    assert "<title>回应 Huiying · 接口说明</title>" in html
    refs = parse(html)
    assert "/docs-assets/redoc.standalone.js" in refs.urls and "/openapi.json" in refs.urls
    assert "Redoc" in client.get("/docs-assets/redoc.standalone.js").text


@pytest.mark.parametrize(
    "name", ["../core.py", "..%2Fcore.py", "core.py", "static", "%2e%2e/__init__.py", "x" * 5000]
)
def test_only_the_bundled_files_are_reachable(client, name):
    resp = client.get(f"/docs-assets/{name}")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"


def test_openapi_keeps_the_chinese_summaries_and_the_bearer_hint(client):
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "回应 Huiying"
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["description"].startswith("在 Authorize 中")
    summaries = [op.get("summary", "") for item in spec["paths"].values() for op in item.values()]
    assert any("就绪" in s for s in summaries)
