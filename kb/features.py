"""Terms of each matching channel (words, characters, pinyin, answer text) for entries and queries.

Input text is already normalised; the same functions serve both sides so that they always agree.
Characters and syllables come from the content text (stop-words cut out, synonyms canonical), so
filler such as "请问" or "怎么" never counts, while n-grams still span words jieba split wrongly.
Character and syllable n-grams are integer keys (`kb.grams`); syllables are pinyin-encoded
characters (`kb.pinyin.encode`), so homophones share keys. A query's n-gram keys of all three
channels are "tagged" with their channel so that one sorted vocabulary serves them all.
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
KEY_CHANNELS = (CHAR, PINYIN, ANSWER)

# Unigrams make four-character queries and reworded questions meet; trigrams reward longer runs.
CHAR_SIZES = (1, 2, 3)
# Syllables only in pairs: a lone syllable is shared by dozens of unrelated characters.
SYLLABLE_SIZES = (2,)
# Answers are long: unigrams and bigrams are enough there and keep the index small.
ANSWER_MAX = 2
# Answers: character uni/bigrams only, and no jieba, so long answers index fast. Typos are left to
# the question channels; syllables of answers added little and doubled the index.
ANSWER_SIZES = tuple(range(1, ANSWER_MAX + 1))
# Only words this long get an initials term: two letters (ba, sz, ...) collide with too many words.
_MIN_ABBREVIATION = 3
_SYLLABLE_MASK = grams.range_mask(pinyin.CODE_FIRST, pinyin.CODE_LAST)
CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# Every key lies strictly between -2**58 and 2**58 (`kb.grams`: code points of matchable text and
# syllable codes are below 2**16, initials pack fewer than 2**58 values), so adding channel * TAG
# keeps the channels apart and in channel order inside one int64 range.
TAG = 1 << 60
# Runs of characters that make n-grams (`kb.grams.text_mask`).
_RUN = re.compile(r"[0-9a-z\u3400-\u9fff]+")
_BITS = grams.BITS
_BITS2 = 2 * grams.BITS
_ANSWER_LIMIT = 1 << (grams.BITS * ANSWER_MAX)


@dataclass(frozen=True, slots=True)
class QuestionTerms:
    """Terms of one question wording (the standard question or an alternative)."""

    text: str
    body: str  # content text: the source of character n-grams ...
    body_codes: str  # ... and, pinyin-encoded, of syllable n-grams
    words: tuple[str, ...]
    abbreviations: dict[str, str]  # initials → the word they abbreviate
    initials: tuple[int, ...]  # keys of the initials terms


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """A normalised query: content words, pinyin shorthand, and its unique terms per channel.

    N-gram keys are plain Python ints, equal to the `kb.grams` keys the index was built with: a
    query's few hundred n-grams are cheaper to make and look up one by one than with numpy.
    """

    text: str
    raw_words: tuple[str, ...]  # unique content words as written, in order
    abbreviations: tuple[str, ...]
    word_terms: tuple[str, ...]  # unique canonical words and sub-words, in order
    chars: frozenset[int]
    syllables: frozenset[int]  # syllable pairs, lone syllables and initials
    answer: frozenset[int]  # the character n-grams short enough for the answer channel


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
    for run in CJK_RUN.findall(text):
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
        words=tuple(words),
        abbreviations=abbreviations,
        initials=tuple(grams.abbreviation(a) for a in abbreviations),
    )


def _char_grams(body: str) -> set[int]:
    """Keys of the character uni-, bi- and trigrams of content text (as `char_keys` with CHAR_SIZES)."""
    out: set[int] = set()
    for run in _RUN.findall(body):
        cps = list(map(ord, run))
        out.update(cps)
        out.update([(a << _BITS) | b for a, b in zip(cps, cps[1:])])
        out.update([(a << _BITS2) | (b << _BITS) | c for a, b, c in zip(cps, cps[1:], cps[2:])])
    return out


def _syllable_grams(body: str) -> set[int]:
    """Keys of the syllable pairs of content text, a lone syllable standing for itself (as `syllable_keys`)."""
    out: set[int] = set()
    for run in pinyin.SYLLABLE_RUN.findall(pinyin.encode(body)):
        if len(run) == 1:
            out.add(ord(run))
            continue
        cps = list(map(ord, run))
        out.update([(a << _BITS) | b for a, b in zip(cps, cps[1:])])
    return out


def query_terms(text: str) -> QueryTerms:
    """Terms of normalised query `text`."""
    raw_words, body = segment.content(text)
    abbreviations = tuple(pinyin.abbreviations(body))
    chars = _char_grams(body)
    syllables = _syllable_grams(body)
    syllables.update(grams.abbreviation(a) for a in abbreviations)
    return QueryTerms(
        text=text,
        raw_words=tuple(dict.fromkeys(raw_words)),
        abbreviations=abbreviations,
        word_terms=tuple(dict.fromkeys(segment.expand(raw_words))),
        chars=frozenset(chars),
        syllables=frozenset(syllables),
        answer=frozenset(k for k in chars if k < _ANSWER_LIMIT),
    )
