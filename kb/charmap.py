"""Character-for-character translation of text through a code point table, done with numpy.

`str.translate` with a dict looks every non-Latin character up one by one, a cost that grows with the
text; a numpy table lookup has a fixed cost per call and a far smaller one per character, so it wins on
long texts (answers, long messages). Short texts (below `_SHORT` characters, where the two costs cross:
figures in docs/scale.md) and texts with characters beyond the BMP use `str.translate`.
"""

from __future__ import annotations

import numpy as np

_BMP = 0x10000
# Below this length the fixed cost of the numpy calls is more than the dict lookups.
_SHORT = 80


class CharMap:
    """Maps code points to single characters; characters not in the mapping stay as they are."""

    def __init__(self, mapping: dict[int, str]) -> None:
        if any(len(ch) != 1 for ch in mapping.values()):
            raise ValueError("a CharMap maps each character to exactly one character")
        self._mapping = mapping
        table = np.arange(_BMP, dtype=np.uint32)
        bmp = [(cp, ord(ch)) for cp, ch in mapping.items() if cp < _BMP]
        if bmp:
            source, target = zip(*bmp, strict=True)
            table[list(source)] = target
        self._table = table

    def __call__(self, text: str) -> str:
        if len(text) < _SHORT:
            return text.translate(self._mapping)
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if cps.max() >= _BMP:
            return text.translate(self._mapping)
        return self._table[cps].tobytes().decode("utf-32-le", "surrogatepass")
