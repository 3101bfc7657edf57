"""The workbench pages, tested through the pages: sign-in redirect, each role sees only its units and
its pages, masked content, deadline in words, sensitive first, search, review and inbox, no other hosts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.intake.pipeline import Pipeline
from tests.helpers import ok_json, post_message
from tests.workbench.conftest import sign_in


@pytest.fixture
def county(client, admin_headers, make_unit, make_account, make_login_user, frozen_clock):
    make_unit("office", "县政府办公室")
    make_unit("police", "县公安局", keywords=["派出所", "户口", "身份证"], supervisor_code="office")
    make_unit("water", "县水务局", keywords=["停水", "水费"], supervisor_code="office")
    ok_json(
        client.post(
            "/api/v1/kb/entries",
            json={"question": "身份证到期怎么换领", "answer": "请携带原证件到户籍所在地派出所办理换领。"},
            headers=admin_headers,
        ),
        201,
    )
    police = int(make_account("police")["id"])
    water = int(make_account("water")["id"])
    ids = {}
    for key, account, content in (
        ("plain", police, "我的身份证下个月到期，怎么换领？电话13907351286"),
        ("sensitive", police, "派出所门口发生车祸，死了一个人，记者来了"),
        ("water", water, "小区停水三天了，水费还照收"),
    ):
        ids[key] = post_message(
            client,
            admin_headers,
            {
                "account_id": account,
                "external_id": key,
                "content": content,
                "author": {"id": key, "name": "张三"},
            },
        )
    Pipeline().drain()
    for username, role, unit in (
        ("opr", "operator", "police"),
        ("rev", "reviewer", "police"),
        ("lead", "leader", "police"),
        ("office", "leader", "office"),
        ("wop", "operator", "water"),
        ("sup", "supervisor", None),
        ("aud", "auditor", None),
    ):
        make_login_user(username, role, unit)
    return ids


def _page(client, path, status=200):
    resp = client.get(path, follow_redirects=False)
    assert resp.status_code == status, resp.text[:500]
    return resp.text


def test_signed_out_visitors_are_sent_to_sign_in(client, county):
    resp = client.get("/console/messages/1", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/console/login?next=/console/messages/1"
    page = _page(client, "/console/login?next=//evil.example/x")
    assert 'data-next="/console"' in page  # never sends anyone to another site
    client.cookies.set("hy_session", "hy_forged")
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_operator_queue_is_scoped_sensitive_first_with_deadline_words(client, county):
    sign_in(client, "opr")
    page = _page(client, "/console")
    rows = re.findall(r'<tr class="[^"]*" data-id="(\d+)"', page)
    assert rows == [str(county["sensitive"]), str(county["plain"])]  # sensitive first; water's not here
    assert "还剩 5 个工作日" in page and "计入的工作日" in page  # explanation on click
    assert "13907351286" not in page  # masked
    assert re.search(r'data-tab="sensitive">敏感 <b>1</b>', page)
    assert re.search(r'data-tab="all">全部待办 <b>2</b>', page)
    # Keyword search through the page.
    found = _page(client, "/console?q=身份证")
    assert re.findall(r'data-id="(\d+)"', found) == [str(county["plain"])]
    assert "没有符合条件的留言" in _page(client, "/console?q=停水")  # the water bureau's message stays hidden
    assert "没有符合条件的留言" in _page(client, "/console?unit_code=water")


def test_deadline_words_turn_to_overdue(client, county, frozen_clock):
    frozen_clock.set(frozen_clock.at + timedelta(days=12))
    sign_in(client, "opr")
    assert re.search(r"已超期 \d+ 天", _page(client, "/console"))


def test_message_page_for_the_desk_and_404_for_others(client, county):
    sign_in(client, "opr")
    page = _page(client, f"/console/messages/{county['plain']}")
    assert "13907351286" not in page and "身份证" in page
    assert "用此建议起草" in page and "请携带原证件" in page  # KB suggestion with the action
    assert 'id="draft-form"' in page and "查看原文" in page and "转办" in page
    assert "关闭（无需答复）" not in page  # closing is for reviewers and leaders
    assert "计入的工作日" in page  # deadline explanation
    assert "置信度" in page  # routing reason and confidence
    _page(client, f"/console/messages/{county['water']}", 404)
    _page(client, "/console/messages/999999", 404)


def test_role_pages(client, county):
    sign_in(client, "opr")
    assert "审核" not in re.sub(r"<main>.*", "", _page(client, "/console"), flags=re.S)  # not in the menu
    _page(client, "/console/review", 403)
    _page(client, "/console/kb", 403)
    _page(client, "/console/reports", 403)
    _page(client, "/console/inbox")
    client.cookies.clear()
    sign_in(client, "lead")
    assert "问答库" in _page(client, "/console") and "/board" in _page(client, "/console")
    assert "身份证到期怎么换领" in _page(client, "/console/kb?q=身份证")
    _page(client, "/console/reports")
    _page(client, "/console/review")
    client.cookies.clear()
    sign_in(client, "aud")
    _page(client, "/console/review", 403)
    _page(client, "/console/reports")


def test_review_inbox_shows_the_draft_and_its_warnings(client, county, admin_headers, make_user):
    operator = make_user("operator", "police")
    reply = ok_json(
        client.post(
            f"/api/v1/messages/{county['plain']}/replies",
            json={"text": "您好，请携带原证件到派出所换领。"},
            headers=operator,
        ),
        201,
    )
    ok_json(client.post(f"/api/v1/replies/{reply['id']}/submit", headers=operator))
    sign_in(client, "rev")
    history = _page(client, f"/console/messages/{county['plain']}").split('<ol class="history">')[-1]
    assert "收到留言" in history and "起草答复" in history and "提交审核" in history
    assert "reply.submit" not in history and "message.ingest" not in history
    page = _page(client, "/console/review")
    assert f'data-reply-id="{reply["id"]}"' in page and "请携带原证件到派出所换领" in page
    assert 'value="approve"' in page and 'value="reject"' in page
    client.cookies.clear()
    sign_in(client, "wop")
    _page(client, "/console/review", 403)


def test_inbox_page_shows_the_sensitive_alert_to_the_office_leader(client, county):
    sign_in(client, "office")
    page = _page(client, "/console/inbox")
    assert "敏感留言提醒" in page and f"/console/messages/{county['sensitive']}" in page
    client.cookies.clear()
    sign_in(client, "wop")
    assert "敏感留言提醒" not in _page(client, "/console/inbox")


def test_pages_load_nothing_from_other_hosts(client, county):
    sign_in(client, "lead")
    for path in (
        "/console",
        f"/console/messages/{county['plain']}",
        "/console/review",
        "/console/inbox",
        "/console/kb",
    ):
        resp = client.get(path)
        assert resp.status_code == 200
        assert not re.search(r'(src|href)="(https?:)?//', resp.text), path
        assert "default-src 'self'" in resp.headers["content-security-policy"]
    for asset in ("/console/static/console.js", "/console/static/console.css"):
        assert client.get(asset).status_code == 200


def test_supervisor_and_admin_see_every_unit(client, county, make_login_user):
    sign_in(client, "sup")
    page = _page(client, "/console")
    assert set(re.findall(r'data-id="(\d+)"', page)) == {str(v) for v in county.values()}
    _page(client, f"/console/messages/{county['water']}")
    _page(client, "/console/kb")
    _page(client, "/console/reports")
    _page(client, "/console/review", 403)  # supervisors do not review drafts
    client.cookies.clear()
    make_login_user("root", "admin")
    sign_in(client, "root")
    assert len(re.findall(r'data-id="(\d+)"', _page(client, "/console"))) == 3
    _page(client, "/console/review")


def test_hostile_content_is_escaped_and_bad_filters_are_harmless(client, admin_headers, county, make_account):
    account = int(make_account("police")["id"])
    hostile = post_message(
        client,
        admin_headers,
        {
            "account_id": account,
            "external_id": "xss",
            "content": '户口<script>alert("x")</script><img src=x onerror=alert(1)>',
            "author": {"id": "x", "name": '"><script>alert(2)</script>'},
        },
    )
    Pipeline().drain()
    sign_in(client, "opr")
    for path in ("/console", f"/console/messages/{hostile}"):
        page = _page(client, path)
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
    for query in (
        "?date_from=not-a-date&date_to=2026-13-45",
        "?account_id=abc&status=nope&sla_state=nope&platform=nope",
        "?q=%22%20OR%20%22",
        "?tab=../../etc",
    ):
        assert client.get("/console" + query).status_code == 200
    assert client.get("/console?q=" + "户" * 101).status_code == 422
    assert client.get("/console/messages/abc").status_code == 422


def test_queue_pages_keep_filters_and_skip_answered_messages(client, county, monkeypatch):
    """The queue is paged (a cursor in 下一页 that keeps the tab and filters); answered or closed
    messages never take a place on a page, however early their deadline."""
    from sqlalchemy import update

    from app.console import pages
    from app.db import session_scope
    from app.messages.models import Message

    with session_scope() as session:
        early = session.get(Message, county["plain"]).due_at - timedelta(days=30)
        session.execute(
            update(Message).where(Message.id == county["water"]).values(status="closed", due_at=early)
        )
    monkeypatch.setattr(pages, "QUEUE_LIMIT", 1)
    sign_in(client, "sup")
    seen = []
    page = _page(client, "/console?platform=generic")
    for _ in range(5):
        seen += re.findall(r'<tr class="[^"]*" data-id="(\d+)"', page)
        more = re.search(r'href="([^"]+)" data-page="next"', page)
        if not more:
            break
        url = more.group(1).replace("&amp;", "&")
        assert "platform=generic" in url and "tab=all" in url
        page = _page(client, url)
    assert sorted(seen) == sorted([str(county["plain"]), str(county["sensitive"])])  # not the closed one
    assert 'data-page="first"' in page
    # The sensitive tab filters in the database, before paging.
    assert re.findall(r'data-id="(\d+)"', _page(client, "/console?tab=sensitive")) == [
        str(county["sensitive"])
    ]
    # A forged cursor is a message on the page, not an error page.
    assert "cursor 无效" in _page(client, "/console?cursor=bm9wZQ")


def test_every_message_and_reply_action_in_the_code_has_a_history_label():
    """A new audit action on a message or reply shows in words, not as its code."""
    from pathlib import Path

    from app.console.pages import ACTION_LABELS

    source = "\n".join(p.read_text() for p in Path("app").rglob("*.py"))
    actions = set(re.findall(r'"((?:message|reply|pipeline)\.[a-z_]+)"', source))
    actions -= {"message.html"}  # a template's name
    assert actions and not actions - set(ACTION_LABELS), sorted(actions - set(ACTION_LABELS))
