"""Character n-grams as 64-bit integer keys, computed with numpy instead of string slicing.

A key packs up to three code points of 21 bits each, so unigrams, bigrams and trigrams never
collide (text never holds U+0000) and the same n-gram always gets the same key in any process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

_BITS = 21
_MASK = (1 << _BITS) - 1


def codepoints(text: str) -> np.ndarray:
    """Code points of `text` as int64."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def text_mask(cp: np.ndarray) -> np.ndarray:
    """Characters that count in character n-grams: digits, latin letters, CJK ideographs."""
    return ((cp >= 0x30) & (cp <= 0x39)) | ((cp >= 0x61) & (cp <= 0x7A)) | ((cp >= 0x3400) & (cp <= 0x9FFF))


def range_mask(lo: int, hi: int) -> Callable[[np.ndarray], np.ndarray]:
    """A mask function for code points in [lo, hi] (e.g. the pinyin syllable codes)."""

    def mask(cp: np.ndarray) -> np.ndarray:
        return (cp >= lo) & (cp <= hi)

    return mask


def keys(cp: np.ndarray, ok: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Keys of all n-grams (n in `sizes`) inside runs of characters where `ok` is true.

    A run shorter than every size still contributes its single characters, so that a lone
    character between two stop-words is not lost.
    """
    parts = []
    n = len(cp)
    if 1 in sizes:
        parts.append(cp[ok])
    elif n:
        left = np.concatenate([[False], ok[:-1]])
        right = np.concatenate([ok[1:], [False]])
        alone = ok & ~left & ~right
        parts.append(cp[alone])
    if 2 in sizes and n >= 2:
        both = ok[:-1] & ok[1:]
        parts.append(((cp[:-1] << _BITS) | cp[1:])[both])
    if 3 in sizes and n >= 3:
        all3 = ok[:-2] & ok[1:-1] & ok[2:]
        parts.append(((cp[:-2] << (2 * _BITS)) | (cp[1:-1] << _BITS) | cp[2:])[all3])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


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


def short(keys_: np.ndarray, max_len: int) -> np.ndarray:
    """The keys of n-grams with at most `max_len` characters."""
    return keys_[keys_ < (1 << (_BITS * max_len))]
