"""The whole daily loop in a real browser (Playwright driving the system Chromium; no browser download)
against a real uvicorn server on a loopback port: the operator signs in, finds a message by keyword,
drafts from a KB suggestion and submits; the reviewer signs in and approves; the (mocked) website board
receives the reply once; the operator sees it published; the sensitive alert waits in the supervising
leader's inbox with no robot configured. Screenshots of each page go to test-artifacts/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from app.intake.pipeline import Pipeline
from app.replies import outbox
from tests.helpers import ok_json, post_message
from tests.workbench.conftest import BOARD_SECRETS, PASSWORD

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="the system Chromium is not installed")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def county(client, admin_headers, make_unit, make_account, make_login_user, frozen_clock) -> dict[str, int]:
    make_unit("office", "县政府办公室")
    make_unit("police", "县公安局", keywords=["派出所", "户口", "身份证"], supervisor_code="office")
    ok_json(
        client.post(
            "/api/v1/kb/entries",
            json={
                "question": "身份证到期怎么换领",
                "answer": "您好，请携带原身份证到户籍所在地派出所办理换领。",
            },
            headers=admin_headers,
        ),
        201,
    )
    account = int(
        make_account("police", platform="generic", external_id="board", secrets=BOARD_SECRETS)["id"]
    )
    ids = {}
    for key, content in (
        ("plain", "我的身份证下个月到期了，怎么换领？"),
        ("other", "请问户口迁移需要什么材料"),
        ("sensitive", "派出所门口发生车祸，死了一个人，已经有记者来了"),
    ):
        ids[key] = post_message(
            client,
            admin_headers,
            {
                "account_id": account,
                "external_id": key,
                "content": content,
                "author": {"id": f"citizen-{key}", "name": "网友"},
                "thread_ref": {"thread_id": f"t-{key}"},
            },
        )
    Pipeline().drain()
    make_login_user("wang.op", "operator", "police")
    make_login_user("li.rev", "reviewer", "police")
    make_login_user("zhao.lead", "leader", "office")
    return ids


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/console")
    assert "/console/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/console")


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_daily_loop_in_a_real_browser(server, board, county) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            desk = browser.new_context(viewport={"width": 1366, "height": 768})
            page = desk.new_page()
            # Nothing may load from another host.
            page.route(
                "**/*",
                lambda route: route.continue_() if route.request.url.startswith(server) else route.abort(),
            )
            _sign_in(page, server, "wang.op")
            _shot(page, "01-queue-operator")
            assert page.locator("#queue tbody tr").first.get_attribute("data-id") == str(county["sensitive"])

            # Find the message by keyword.
            page.fill("input[name=q]", "身份证")
            page.click(".filters button[type=submit]")
            page.wait_for_load_state()
            rows = page.locator("#queue tbody tr[data-id]")
            assert rows.count() == 1 and rows.first.get_attribute("data-id") == str(county["plain"])
            _shot(page, "02-search")
            rows.first.locator("td.text a").click()
            page.wait_for_url(f"{server}/console/messages/{county['plain']}")
            _shot(page, "03-message")

            # Draft from the suggestion (the length counter follows) and submit.
            page.click("[data-action=use-suggestion]")
            assert "派出所办理换领" in page.input_value("#draft-form textarea[name=text]")
            assert int(page.inner_text("#length")) > 10
            with page.expect_navigation():
                page.click("[data-action=submit-draft]")
            assert page.locator(".reply [data-state=in_review]").count() == 1
            _shot(page, "04-submitted")
            with page.expect_navigation():
                page.click("[data-action=logout]")

            # The reviewer approves.
            _sign_in(page, server, "li.rev")
            page.goto(f"{server}/console/review")
            _shot(page, "05-review")
            box = page.locator("#box-in_review .reply")
            assert box.count() == 1 and "派出所办理换领" in box.first.inner_text()
            with page.expect_navigation():
                box.first.locator("button[value=approve]").click()
            assert page.locator("#box-in_review .reply").count() == 0
            desk.close()

            # The outbox publishes it: the board receives it exactly once, however often the job runs.
            outbox.drain()
            outbox.drain()
            assert len(board["requests"]) == 1
            assert "派出所办理换领" in board["requests"][0]["text"]

            # The operator sees it published.
            again = browser.new_context(viewport={"width": 1366, "height": 768})
            page = again.new_page()
            _sign_in(page, server, "wang.op")
            page.goto(f"{server}/console/messages/{county['plain']}")
            assert page.locator(".reply [data-state=published]").count() == 1
            _shot(page, "06-published")
            again.close()

            # The sensitive alert is in the supervising leader's inbox with no robot configured.
            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
            page = phone.new_page()
            _sign_in(page, server, "zhao.lead")
            page.goto(f"{server}/console/inbox")
            notice = page.locator("li[data-kind=sensitive]")
            assert notice.count() == 1 and "敏感留言提醒" in notice.inner_text()
            _shot(page, "07-inbox-leader-phone")
            with page.expect_navigation():
                notice.locator("[data-action=read]").click()
            assert page.inner_text("#unread") == "0"
            # The queue on a phone-sized screen: no horizontal scrolling.
            page.goto(f"{server}/console")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            _shot(page, "08-queue-phone")
            # The leader adds a Q&A entry for the unit from the 问答库 page; it opens as a draft, version 1.
            page.goto(f"{server}/console/kb")
            form = page.locator("#kb-create")
            form.locator("input[name=question]").fill("办公室开放时间是什么时候")
            form.locator("textarea[name=answer]").fill("您好，工作日上午九点至下午五点。")
            with page.expect_navigation():
                form.locator("button[type=submit]").click()
            assert "/console/kb?entry=" in page.url
            assert "编辑条目 #" in page.inner_text("body") and "第 1 版" in page.inner_text(".history")
            _shot(page, "09-kb-created-phone")
            phone.close()
        finally:
            browser.close()
