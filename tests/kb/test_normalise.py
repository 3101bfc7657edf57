"""normalise(): one canonical form for citizen text."""

from __future__ import annotations

from kb.normalise import normalise


def test_traditional_becomes_simplified() -> None:
    assert normalise("身分證快到期了，要去哪裡換？") == "身分证快到期了,要去哪里换?"


def test_full_width_becomes_half_width_and_latin_lower_case() -> None:
    assert normalise("ＨＰＶ疫苗１２３ ABC") == "hpv疫苗123 abc"


def test_urls_mentions_and_emoji_are_removed() -> None:
    text = "@青禾县发布 身份证丢了😭😭补办去哪儿？ https://t.cn/A6xYz9Qk 👍🏻"
    assert normalise(text) == "身份证丢了 补办去哪儿?"


def test_bare_short_video_links_are_removed() -> None:
    assert normalise("刚刷到 v.douyin.com/iRkX2aB/ 想开店") == "刚刷到 想开店"


def test_topic_markers_go_but_topic_words_stay() -> None:
    assert normalise("#社保卡# 卡丢了 #医保") == "社保卡 卡丢了 医保"


def test_email_addresses_are_not_taken_for_mentions() -> None:
    assert normalise("请发到 abc@qq.com 谢谢") == "请发到 abc@qq.com 谢谢"


def test_mention_run_into_the_message_keeps_the_message() -> None:
    # No space after the name: a real nickname is at most 15 Chinese characters long.
    text = "@青禾县发布请问居民医保什么时候开始交今年交多少钱"
    assert normalise(text) == text[1:]


def test_decorative_symbols_and_whitespace() -> None:
    assert normalise("  ★☆※→ 温度38℃\n\t第①名  ") == "温度38°c 第1名"


def test_empty_and_noise_only() -> None:
    assert normalise("") == ""
    assert normalise("😂😂 🎉") == ""


def test_full_width_punctuation_and_long_texts() -> None:
    text = "ＨＰＶ疫苗，怎么预约？　谢谢！" * 200  # longer than the cache keeps
    assert normalise(text) == ("hpv疫苗,怎么预约? 谢谢!" * 200).strip()
    assert normalise("ＨＰＶ疫苗，怎么预约？") == normalise("ＨＰＶ疫苗，怎么预约？") == "hpv疫苗,怎么预约?"


def test_symbols_between_words_become_one_space() -> None:
    assert normalise("社保卡😭😭丢了★※怎么办") == "社保卡 丢了 怎么办"
