"""Terms of each matching channel (words, characters, pinyin, answer text) for entries and queries.

Input text is already normalised; the same functions serve both sides so that they always agree.
Characters and syllables come from the content text (stop-words cut out, synonyms canonical), so
filler such as "请问" or "怎么" never counts, while n-grams still span words jieba split wrongly.
Character and syllable n-grams are integer keys (`kb.grams`); syllables are pinyin-encoded
characters (`kb.pinyin.encode`), so homophones share keys. Keys are made with numpy for many
texts at once: all entries at compile time, a batch of queries at search time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

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
# Answers: character uni/bigrams only, and no jieba, so long answers index fast. Typos are left to
# the question channels; syllables of answers added little and doubled the index.
ANSWER_SIZES = tuple(range(1, ANSWER_MAX + 1))
# Only words this long get an initials term: two letters (ba, sz, ...) collide with too many words.
_MIN_ABBREVIATION = 3
_SYLLABLE_MASK = grams.range_mask(pinyin.CODE_FIRST, pinyin.CODE_LAST)
CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# Channels are told apart in one sorted key space by adding channel * TAG: every key lies strictly
# between -2**58 and 2**58 (code points of matchable text and syllable codes are below 2**16, so
# trigram keys stay below 2**58; initials pack fewer than 2**58 values).
TAG = 1 << 60
_ANSWER_LIMIT = 1 << (grams.BITS * ANSWER_MAX)


@dataclass(frozen=True, slots=True)
class QuestionTerms:
    """Terms of one question wording (the standard question or an alternative)."""

    text: str
    body: str  # content text: the source of character n-grams ...
    body_codes: str  # ... and, pinyin-encoded, of syllable n-grams
    sounds: str  # `text` with its Chinese characters pinyin-encoded, for explaining homophones
    words: tuple[str, ...]
    abbreviations: dict[str, str]  # initials → the word they abbreviate
    initials: tuple[int, ...]  # keys of the initials terms


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """The word-level terms of a normalised query (its n-gram keys live in a `QueryBatch`)."""

    text: str
    sounds: str  # `text` with its Chinese characters pinyin-encoded, for explaining homophones
    raw_words: tuple[str, ...]  # unique content words as written, in order
    abbreviations: tuple[str, ...]  # latin words that look like pinyin initials
    word_terms: tuple[str, ...]  # unique canonical words and sub-words, in order


@dataclass(frozen=True, slots=True)
class QueryBatch:
    """Queries and their n-gram keys, made for all of them at once.

    `keys` are the tagged keys (channel * TAG + key) of the character, syllable and answer
    channels, `owner` the query of each; sorted by query, then key, without repeats.
    """

    queries: list[QueryTerms]
    keys: np.ndarray
    owner: np.ndarray


def batch_char_keys(texts: Sequence[str], sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Character n-gram keys of many normalised texts at once, with the index of the text of each key."""
    return grams.batch(texts, grams.text_mask, sizes)


def batch_syllable_keys(encoded: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Syllable n-gram keys of many pinyin-encoded texts at once (a lone syllable stands for itself),
    with the index of the text of each key."""
    return grams.batch(encoded, _SYLLABLE_MASK, SYLLABLE_SIZES)


def question_terms(text: str) -> QuestionTerms:
    """Terms of a question wording, as indexed."""
    raw_words, body = segment.content(text)
    words = segment.expand(raw_words)
    # The general words citizens use for the wording's specific ones (补办 for 换领): only entries
    # carry them, so a query's own words are never widened.
    words += segment.broader(words)
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
        sounds=pinyin.encode_chinese(text),
        words=tuple(words),
        abbreviations=abbreviations,
        initials=tuple(grams.abbreviation(a) for a in abbreviations),
    )


_LATIN = re.compile(r"[a-z]+")


def has_latin(text: str) -> bool:
    """Whether normalised `text` has a latin letter (most Chinese messages have none)."""
    return _LATIN.search(text) is not None


def spell_out(text: str, initials: dict[str, str]) -> str:
    """Normalised `text` with each latin word that is a pinyin abbreviation (`pinyin.abbreviations`)
    found in `initials` followed by the word it stands for, set apart by spaces."""

    def word(match: re.Match[str]) -> str:
        letters = match.group()
        found = initials.get(letters)
        if found is None or not 2 <= len(letters) <= 6 or pinyin.split_latin(letters) is not None:
            return letters
        return f" {letters} {found} "

    return _LATIN.sub(word, text).strip()


def query_terms(text: str) -> QueryTerms:
    """The word-level terms of normalised query `text` (all its explanations need)."""
    return _words(text, pinyin.encode_chinese(text))[0]


def _words(text: str, sounds: str) -> tuple[QueryTerms, str]:
    """The word-level terms of a query (`sounds`: its encoded Chinese) and its content text."""
    words, body = segment.content(text)
    # Expanding each word once gives the same terms in the same order: a repeat adds nothing new.
    raw_words = tuple(dict.fromkeys(words))
    terms = QueryTerms(
        text=text,
        sounds=sounds,
        raw_words=raw_words,
        abbreviations=tuple(pinyin.abbreviations(body)),
        word_terms=tuple(dict.fromkeys(segment.expand(raw_words))),
    )
    return terms, body


def query_batch(texts: Sequence[str]) -> QueryBatch:
    """Terms of normalised queries: words one by one, n-gram keys with numpy for all at once."""
    # The queries' encoded Chinese (for explaining homophones) in one pass for the whole batch.
    parts = list(map(_words, texts, pinyin.encode_chinese_many(texts)))
    queries = [q for q, _ in parts]
    bodies = [body for _, body in parts]
    chars, char_owner = batch_char_keys(bodies, CHAR_SIZES)
    syllables, syllable_owner = batch_syllable_keys(pinyin.encode_many(bodies))
    initials = [(grams.abbreviation(a), i) for i, q in enumerate(queries) for a in q.abbreviations]
    short = chars < _ANSWER_LIMIT
    keys = np.concatenate(
        [
            chars + CHAR * TAG,
            syllables + PINYIN * TAG,
            np.array([k for k, _ in initials], dtype=np.int64) + PINYIN * TAG,
            chars[short] + ANSWER * TAG,
        ]
    )
    owner = np.concatenate(
        [char_owner, syllable_owner, np.array([i for _, i in initials], dtype=np.int64), char_owner[short]]
    )
    # Group by query (a stable sort of a few presorted runs: a merge), sort each query's few hundred
    # keys in place, then drop repeats in one pass over the batch: cheaper than one two-key sort of
    # the whole batch, and than deduplicating query by query (a handful of numpy calls each).
    order = np.argsort(owner, kind="stable")
    keys, owner = keys[order], owner[order]
    for a, b in pairwise(np.searchsorted(owner, np.arange(len(texts) + 1)).tolist()):
        keys[a:b].sort()
    first = np.ones(len(keys), dtype=bool)
    first[1:] = (keys[1:] != keys[:-1]) | (owner[1:] != owner[:-1])
    return QueryBatch(queries, keys[first], owner[first])
