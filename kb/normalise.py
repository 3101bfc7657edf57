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


def _symbol_class() -> re.Pattern[str]:
    """Character class of emoji, pictographs, dingbats and other decorative symbols."""
    ranges: list[tuple[int, int]] = []
    # Symbols outside these planes (e.g. Tangut, musical notation) do not occur in citizen posts.
    for cp in itertools.chain(range(0x80, 0x10000), range(0x1F000, 0x1FC00), range(0xE0000, 0xE0080)):
        ch = chr(cp)
        cat = unicodedata.category(ch)
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
        if not drop:
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    parts = [re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges]
    return re.compile("[" + "".join(parts) + "]+")


_SYMBOLS = _symbol_class()


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
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = _converter().convert(text).lower()
    text = _URL.sub(" ", text)
    text = _MENTION.sub(_mention, text)
    text = _TOPIC.sub(r" \1 ", text)
    text = text.replace("#", " ")
    text = _SYMBOLS.sub(" ", text)
    return _SPACE.sub(" ", text).strip()
