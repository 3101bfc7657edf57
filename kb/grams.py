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


def text_mask(cp: np.ndarray) -> np.ndarray:
    """Characters that count in character n-grams: digits, latin letters, CJK ideographs."""
    return ((cp >= 0x30) & (cp <= 0x39)) | ((cp >= 0x61) & (cp <= 0x7A)) | ((cp >= 0x3400) & (cp <= 0x9FFF))


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
    that a lone character between two stop-words is not lost.
    """
    key_parts = []
    start_parts = []
    n = len(cp)
    index = np.arange(n)
    if 1 in sizes:
        key_parts.append(cp[ok])
        start_parts.append(index[ok])
    elif n:
        alone = ok & ~np.concatenate([[False], ok[:-1]]) & ~np.concatenate([ok[1:], [False]])
        key_parts.append(cp[alone])
        start_parts.append(index[alone])
    if 2 in sizes and n >= 2:
        both = ok[:-1] & ok[1:]
        key_parts.append(((cp[:-1] << _BITS) | cp[1:])[both])
        start_parts.append(index[:-1][both])
    if 3 in sizes and n >= 3:
        all3 = ok[:-2] & ok[1:-1] & ok[2:]
        key_parts.append(((cp[:-2] << (2 * _BITS)) | (cp[1:-1] << _BITS) | cp[2:])[all3])
        start_parts.append(index[:-2][all3])
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


def distinct(keys_: np.ndarray) -> np.ndarray:
    """Sorted distinct keys (np.unique without its overhead, for the small arrays of a query)."""
    s = np.sort(keys_)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


def short(keys_: np.ndarray, max_len: int) -> np.ndarray:
    """The keys of n-grams with at most `max_len` characters."""
    return keys_[keys_ < (1 << (_BITS * max_len))]
