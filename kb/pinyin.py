"""Toneless pinyin of Chinese text, pinyin typed in latin letters, and initial-letter abbreviations.

Lets homophone typos (认正/认证) and pinyin shorthand (shebao, sfz) meet the characters they stand for.
"""

from __future__ import annotations

import re
import threading
from functools import cache

_TONES = str.maketrans(
    {
        **dict.fromkeys("āáǎà", "a"),
        **dict.fromkeys("ōóǒò", "o"),
        **dict.fromkeys("ēéěèê", "e"),
        **dict.fromkeys("īíǐì", "i"),
        **dict.fromkeys("ūúǔù", "u"),
        **dict.fromkeys("üǖǘǚǜ", "v"),
        **dict.fromkeys("ńňǹ", "n"),
        "ḿ": "m",
    }
)
_LATIN = re.compile(r"[a-z]+")
_lock = threading.Lock()
_table: dict[str, str] | None = None


def _syllable_table() -> dict[str, str]:
    """Character → most common toneless reading.

    The first reading ignores context (行 is always "xing"); both sides of a match go through the
    same table, so only homophone typos of polyphonic characters are missed.
    """
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                from pypinyin.pinyin_dict import pinyin_dict

                _table = {
                    chr(cp): readings.split(",", 1)[0].translate(_TONES) for cp, readings in pinyin_dict.items()
                }
    return _table


@cache
def _syllables() -> frozenset[str]:
    return frozenset(s for s in _syllable_table().values() if s.isascii() and s.isalpha())


def char_syllable(ch: str) -> str | None:
    """Toneless pinyin of one Chinese character, or None for anything else."""
    return _syllable_table().get(ch)


@cache
def split_latin(word: str) -> tuple[str, ...] | None:
    """Split a latin word typed as pinyin ("shebao") into syllables, or None if it is not pinyin.

    Fewest syllables wins, so "xian" stays one syllable rather than "xi an".
    """
    valid = _syllables()
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for end in range(1, n + 1):
        for start in range(max(0, end - 6), end):
            prev = best[start]
            piece = word[start:end]
            if prev is not None and piece in valid:
                cand = (*prev, piece)
                current = best[end]
                if current is None or len(cand) < len(current):
                    best[end] = cand
    return best[n]


def initials(word: str) -> str | None:
    """First letters of the syllables of a Chinese word (身份证 → sfz), or None if not all Chinese."""
    table = _syllable_table()
    letters = []
    for ch in word:
        syl = table.get(ch)
        if not syl:
            return None
        letters.append(syl[0])
    return "".join(letters)


def syllables(text: str) -> list[list[str]]:
    """Runs of syllables in normalised `text`: Chinese characters read, latin pinyin split.

    A run breaks at punctuation, spaces, digits and latin words that are not pinyin, so that
    syllable n-grams never join across them.
    """
    table = _syllable_table()
    runs: list[list[str]] = []
    run: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if "a" <= ch <= "z":
            m = _LATIN.match(text, i)
            assert m is not None
            parts = split_latin(m.group())
            if parts is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.extend(parts)
            i = m.end()
            continue
        syl = table.get(ch)
        if syl:
            run.append(syl)
        elif run:
            runs.append(run)
            run = []
        i += 1
    if run:
        runs.append(run)
    return runs


def abbreviations(text: str) -> list[str]:
    """Latin words in normalised `text` that look like pinyin initials (sfz, ywtb): 2-6 letters, not pinyin."""
    return [w for w in _LATIN.findall(text) if 2 <= len(w) <= 6 and split_latin(w) is None]
