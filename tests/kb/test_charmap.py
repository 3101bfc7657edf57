"""CharMap: the same text as str.translate, whatever the length or the characters."""

from __future__ import annotations

import pytest

from kb.charmap import CharMap

MAPPING = {ord("社"): "X", ord("，"): ",", 0x3000: " ", 0x20000: "Y"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "社保",
        "社保卡丢了，怎么办？" * 20,  # long: the numpy path
        "社保卡丢了，怎么办？\U00020000" * 20,  # a character beyond the BMP: str.translate
        "abc　社" * 30,
    ],
)
def test_same_as_str_translate(text: str) -> None:
    assert CharMap(MAPPING)(text) == text.translate(MAPPING)


def test_only_single_characters() -> None:
    with pytest.raises(ValueError):
        CharMap({ord("a"): "bc"})
