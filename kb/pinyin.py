"""Toneless pinyin of Chinese text, pinyin typed in latin letters, and initial-letter abbreviations.

Lets homophone typos (认正/认证) and pinyin shorthand (shebao, sfz) meet the characters they stand for.
Text is "encoded" by replacing every syllable with one private-use character, so that syllable
n-grams are plain character n-grams of the encoded string (fast, and one code path).
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, pairwise
from pathlib import Path

from kb.charmap import CharMap

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
_CODE_BASE = 0xE000
# Code points that stand for syllables (about 410 are used).
CODE_FIRST = _CODE_BASE
CODE_LAST = _CODE_BASE + 0x7FF
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Tables:
    reading: dict[str, str]  # character → toneless syllable
    code: dict[str, str]  # syllable → private-use character
    encode: CharMap  # Chinese character → code
    syllables: frozenset[str]


_tables: _Tables | None = None


def _character_readings() -> dict[int, str]:
    """pypinyin's per-character table, loaded alone: importing the package also loads its phrase
    dictionaries (load time and memory in docs/knowledge.md) that per-character readings do not need."""
    spec = importlib.util.find_spec("pypinyin")
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).with_name("pinyin_dict.py")
        module_spec = importlib.util.spec_from_file_location("_kb_pinyin_dict", path)
        if path.exists() and module_spec is not None and module_spec.loader is not None:
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return dict(module.pinyin_dict)
    from pypinyin.pinyin_dict import pinyin_dict

    return dict(pinyin_dict)


def _load() -> _Tables:
    """Build the tables once per process (at warm-up, not on a message).

    The first reading ignores context (行 is always "xing"); both sides of a match go through the
    same table, so only homophone typos of polyphonic characters are missed.
    """
    global _tables
    if _tables is None:
        with _lock:
            if _tables is None:
                pinyin_dict = _character_readings()
                reading = {
                    chr(cp): readings.split(",", 1)[0].translate(_TONES)
                    for cp, readings in pinyin_dict.items()
                }
                reading = {ch: s for ch, s in reading.items() if s.isascii() and s.isalpha()}
                inventory = sorted(set(reading.values()))
                code = {s: chr(_CODE_BASE + i) for i, s in enumerate(inventory)}
                encode = {ord(ch): code[s] for ch, s in reading.items()}
                _tables = _Tables(reading, code, CharMap(encode), frozenset(inventory))
    return _tables


# Bounded: the words come from citizens' messages.
@lru_cache(maxsize=4096)
def split_latin(word: str) -> tuple[str, ...] | None:
    """Split a latin word typed as pinyin ("shebao") into syllables, or None if it is not pinyin.

    Fewest syllables wins, so "xian" stays one syllable rather than "xi an".
    """
    valid = _load().syllables
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for end in range(1, n + 1):
        for start in range(max(0, end - 6), end):
            prev = best[start]
            if prev is not None and word[start:end] in valid:
                cand = (*prev, word[start:end])
                current = best[end]
                if current is None or len(cand) < len(current):
                    best[end] = cand
    return best[n]


# Bounded: the words come from entries and messages.
@lru_cache(maxsize=65536)
def initials(word: str) -> str | None:
    """First letters of the syllables of a Chinese word (身份证 → sfz), or None if not all Chinese."""
    reading = _load().reading
    letters = []
    for ch in word:
        syl = reading.get(ch)
        if not syl:
            return None
        letters.append(syl[0])
    return "".join(letters)


def _latin_code(match: re.Match[str]) -> str:
    parts = split_latin(match.group())
    if parts is None:
        # Same length, so positions in plain Chinese text still line up with the encoding.
        return " " * len(match.group())
    code = _load().code
    return "".join(code[p] for p in parts)


def encode(text: str) -> str:
    """`text` with every Chinese character, and every latin word typed as pinyin, replaced by one
    code character per syllable; other characters keep their place and break syllable runs."""
    tables = _load()
    if _LATIN.search(text):
        text = _LATIN.sub(_latin_code, text)
    return tables.encode(text)


def encode_many(texts: Sequence[str]) -> list[str]:
    """`encode` of each of `texts` (none holding a line break), in one pass over them all: the
    encoding's fixed costs are paid once per batch instead of once per text."""
    if not texts:
        return []
    return encode("\n".join(texts)).split("\n")


def encode_chinese(text: str) -> str:
    """`text` with every Chinese character replaced by its syllable's code, all else unchanged.

    One character for one character, so positions line up with `text`.
    """
    return _load().encode(text)


def encode_chinese_many(texts: Sequence[str]) -> list[str]:
    """`encode_chinese` of each of `texts`, in one pass over them all (positions line up, so the
    encoded whole is cut where the texts meet)."""
    encoded = encode_chinese("".join(texts))
    ends = list(accumulate(map(len, texts)))
    return [encoded[start:end] for start, end in pairwise([0, *ends])]


def syllables(text: str) -> list[list[str]]:
    """Runs of syllables in normalised `text` (Chinese read, latin pinyin split), split at anything else."""
    inverse = {v: k for k, v in _load().code.items()}
    return [[inverse[ch] for ch in run] for run in SYLLABLE_RUN.findall(encode(text))]


def abbreviations(text: str) -> list[str]:
    """Latin words in normalised `text` that look like pinyin initials (sfz, ywtb): 2-6 letters, not pinyin."""
    return [w for w in _LATIN.findall(text) if 2 <= len(w) <= 6 and split_latin(w) is None]


SYLLABLE_RUN = re.compile(f"[{chr(CODE_FIRST)}-{chr(CODE_LAST)}]+")
