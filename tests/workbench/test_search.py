"""GET /messages?q=&author_id=&from=&to=: Chinese keyword search (jieba words, Traditional and full-width
folded), one citizen's history, date range; scoped to the caller's units."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.intake.pipeline import Pipeline
from tests.helpers import ok_json, post_message

MESSAGES = "/api/v1/messages"


@pytest.fixture
def board(client, admin_headers, make_unit, make_account, make_user, frozen_clock):
    make_unit("police", "县公安局", keywords=["派出所", "户口", "身份证"])
    make_unit("water", "县水务局", keywords=["停水", "水费"])
    police = int(make_account("police")["id"])
    water = int(make_account("water")["id"])
    rows = [
        (police, "c1", "王小明", "请问户口迁移需要准备哪些材料？", "2026-03-01T10:00:00+08:00"),
        (police, "c2", "李华", "身份证到期了能不能提前换领", "2026-03-01T11:00:00+08:00"),
        (police, "c1", "王小明", "戶口遷移辦好了嗎？", "2026-03-02T09:00:00+08:00"),  # Traditional
        (water, "c3", "赵六", "我们小区停水三天了，户口本都泡了", "2026-03-02T10:00:00+08:00"),
        (water, "c4", "ＡＢＣ水务观察", "水费为什么涨价", "2026-03-03T10:00:00+08:00"),  # full-width name
    ]
    # Receipt times may not lie in the future: the clock stands after the last message.
    frozen_clock.set(datetime(2026, 3, 4, 1, 0, tzinfo=UTC))
    ids = []
    for n, (account, author, name, content, at) in enumerate(rows):
        ids.append(
            post_message(
                client,
                admin_headers,
                {
                    "account_id": account,
                    "external_id": f"s{n}",
                    "content": content,
                    "author": {"id": author, "name": name},
                    "received_at": at,
                },
            )
        )
    Pipeline().drain()
    return {"ids": ids, "police_op": make_user("operator", "police"), "admin": admin_headers}


def _ids(client, headers, **params):
    return [m["id"] for m in ok_json(client.get(MESSAGES, params=params, headers=headers))["items"]]


def test_keyword_finds_words_in_simplified_and_traditional(client, board):
    ids, admin = board["ids"], board["admin"]
    assert set(_ids(client, admin, q="户口迁移")) == {ids[0], ids[2]}
    assert set(_ids(client, admin, q="戶口")) == {ids[0], ids[2], ids[3]}
    assert _ids(client, admin, q="身份证 换领") == [ids[1]]
    assert _ids(client, admin, q="身份证 停水") == []  # every word must occur
    assert _ids(client, admin, q="燃气") == []


def test_keyword_matches_the_author_name(client, board):
    ids, admin = board["ids"], board["admin"]
    assert set(_ids(client, admin, q="王小明")) == {ids[0], ids[2]}
    assert _ids(client, admin, q="abc") == [ids[4]]  # full-width, any case


def test_author_history_and_dates(client, board):
    ids, admin = board["ids"], board["admin"]
    assert _ids(client, admin, author_id="c1") == [ids[2], ids[0]]
    assert _ids(client, admin, author_id="c1", **{"from": "2026-03-02T00:00:00+08:00"}) == [ids[2]]
    assert set(
        _ids(client, admin, **{"from": "2026-03-02T00:00:00+08:00", "to": "2026-03-03T00:00:00+08:00"})
    ) == {
        ids[2],
        ids[3],
    }
    assert _ids(client, admin, q="户口", to="2026-03-02T00:00:00+08:00") == [ids[0]]


def test_search_is_scoped_to_the_callers_units(client, board):
    ids = board["ids"]
    # The water bureau's message mentions 户口 too, but a police operator never sees it.
    assert set(_ids(client, board["police_op"], q="户口")) == {ids[0], ids[2]}
    assert _ids(client, board["police_op"], author_id="c3") == []


@pytest.mark.parametrize(
    "q", ["？？？", "的", '"', "' OR 1=1 --", '户口" OR "', "*", "NEAR(a b)", "户口 AND"]
)
def test_hostile_or_empty_queries_are_4xx_or_harmless(client, board, q):
    resp = client.get(MESSAGES, params={"q": q}, headers=board["admin"])
    assert resp.status_code in (200, 422), resp.text
    if resp.status_code == 422:
        assert resp.json()["error"]["message"]


def test_overlong_query_is_refused(client, board):
    assert client.get(MESSAGES, params={"q": "户" * 101}, headers=board["admin"]).status_code == 422
    assert client.get(MESSAGES, params={"from": "yesterday"}, headers=board["admin"]).status_code == 422


def test_reindex_command_makes_older_messages_searchable(client, board, capsys):
    from sqlalchemy import text

    from app import cli
    from app.db import session_scope

    with session_scope() as session:  # as after an upgrade: messages stored before search existed
        session.execute(text("DELETE FROM message_search"))
    assert _ids(client, board["admin"], q="户口迁移") == []
    assert cli.main(["messages", "reindex"]) == 0
    assert "5 条" in capsys.readouterr().out
    assert set(_ids(client, board["admin"], q="户口迁移")) == {board["ids"][0], board["ids"][2]}
