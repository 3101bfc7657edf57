"""Pinyin helpers behind the homophone and shorthand matching."""

from __future__ import annotations

from kb.pinyin import abbreviations, encode, initials, split_latin, syllables


def test_homophones_encode_alike() -> None:
    assert encode("认正") == encode("认证")
    assert encode("补半") == encode("补办")
    assert encode("社保") != encode("医保")


def test_latin_pinyin_is_split_into_syllables() -> None:
    assert split_latin("shebao") == ("she", "bao")
    assert split_latin("xian") == ("xian",)
    assert split_latin("sfz") is None
    assert syllables("交shebao") == [["jiao", "she", "bao"]]


def test_initials_and_abbreviations() -> None:
    assert initials("身份证") == "sfz"
    assert initials("hpv") is None
    assert abbreviations("sfz丢了 shebao ok") == ["sfz", "ok"]
