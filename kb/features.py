"""Terms of each matching channel (words, characters, pinyin, answer text) for entries and queries.

Input text is already normalised; the same functions serve both sides so that they always agree.
Characters and syllables come from the content text (stop-words cut out, synonyms canonical), so
filler such as "请问" or "怎么" never counts, while n-grams still span words jieba split wrongly.
Character and syllable n-grams are integer keys (`kb.grams`); syllables are pinyin-encoded
characters (`kb.pinyin.encode`), so homophones share keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kb import grams, pinyin, segment

WORD = 0
CHAR = 1
PINYIN = 2
ANSWER = 3
CHANNELS = (WORD, CHAR, PINYIN, ANSWER)

# Unigrams make four-character queries and reworded questions meet; trigrams reward longer runs.
CHAR_SIZES = (1, 2, 3)
# Syllables only in pairs: a lone syllable is shared by dozens of unrelated characters.
SYLLABLE_SIZES = (2,)
# Answers are long: unigrams and bigrams are enough there and keep the index small.
ANSWER_MAX = 2
# Only words this long get an initials term: two letters (ba, sz, ...) collide with too many words.
_MIN_ABBREVIATION = 3
_SYLLABLE_MASK = grams.range_mask(pinyin.CODE_FIRST, pinyin.CODE_LAST)
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")


@dataclass(frozen=True, slots=True)
class QuestionTerms:
    """Terms of one question wording (the standard question or an alternative)."""

    text: str
    body: str  # content text: the source of character n-grams ...
    body_codes: str  # ... and, pinyin-encoded, of syllable n-grams
    codes: str  # `text` pinyin-encoded, for explaining homophone matches
    sounds: dict[str, str]  # pinyin-encoded character pair → the pair as written here
    words: tuple[str, ...]
    abbreviations: dict[str, str]  # initials → the word they abbreviate
    initials: tuple[int, ...]  # keys of the initials terms


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """A normalised query: content words, pinyin shorthand, and unique terms per channel."""

    text: str
    words: list[tuple[str, str]]  # unique content words, as written and canonical
    abbreviations: list[str]
    pairs: list[tuple[str, str]]  # Chinese character pairs and their pinyin encoding
    word_terms: list[str]
    chars: np.ndarray
    pinyin: np.ndarray
    answer: np.ndarray


def char_keys(text: str, sizes: tuple[int, ...]) -> np.ndarray:
    """Character n-gram keys of normalised `text`."""
    cp = grams.codepoints(text)
    return grams.keys(cp, grams.text_mask(cp), sizes)


def syllable_keys(text: str) -> np.ndarray:
    """Syllable n-gram keys of normalised `text`."""
    cp = grams.codepoints(pinyin.encode(text))
    return grams.keys(cp, _SYLLABLE_MASK(cp), SYLLABLE_SIZES)


def abbreviation_keys(letters: Iterable[str]) -> np.ndarray:
    """Keys of pinyin initials terms."""
    return np.array([grams.abbreviation(a) for a in letters], dtype=np.int64)


def batch_char_keys(texts: Sequence[str], sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """`char_keys` of many texts at once, with the index of the text of each key."""
    return grams.batch(texts, grams.text_mask, sizes)


def batch_syllable_keys(encoded: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """`syllable_keys` of many already pinyin-encoded texts at once, with the text of each key."""
    return grams.batch(encoded, _SYLLABLE_MASK, SYLLABLE_SIZES)


def sound_pairs(text: str) -> list[tuple[str, str]]:
    """Adjacent Chinese character pairs of `text` with their pinyin encoding, without repeats."""
    out: dict[str, str] = {}
    for run in _CJK_RUN.findall(text):
        codes = pinyin.encode(run)
        out.update(zip(map(str.__add__, run, run[1:]), map(str.__add__, codes, codes[1:]), strict=True))
    return list(out.items())


def question_terms(text: str) -> QuestionTerms:
    """Terms of a question wording, as indexed."""
    raw_words, body = segment.content(text)
    words = segment.expand(raw_words)
    abbreviations: dict[str, str] = {}
    # Canonical forms and sub-words too: "居民身份证" is also reachable as "sfz".
    for word in dict.fromkeys(raw_words + words):
        if len(word) >= _MIN_ABBREVIATION:
            letters = pinyin.initials(word)
            if letters:
                abbreviations.setdefault(letters, word)
    return QuestionTerms(
        text=text,
        body=body,
        body_codes=pinyin.encode(body),
        codes=pinyin.encode(text),
        sounds={code: pair for pair, code in reversed(sound_pairs(text))},
        words=tuple(words),
        abbreviations=abbreviations,
        initials=tuple(grams.abbreviation(a) for a in abbreviations),
    )


# Answers: character uni/bigrams only, and no jieba, so long answers index fast. Typos are left to
# the question channels; syllables of answers added little and doubled the index.
ANSWER_SIZES = tuple(range(1, ANSWER_MAX + 1))


def query_terms(text: str) -> QueryTerms:
    """Terms of normalised query `text`."""
    raw_words, body = segment.content(text)
    chars = grams.distinct(char_keys(body, CHAR_SIZES))
    abbreviations = pinyin.abbreviations(body)
    syllables = grams.distinct(np.concatenate([syllable_keys(body), abbreviation_keys(abbreviations)]))
    return QueryTerms(
        text=text,
        words=[(w, segment.canonical(w)) for w in dict.fromkeys(raw_words)],
        abbreviations=abbreviations,
        pairs=sound_pairs(text),
        word_terms=list(dict.fromkeys(segment.expand(raw_words))),
        chars=chars,
        pinyin=syllables,
        answer=grams.short(chars, ANSWER_MAX),
    )
