"""Integer n-gram keys: the same n-grams whether one text or many are keyed at once."""

from __future__ import annotations

from collections import Counter

import numpy as np

from kb import grams

TEXTS = ["社保卡丢了", "医保 缴费", "", "卡", "hpv疫苗2024"]


def _decoded(keys: np.ndarray) -> Counter[str]:
    return Counter(grams.decode(int(k)) for k in keys)


def test_keys_are_the_character_ngrams() -> None:
    cp = grams.codepoints("医保 缴费")
    assert _decoded(grams.keys(cp, grams.text_mask(cp), (1, 2))) == Counter(
        ["医", "保", "缴", "费", "医保", "缴费"]
    )


def test_lone_characters_survive_without_unigrams() -> None:
    cp = grams.codepoints("卡 医保")
    assert _decoded(grams.keys(cp, grams.text_mask(cp), (2,))) == Counter(["卡", "医保"])


def test_batch_matches_one_text_at_a_time() -> None:
    found, owner = grams.batch(TEXTS, grams.text_mask, (1, 2, 3))
    for i, text in enumerate(TEXTS):
        cp = grams.codepoints(text)
        assert _decoded(found[owner == i]) == _decoded(grams.keys(cp, grams.text_mask(cp), (1, 2, 3)))


def test_key_lengths_and_abbreviations_do_not_collide() -> None:
    cp = grams.codepoints("社保卡")
    keys = grams.keys(cp, grams.text_mask(cp), (1, 2, 3))
    assert sorted(grams.length(int(k)) for k in keys) == [1, 1, 1, 2, 2, 3]
    initials = [grams.abbreviation(a) for a in ("sfz", "zfs", "sf", "sfza")]
    assert all(k < 0 for k in initials)
    assert len(set(initials)) == len(initials)
