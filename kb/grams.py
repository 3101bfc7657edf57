"""Character n-grams as 64-bit integer keys, computed with numpy instead of string slicing.

A key packs up to three code points of 21 bits each, so unigrams, bigrams and trigrams never
collide (text never holds U+0000) and the same n-gram always gets the same key in any process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

BITS = 21
_BITS = BITS
_MASK = (1 << _BITS) - 1


def codepoints(text: str) -> np.ndarray:
    """Code points of `text` as int64."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def _text_table() -> np.ndarray:
    table = np.zeros(0x10000, dtype=bool)
    for lo, hi in ((0x30, 0x39), (0x61, 0x7A), (0x3400, 0x9FFF)):
        table[lo : hi + 1] = True
    return table


# Characters that count in character n-grams, as a lookup table over the BMP (2 numpy calls
# instead of 9 comparisons; a short query's keys are dominated by such per-call costs).
_TEXT = _text_table()


def text_mask(cp: np.ndarray) -> np.ndarray:
    """Characters that count in character n-grams: digits, latin letters, CJK ideographs."""
    return _TEXT[np.minimum(cp, 0xFFFF)]


def range_mask(lo: int, hi: int) -> Callable[[np.ndarray], np.ndarray]:
    """A mask function for code points in [lo, hi] (e.g. the pinyin syllable codes)."""

    def mask(cp: np.ndarray) -> np.ndarray:
        return (cp >= lo) & (cp <= hi)

    return mask


def keys(cp: np.ndarray, ok: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Keys of all n-grams (n in `sizes`) inside runs of characters where `ok` is true."""
    return keys_at(cp, ok, sizes)[0]


def keys_at(cp: np.ndarray, ok: np.ndarray, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Keys of all n-grams (n in `sizes`) inside runs where `ok` is true, and where each starts.

    Without 1 in `sizes`, a run of a single character still contributes that character, so
    that a lone character between two stop-words is not lost. Keys come by size, then position.
    """
    key_parts = []
    start_parts = []
    n = len(cp)
    if 1 in sizes:
        at = np.flatnonzero(ok)
        key_parts.append(cp[at])
        start_parts.append(at)
    elif n:
        alone = ok.copy()
        alone[1:] &= ~ok[:-1]
        alone[:-1] &= ~ok[1:]
        at = np.flatnonzero(alone)
        key_parts.append(cp[at])
        start_parts.append(at)
    if n >= 2 and (2 in sizes or 3 in sizes):
        both = ok[:-1] & ok[1:]
        if 2 in sizes:
            at = np.flatnonzero(both)
            key_parts.append((cp[at] << _BITS) | cp[at + 1])
            start_parts.append(at)
        if 3 in sizes and n >= 3:
            at = np.flatnonzero(both[:-1] & ok[2:])
            key_parts.append((cp[at] << (2 * _BITS)) | (cp[at + 1] << _BITS) | cp[at + 2])
            start_parts.append(at)
    if not key_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(key_parts), np.concatenate(start_parts)


def batch(
    texts: Sequence[str], mask: Callable[[np.ndarray], np.ndarray], sizes: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Keys of the n-grams of many texts in one pass, and the index of the text each came from.

    Texts are joined with a line break, which no mask accepts, so no n-gram spans two texts.
    """
    if not texts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cp = codepoints("\n".join(texts))
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    owner = np.repeat(np.arange(len(texts)), lengths)[: len(cp)]
    found, starts = keys_at(cp, mask(cp), sizes)
    return found, owner[starts]


def abbreviation(letters: str) -> int:
    """A negative key for pinyin initials ("sfz"), apart from every code point n-gram."""
    packed = 0
    for ch in letters[:12]:
        packed = packed * 27 + (ord(ch) - 96)
    return -1 - packed


def length(key: int) -> int:
    """How many characters a key packs."""
    return 1 if key <= _MASK else 2 if key <= (_MASK << _BITS | _MASK) else 3


def decode(key: int) -> str:
    """The text of a key (for debugging and explanations)."""
    chars = []
    while key:
        chars.append(chr(key & _MASK))
        key >>= _BITS
    return "".join(reversed(chars))
