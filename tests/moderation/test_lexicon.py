"""Lexicon matching: normalised, obfuscation-proof, latin words whole, allow phrases respected."""

from __future__ import annotations

from app.moderation.lexicon import Lexicon, LexiconEntry, default_entries, parse_terms


def terms(lexicon: Lexicon, text: str) -> set[str]:
    return {hit.term for hit in lexicon.match(text)}


LEX = Lexicon(
    [
        LexiconEntry("abuse", "傻逼", "侮辱"),
        LexiconEntry("abuse", "sb", "缩写"),
        LexiconEntry("abuse", "垃圾", "侮辱"),
        LexiconEntry("sensitive", "跳楼", "自伤"),
        LexiconEntry("allow", "垃圾站"),
    ]
)


def test_hits_carry_kind_term_and_category() -> None:
    (hit,) = LEX.match("有人要跳楼")
    assert (hit.kind, hit.term, hit.category) == ("sensitive", "跳楼", "自伤")


def test_masked_and_spaced_forms_are_caught() -> None:
    assert terms(LEX, "傻*逼") == {"傻逼"}
    assert terms(LEX, "傻 逼政府") == {"傻逼"}
    assert terms(LEX, "S B") == {"sb"}
    assert terms(LEX, "ｓｂ") == {"sb"}


def test_traditional_characters_are_normalised() -> None:
    assert terms(Lexicon.from_terms({"abuse": ["废物"]}), "一群廢物") == {"废物"}


def test_latin_terms_only_match_whole_words() -> None:
    assert terms(LEX, "usb接口坏了") == set()
    assert terms(LEX, "this bus") == set()


def test_allow_phrase_cancels_the_word_inside_it() -> None:
    assert terms(LEX, "垃圾站太臭了") == set()
    assert terms(LEX, "垃圾站旁边的人真垃圾") == {"垃圾"}


def test_clause_punctuation_is_not_removed() -> None:
    # "傻。逼" spans two sentences; only spaces and masking symbols are squeezed out.
    assert terms(LEX, "太傻。逼得我没办法") == set()


def test_empty_lexicon_matches_nothing() -> None:
    assert Lexicon([]).match("傻逼") == []


def test_parse_terms_reads_categories_and_skips_comments() -> None:
    entries = parse_terms("# comment\n## 脏话\n他妈的\n\n## 缩写\ntmd\n", kind="abuse")
    assert entries == [LexiconEntry("abuse", "他妈的", "脏话"), LexiconEntry("abuse", "tmd", "缩写")]


def test_default_files_cover_the_three_kinds_and_allow() -> None:
    kinds = {e.kind for e in default_entries()}
    assert {"abuse", "sensitive", "spam", "allow"} <= kinds
