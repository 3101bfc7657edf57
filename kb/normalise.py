"""Text normalisation for citizen messages: one canonical form before any matching.

Traditional→Simplified, full-width→half-width, lower-case latin, and noise (URLs, @mentions,
#topic# markers, emoji, decorative symbols) removed; topic words are kept.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

import opencc

_URL_CHARS = r"[a-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_URL = re.compile(
    rf"(?:https?://|www\.){_URL_CHARS}+"
    # Bare links as pasted from short-video apps ("v.douyin.com/xyz"); never part of an e-mail.
    rf"|(?<![@a-z0-9._\-])[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:com|cn|net|org|gov|edu|info|cc|tv|me|io)"
    rf"(?:/{_URL_CHARS}*)?(?![a-z0-9])"
)
# A mention runs to the next space or punctuation; the "@" must not sit inside an e-mail address.
_MENTION = re.compile(r"(?<![a-z0-9._%+\-])@([^\s@#,.:;!?，。：；！？、()（）\[\]【】<>《》\"'“”‘’]+)")
# Weibo caps nicknames at 30 width units, a CJK character counting two: anything longer ran into
# the message itself, so only the "@" goes.
_MENTION_MAX_WIDTH = 30
_TOPIC = re.compile(r"#([^#\n]{1,40})#")
_SPACE = re.compile(r"\s+")


def _symbol_table() -> dict[int, str]:
    """Translation table turning emoji, pictographs, dingbats and other decorative symbols into spaces."""
    table: dict[int, str] = {}
    # Symbols outside these planes (e.g. Tangut, musical notation) do not occur in citizen posts.
    for cp in itertools.chain(range(0x80, 0x10000), range(0x1F000, 0x1FC00), range(0xE0000, 0xE0080)):
        cat = unicodedata.category(chr(cp))
        # So = other symbols (emoji, ★, ※, box drawing); Co/Cs = private use and stray surrogates;
        # variation selectors, zero-width joiners and tag characters glue emoji sequences.
        drop = (
            (cat in ("So", "Co", "Cs") and cp != 0xB0)  # keep the degree sign of "38℃"
            or 0x2190 <= cp <= 0x21FF  # arrows used as bullets
            or cp in (0x203B, 0x2022, 0x25CF)  # ※ • ●
            or 0xFE00 <= cp <= 0xFE0F
            or 0x200B <= cp <= 0x200F
            or cp in (0x2060, 0xFEFF, 0x20E3)
            or 0xE0000 <= cp <= 0xE007F
            or 0x1F3FB <= cp <= 0x1F3FF
        )
        if drop:
            table[cp] = " "
    return table


# One table lookup per character: a regular expression of ~400 ranges would try the ranges one after
# another for every character.
_SYMBOLS = _symbol_table()
# Full-width ASCII and the ideographic space, as NFKC maps them: Chinese punctuation (，？！) would
# otherwise send nearly every message down unicodedata's slow path.
_FULL_WIDTH = {**{cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}, 0x3000: " "}


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    # "t2s" only: the regional phrase tables (tw2sp) rewrite correct Simplified words (程序→进程).
    return opencc.OpenCC("t2s")


def _mention(match: re.Match[str]) -> str:
    name = match.group(1)
    width = sum(2 if ord(ch) > 0x7F else 1 for ch in name)
    return " " if width <= _MENTION_MAX_WIDTH else " " + name


def normalise(text: str) -> str:
    """Return the canonical Simplified, half-width, lower-case form of `text` without noise."""
    if len(text) > _CACHED_LENGTH:
        return _normalise(text)
    return _cached(text)


def _normalise(text: str) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text.translate(_FULL_WIDTH))
    text = _converter().convert(text).lower()
    # Each pattern needs its marker character: most messages skip most of the substitutions.
    if "." in text or "://" in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(_mention, text)
    if "#" in text:
        text = _TOPIC.sub(r" \1 ", text)
        text = text.replace("#", " ")
    return _SPACE.sub(" ", text.translate(_SYMBOLS)).strip()


# The pipeline's steps and the KB search each normalise the same message: the second time is free.
_CACHED_LENGTH = 2000
_cached = lru_cache(maxsize=1024)(_normalise)
