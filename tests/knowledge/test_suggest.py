"""POST /kb/suggest with messages written the way citizens write: Traditional characters, typos and
homophones, noise, long stories; only published entries valid now, for the right channel."""

from __future__ import annotations

from datetime import timedelta

from app.knowledge.index import knowledge_index
from tests.knowledge.conftest import Desk

ID_CARD = "居民身份证到期了怎么换领？"
SOCIAL_CARD = "社会保障卡丢了怎么挂失补办？"
FUND = "住房公积金怎么提取？"


def test_suggestion_has_the_contract_fields(stocked: Desk) -> None:
    top = stocked.top("我身份证下个月就过期了，现在能提前去换吗？")
    assert top["entry_id"] == stocked.ids[ID_CARD]
    assert top["question"] == ID_CARD
    assert top["answer"].startswith("有效期满前三个月内")
    assert top["confident"] is True
    assert top["version"] == 1
    assert top["unit_code"] == "gaj"
    assert 0 < top["score"] <= 1
    assert top["matched_field"] in {"question", "alt"}
    assert "身份证" in "".join(top["matched_terms"])


def test_traditional_characters(stocked: Desk) -> None:
    top = stocked.top("請問身份證過期了要去哪裡換領？")
    assert top["entry_id"] == stocked.ids[ID_CARD] and top["confident"]


def test_typos_and_homophones(stocked: Desk) -> None:
    top = stocked.top("社保卡丢了去哪挂失补半")
    assert top["entry_id"] == stocked.ids[SOCIAL_CARD]
    assert stocked.top("身分证到期了咋换")["entry_id"] == stocked.ids[ID_CARD]


def test_noisy_input(stocked: Desk) -> None:
    text = "@青禾发布 #便民服务# 公积金的钱😭😭怎么取出来啊？？？ 详见 https://t.cn/A6abcdE 谢谢！！"
    top = stocked.top(text)
    assert top["entry_id"] == stocked.ids[FUND] and top["confident"]


def test_a_long_story_with_the_question_at_the_end(stocked: Desk) -> None:
    story = "我家住在城关镇，今天天气很好，早上出门买菜，路上遇到了老邻居，聊了很久。" * 120
    top = stocked.top(story + "想问一下新生儿怎么上户口？")
    assert top["entry_id"] == stocked.ids["新生儿怎么上户口？"]


def test_no_confident_answer_for_an_unrelated_message(stocked: Desk) -> None:
    found = stocked.suggest("小区门口的路灯坏了好几天了，晚上走路很危险")
    assert not any(s["confident"] for s in found)


def test_unit_code_prefers_that_units_entry(desk: Desk) -> None:
    desk.create(question="办理居住证需要什么材料？", answer="请到派出所户籍窗口办理。", unit_code="gaj")
    desk.create(question="办理居住证需要什么材料？", answer="请到人社局服务窗口办理。", unit_code="rsj")
    text = "办居住证要带什么材料"
    assert desk.top(text, unit_code="rsj")["unit_code"] == "rsj"
    assert desk.top(text, unit_code="gaj")["unit_code"] == "gaj"


def test_only_published_entries_are_suggested(desk: Desk) -> None:
    draft = desk.create(question=ID_CARD, answer="草稿答案", unit_code="gaj", status="draft")
    assert desk.suggest("身份证到期怎么换") == []
    desk.patch(f"/kb/entries/{draft['id']}", desk.admin, {"status": "published"})
    assert desk.top("身份证到期怎么换")["entry_id"] == draft["id"]


def test_validity_window(desk: Desk, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    now = frozen_clock.at
    old = desk.create(
        question="2025年医保缴费截止时间？",
        answer="2025年度缴费已结束。",
        unit_code="rsj",
        valid_to=(now - timedelta(days=1)).isoformat(),
    )
    soon = desk.create(
        question="2026年医保缴费什么时候开始？",
        answer="2026年9月1日起缴费。",
        unit_code="rsj",
        valid_from=(now + timedelta(days=1)).isoformat(),
    )
    found = {s["entry_id"] for s in desk.suggest("医保缴费时间")}
    assert old["id"] not in found and soon["id"] not in found
    frozen_clock.set(now + timedelta(days=2))
    knowledge_index.refresh()
    found = {s["entry_id"] for s in desk.suggest("医保缴费时间")}
    assert soon["id"] in found and old["id"] not in found


def test_channel_limited_entry(desk: Desk) -> None:
    entry = desk.create(
        question="微博私信多久回复？", answer="工作日24小时内回复。", unit_code="gaj", channels=["weibo"]
    )
    assert desk.top("私信多久回复", channel="weibo")["entry_id"] == entry["id"]
    assert desk.suggest("私信多久回复", channel="wechat") == []
    assert desk.top("私信多久回复")["entry_id"] == entry["id"]  # no channel given: every entry


def test_limit_and_bad_requests(stocked: Desk) -> None:
    assert len(stocked.suggest("怎么办理", limit=2)) <= 2
    assert stocked.post("/kb/suggest", stocked.operator_a, {"text": ""}).status_code == 422
    assert stocked.post("/kb/suggest", stocked.operator_a, {"text": "身份证", "limit": 0}).status_code == 422
    assert stocked.post("/kb/suggest", {}, {"text": "身份证"}).status_code == 401
    assert stocked.suggest("🙂🙂 !!!") == []


def test_index_status(stocked: Desk) -> None:
    stocked.suggest("身份证")
    status = stocked.get("/kb/index", stocked.operator_a).json()
    assert status["ready"] is True
    assert status["entries"] == len(stocked.ids)
    assert status["kb_version"] is not None


def test_citizens_words_and_initials_through_the_api(desk: Desk) -> None:
    """#20: 过期/补办/sfz as citizens write them find the base's 期满/换领/身份证 wording confidently,
    and an entry about the temporary card does not take the expired card's question."""
    renew = desk.create(
        question="居民身份证有效期满了，怎么换领新证？",
        answer="有效期满前3个月内，本人携带原身份证和户口簿到派出所办理换领，工本费20元。",
        unit_code="gaj",
    )
    desk.create(
        question="居民身份证丢失了怎么补领？",
        answer="本人携带户口簿到派出所申请补领，补领工本费40元。",
        unit_code="gaj",
    )
    desk.create(
        question="如何办理临时居民身份证？",
        answer="在申请领取、换领、补领正式身份证期间急需使用的，可申请临时身份证，临时身份证工本费10元。",
        unit_code="gaj",
    )
    for text in ("請問身份證過期了怎麼補辦", "身份证到期了怎么换"):
        top = desk.top(text)
        assert top["entry_id"] == renew["id"] and top["confident"], (text, top)
    terms = desk.top("sfz过期了怎么换")["matched_terms"]
    assert "sfz=身份证" in terms and "身份证" in terms
