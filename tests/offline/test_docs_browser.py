"""`/docs` and `/redoc` in a real headless Chromium (Playwright, the system's browser) with every request to
another host aborted: the console renders its operations, and the page never even tries another host."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.helpers import serving

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def server(client) -> Iterator[str]:
    with serving(client.app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[object]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip(
            "未找到系统 chromium（make test 会用 apt-get 安装）：跳过真实浏览器测试；本测试从不下载浏览器"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def _offline_page(browser, server: str):  # type: ignore[no-untyped-def]
    """A page whose every request to a host other than the test server is aborted and recorded."""
    page = browser.new_page(locale="zh-CN")
    own = urlsplit(server).netloc
    elsewhere: list[str] = []

    def route(r):  # type: ignore[no-untyped-def]
        url = r.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != own:
            elsewhere.append(url)
            r.abort()
        else:
            r.continue_()

    page.route("**/*", route)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, elsewhere, errors


def test_docs_renders_its_operations_with_other_hosts_blocked(browser, server):
    page, elsewhere, errors = _offline_page(browser, server)
    page.goto(f"{server}/docs", wait_until="load")
    page.wait_for_selector(".opblock-tag-section", timeout=30_000)
    assert page.title() == "回应 Huiying · 接口操作台"
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("回应 Huiying")
    assert page.locator(".opblock-tag-section").count() >= 10  # one section per domain tag
    assert page.locator("button.authorize").count() == 1
    assert "Authorize（授权）" in page.locator("#huiying-hint").inner_text()
    # operations are folded under their tags (docExpansion none): expand the first one
    page.locator(".opblock-tag").first.click()
    page.wait_for_selector(".opblock .opblock-summary-path", timeout=30_000)
    assert page.locator(".opblock .opblock-summary-path").count() >= 1
    assert elsewhere == [], elsewhere
    assert errors == [], errors


def test_docs_keeps_the_token_across_a_reload(browser, server):
    page, elsewhere, _ = _offline_page(browser, server)
    page.goto(f"{server}/docs", wait_until="load")
    page.locator("button.authorize").click()
    page.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill("hy_demo_token")
    page.locator(".modal-ux .auth-btn-wrapper button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()
    page.reload(wait_until="load")
    page.wait_for_selector("button.authorize.locked", timeout=30_000)
    stored = page.evaluate("() => window.localStorage.getItem('authorized')")
    assert stored and "hy_demo_token" in stored
    assert elsewhere == [], elsewhere


def test_redoc_renders_with_other_hosts_blocked(browser, server):
    page, elsewhere, errors = _offline_page(browser, server)
    page.goto(f"{server}/redoc", wait_until="load")
    page.wait_for_selector(".api-content", timeout=60_000)
    assert "回应 Huiying" in page.locator("h1").first.inner_text()
    assert elsewhere == [], elsewhere
    assert errors == [], errors
