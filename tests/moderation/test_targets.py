"""Abuse reads its target: strong words about things are criticism (tagged intense), the same words said
of a person are abuse, each hit explains itself, and the lists are the administrator's to edit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.moderation.check import check
from tests.moderation.conftest import Desk

DATA = Path(__file__).resolve().parents[2] / "data"
LEXICON = "/api/v1/moderation/lexicon"


@pytest.mark.parametrize(
    "text",
    [
        "路面太垃圾了，坑坑洼洼",
        "这路修得真垃圾",
        "这个政策太垃圾了",
        "你们修的路真垃圾，一下雨全是水坑",  # "的": the insult is about the road
        "窗口工作人员服务态度太差，问两句就不耐烦",
        "中介公司都是骗子，住建局应该好好整顿",
        "官僚主义害死人，一件小事推了三个部门",
    ],
)
def test_strong_words_about_things_are_criticism_tagged_intense(text: str) -> None:
    result = check(text)
    assert result.abusive is False
    assert result.intense is True
    assert "intense" in result.flags and "abusive" not in result.flags


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("小编是垃圾", "「垃圾」指向「小编」"),
        ("你们就是一群废物", "「废物」指向「你们」"),
        ("垃圾领导，赶紧下台", "「垃圾」指向「领导」"),
        ("一帮饭桶", "「饭桶」指向「一帮」"),
        ("城管就是一群流氓", "「流氓」指向「城管」"),
    ],
)
def test_the_same_words_said_of_a_person_are_abuse_with_the_reason(text: str, why: str) -> None:
    result = check(text)
    assert result.abusive is True and result.intense is False
    assert why in [hit.why for hit in result.hits if hit.kind == "abuse"]


def test_insults_on_their_own_stay_abuse() -> None:
    for text in ("傻逼城管", "狗官", "去死吧你们", "nmsl"):
        assert check(text).abusive is True, text


def test_clause_punctuation_separates_person_and_thing() -> None:
    # "领导" ends one clause, "垃圾" is about the road in the next.
    assert check("领导，你看看这路修得多垃圾").abusive is False


def test_development_sets_figures() -> None:
    criticism = json.loads((DATA / "dev_criticism.json").read_text(encoding="utf-8"))
    own = json.loads((DATA / "moderation_handmade.json").read_text(encoding="utf-8"))
    for fair in criticism["criticism"] + own["criticism"]:
        assert check(fair).abusive is False, fair
    for insult in criticism["abuse"] + own["abuse"]:
        assert check(insult).abusive is True, insult


def test_target_and_allow_lists_are_editable(desk: Desk) -> None:
    text = "物业就是吸血鬼，停车费一年涨三次"
    assert desk.check(text)["abusive"] is False
    added = desk.client.post(LEXICON, json={"kind": "target", "term": "物业"}, headers=desk.admin)
    assert added.status_code == 201, added.text
    body = desk.check(text)
    assert body["abusive"] is True
    assert {"kind": "abuse", "term": "吸血鬼", "category": "指向人", "why": "「吸血鬼」指向「物业」"} in body[
        "hits"
    ]
    # An allow phrase cancels the hit inside it.
    allow = desk.client.post(LEXICON, json={"kind": "allow", "term": "吸血鬼电影"}, headers=desk.admin)
    assert allow.status_code == 201
    assert desk.check("物业就是吸血鬼电影的粉丝")["abusive"] is False
    listed = desk.client.get(LEXICON, params={"kind": "harsh"}, headers=desk.admin).json()
    assert {"kind": "harsh", "term": "垃圾", "category": "贬称", "source": "default"} in listed


def test_only_admins_edit_the_new_lexicons(desk: Desk) -> None:
    supervisor = desk.people("supervisor")
    for kind in ("harsh", "target", "prohibited", "rumour"):
        resp = desk.client.post(LEXICON, json={"kind": kind, "term": "测试词"}, headers=supervisor)
        assert resp.status_code == 403, kind
    bad = desk.client.post(LEXICON, json={"kind": "evil", "term": "测试词"}, headers=desk.admin)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"


def test_criticism_stays_in_the_queue_and_off_the_offenders_list(desk: Desk) -> None:
    from app.intake.pipeline import Pipeline

    angry = desk.ingest("派出所户籍窗口太差了，这路修得真垃圾，你们就是不作为", author="critic")
    insult = desk.ingest("派出所小编是垃圾", author="insulter")
    Pipeline().drain()
    leader = desk.people("leader", "police")
    queue = desk.client.get("/api/v1/queue", headers=leader).json()["items"]
    assert [m["id"] for m in queue] == [angry]
    assert "intense" in queue[0]["flags"] and "abusive" not in queue[0]["flags"]
    offenders = desk.client.get(
        "/api/v1/moderation/offenders", params={"min_offences": 1}, headers=desk.admin
    ).json()
    assert [(o["author_id"], o["message_ids"]) for o in offenders] == [("insulter", [insult])]
