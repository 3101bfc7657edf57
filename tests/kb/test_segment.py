"""Segmentation, stop-words, synonyms and n-grams."""

from __future__ import annotations

from kb.normalise import normalise
from kb.segment import canonical, char_ngrams, content, search_terms, tokens


def test_government_words_stay_whole_and_stop_words_go() -> None:
    words = tokens(normalise("请问社保卡丢了怎么办理不动产登记"))
    assert "社保卡" in words
    assert "不动产登记" in words
    assert "请问" not in words
    assert "怎么" not in words


def test_punctuation_and_spaces_are_not_tokens() -> None:
    assert tokens("医保，  公积金?") == ["医保", "公积金"]


def test_synonyms_map_to_one_canonical_form() -> None:
    assert canonical("医疗保险") == "医保"
    assert canonical("住房公积金") == "公积金"
    assert canonical("居民身份证") == "身份证"
    assert canonical("未知词") == "未知词"


def test_search_terms_add_sub_words_of_long_words() -> None:
    terms = search_terms("城乡居民基本养老保险")
    assert "养老保险" in terms


def test_content_text_drops_filler_and_canonicalises() -> None:
    words, body = content(normalise("请问住房公积金怎么提取呢"))
    assert words == ["住房公积金", "提取"]
    assert body == "公积金 提取"  # a stop-word stood between them


def test_char_ngrams_do_not_cross_punctuation() -> None:
    assert char_ngrams("医保,卡") == ["医保", "卡"]
    assert char_ngrams("社保卡", (1, 2)) == ["社", "保", "卡", "社保", "保卡"]
