"""Terms of each matching channel (words, characters, pinyin, answer text) for entries and queries.

Input text is already normalised; the same functions serve both sides so that they always agree.
Characters and syllables come from the content text (stop-words cut out, synonyms canonical), so
filler such as "请问" or "怎么" never counts, while n-grams still span words jieba split wrongly.
Syllables are pinyin-encoded characters (see `kb.pinyin.encode`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kb import pinyin, segment

WORD = 0
CHAR = 1
PINYIN = 2
ANSWER = 3
CHANNELS = (WORD, CHAR, PINYIN, ANSWER)

# Unigrams make four-character queries and reworded questions meet; trigrams reward longer runs.
# Syllables only in pairs: a lone syllable is shared by dozens of unrelated characters.
CHAR_SIZES = (1, 2, 3)
SYLLABLE_SIZES = (2,)
ANSWER_SIZES = (1, 2)
# Initials terms carry a prefix that no encoded syllable or character can produce.
_ABBREVIATION = "~"
# Only words this long get an initials term: two letters (ba, sz, ...) collide with too many words.
_MIN_ABBREVIATION = 3


@dataclass(frozen=True, slots=True)
class QuestionTerms:
    """Terms of one question wording (the standard question or an alternative)."""

    text: str
    codes: str  # `text` pinyin-encoded, for explaining homophone matches
    words: tuple[str, ...]
    chars: tuple[str, ...]
    pinyin: tuple[str, ...]
    abbreviations: dict[str, str]


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """A normalised query: its content words, pinyin shorthand, and terms per channel."""

    text: str
    words: list[str]
    abbreviations: list[str]
    channels: list[list[str]]


def syllable_ngrams(text: str, sizes: tuple[int, ...] = SYLLABLE_SIZES) -> list[str]:
    """Encoded syllable n-grams of normalised `text`."""
    return segment.ngrams(pinyin.SYLLABLE_RUN.findall(pinyin.encode(text)), sizes)


def question_terms(text: str) -> QuestionTerms:
    """Terms of a question wording, as indexed."""
    raw_words, body = segment.content(text)
    abbreviations: dict[str, str] = {}
    for word in raw_words:
        if len(word) >= _MIN_ABBREVIATION:
            letters = pinyin.initials(word)
            if letters:
                abbreviations.setdefault(letters, word)
    return QuestionTerms(
        text=text,
        codes=pinyin.encode(text),
        words=tuple(segment.expand(raw_words)),
        chars=tuple(segment.char_ngrams(body, CHAR_SIZES)),
        pinyin=tuple(syllable_ngrams(body) + [_ABBREVIATION + a for a in abbreviations]),
        abbreviations=abbreviations,
    )


def answer_terms(text: str) -> list[str]:
    """Character uni/bigrams of an answer: no jieba, so long answers index fast.

    Typos are left to the question channels; syllables of answers added little and doubled the index.
    """
    return segment.char_ngrams(text, ANSWER_SIZES)


def query_terms(text: str) -> QueryTerms:
    """Terms of normalised query `text`, one list per channel."""
    raw_words, body = segment.content(text)
    chars = segment.char_ngrams(body, CHAR_SIZES)
    abbreviations = pinyin.abbreviations(body)
    channels = [
        segment.expand(raw_words),
        chars,
        syllable_ngrams(body) + [_ABBREVIATION + a for a in abbreviations],
        [c for c in chars if len(c) in ANSWER_SIZES],
    ]
    return QueryTerms(text, raw_words, abbreviations, channels)
