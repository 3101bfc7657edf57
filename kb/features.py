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
CHAR_N = (2, 3)
ANSWER_N = (2,)
SYLLABLE_N = (2,)
ANSWER_PINYIN = False


@dataclass(frozen=True, slots=True)
class QuestionTerms:
    """Terms of one question wording (the standard question or an alternative)."""

    text: str
    words: tuple[str, ...]
    chars: tuple[str, ...]
    pinyin: tuple[str, ...]
    abbreviations: dict[str, str]


def syllable_bigrams(text: str) -> list[str]:
    """Syllable n-grams ("shen fen") of normalised `text`; a lone syllable stands for itself."""
    out: list[str] = []
    for run in pinyin.syllables(text):
        if len(run) < min(SYLLABLE_N):
            out.extend(run)
            continue
        for n in SYLLABLE_N:
            out.extend(" ".join(run[i : i + n]) for i in range(len(run) - n + 1))
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
        chars=tuple(segment.char_ngrams(text, CHAR_N)),
        pinyin=tuple(pinyin_terms),
        abbreviations=abbreviations,
    )


def answer_terms(text: str) -> list[str]:
    """Character bigrams of an answer: cheap to compute for long texts, and robust to segmentation."""
    out = segment.char_ngrams(text, ANSWER_N)
    if ANSWER_PINYIN:
        out += ["@" + s for s in syllable_bigrams(text)]
    return out


def query_terms(text: str) -> dict[int, list[str]]:
    """Terms of normalised query `text` per channel."""
    words = segment.search_terms(text)
    chars = segment.char_ngrams(text, CHAR_N)
    pinyin_terms = syllable_bigrams(text) + ["~" + a for a in pinyin.abbreviations(text)]
    return {
        WORD: words,
        CHAR: chars,
        PINYIN: pinyin_terms,
        ANSWER: answer_terms(text),
    }
