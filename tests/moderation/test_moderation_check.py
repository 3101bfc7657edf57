"""The moderation verdict: abuse vs legitimate anger, sensitivity, spam, personal data masked."""

from __future__ import annotations

import pytest

from app.moderation.check import check
from app.moderation.lexicon import Lexicon, LexiconEntry


@pytest.mark.parametrize(
    "text",
    [
        "你们这帮狗官，一个个不得好死",
        "tmd 又没人接电话",
        "回复的什么狗屁东西",
        "傻X物业",
        "nmsl",
        "你們這群廢物",
    ],
)
def test_abuse_is_flagged(text: str) -> None:
    assert check(text).abusive


@pytest.mark.parametrize(
    "text",
    [
        "办事效率太低了，部门之间互相推诿，就是不作为！",
        "真的太失望了，官僚主义作风严重，我要投诉",
        "垃圾站就建在我家门口，臭气熏天",
        "看到通知我直接傻眼了",
        "我操作了半天也没提交成功",
        "今天是节日你们还上班吗",
        "智障儿童的补贴怎么申请",
        "固体废物乱堆乱放没人管",
    ],
)
def test_legitimate_anger_and_plain_words_are_not_abuse(text: str) -> None:
    assert not check(text).abusive


def test_sensitive_matters() -> None:
    assert check("工地塌方，死了两个人").sensitive
    assert check("再不解决我们就集体上访").sensitive
    assert check("小区有人要跳楼").sensitive
    assert not check("老人去世了，死亡证明怎么开").sensitive


def test_spam_needs_an_advertising_term_or_two_solicitations() -> None:
    assert check("兼职刷单，日结300").spam
    assert check("加我微信，私聊我").spam
    assert not check("麻烦加我微信沟通一下补贴的事").spam


def test_personal_data_is_reported_and_masked() -> None:
    result = check("电话13907351286，sb")
    assert [(s.kind, s.text) for s in result.pii] == [("mobile", "13907351286")]
    assert result.masked_text == "电话139****1286，sb"
    assert result.flags == ["abusive", "pii"]


def test_no_personal_data_keeps_the_text() -> None:
    result = check("路灯坏了")
    assert result.masked_text == "路灯坏了"
    assert result.flags == []


def test_custom_lexicons_replace_the_defaults() -> None:
    lexicon = Lexicon([LexiconEntry("abuse", "坏蛋")])
    assert check("你是坏蛋", lexicons=lexicon).abusive
    assert not check("sb", lexicons=lexicon).abusive


def test_precomputed_normalised_text_is_used() -> None:
    lexicon = Lexicon([LexiconEntry("sensitive", "跳楼")])
    assert check("原文", lexicons=lexicon, normalised="有人跳楼").sensitive
