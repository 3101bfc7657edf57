"""Terms of each matching channel (words, characters, pinyin, answer text) for entries and queries.

Input text is already normalised; the same functions serve both sides so that they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb import pinyin, segment

WORD = 0
CHAR = 1
PINYIN = 2
ANSWER = 3
CHANNELS = (WORD, CHAR, PINYIN, ANSWER)
# Only words this long get an initials term: two letters (ba, sz, ...) collide with too many words.
_MIN_ABBREVIATION = 3


@dataclass(frozen=True, slots=True)
class QuestionTerms:
    """Terms of one question wording (the standard question or an alternative)."""

    text: str
    words: tuple[str, ...]
    chars: tuple[str, ...]
    pinyin: tuple[str, ...]
    abbreviations: dict[str, str]


def syllable_bigrams(text: str) -> list[str]:
    """Adjacent syllable pairs ("shen fen") of normalised `text`; a lone syllable stands for itself."""
    out: list[str] = []
    for run in pinyin.syllables(text):
        if len(run) == 1:
            out.append(run[0])
        else:
            out.extend(f"{a} {b}" for a, b in zip(run, run[1:], strict=False))
    return out


def question_terms(text: str) -> QuestionTerms:
    """Terms of a question wording, as indexed."""
    words = segment.search_terms(text)
    abbreviations: dict[str, str] = {}
    for word in segment.tokens(text):
        if len(word) >= _MIN_ABBREVIATION:
            letters = pinyin.initials(word)
            if letters:
                abbreviations.setdefault(letters, word)
    pinyin_terms = syllable_bigrams(text) + ["~" + a for a in abbreviations]
    return QuestionTerms(
        text=text,
        words=tuple(words),
        chars=tuple(segment.char_ngrams(text)),
        pinyin=tuple(pinyin_terms),
        abbreviations=abbreviations,
    )


def answer_terms(text: str) -> list[str]:
    """Character bigrams of an answer: cheap to compute for long texts, and robust to segmentation."""
    return segment.char_ngrams(text, (2,))


def query_terms(text: str) -> dict[int, list[str]]:
    """Terms of normalised query `text` per channel."""
    words = segment.search_terms(text)
    chars = segment.char_ngrams(text)
    pinyin_terms = syllable_bigrams(text) + ["~" + a for a in pinyin.abbreviations(text)]
    return {
        WORD: words,
        CHAR: chars,
        PINYIN: pinyin_terms,
        ANSWER: segment.char_ngrams(text, (2,)),
    }
