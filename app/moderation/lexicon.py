"""Moderation lexicons (abuse, sensitive, spam, …) matched with one Aho–Corasick automaton.

Text and terms go through the KB's `normalise`; the text is scanned twice, as is and with spaces and
masking symbols removed ("傻*逼", "s b"). Hits inside an `allow` phrase ("垃圾站") are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ahocorasick

from kb.normalise import normalise

ALLOW = "allow"
_DATA = Path(__file__).resolve().parent / "data"
# Characters people put inside a word to slip past filters; clause punctuation stays so that the end of
# one sentence and the start of the next never form a word.
_OBFUSCATION = re.compile(r"[\s*＊×·•.．_\-~^|/\\'\"`+=]+")
_ASCII_WORD = re.compile(r"[0-9a-z]+")


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One term of one lexicon; `category` groups terms inside a kind (e.g. 信访 within sensitive)."""

    kind: str
    term: str
    category: str = ""


@dataclass(frozen=True, slots=True)
class LexiconHit:
    """A lexicon term found in a text; `why` explains a hit that a rule (not the term alone) decided."""

    kind: str
    term: str
    category: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class LexiconSpan:
    """Where one entry matched in the normalised text (`end` exclusive)."""

    start: int
    end: int
    entry: LexiconEntry


def _compact(text: str) -> str:
    return _OBFUSCATION.sub("", text)


def _is_ascii_letter(ch: str) -> bool:
    return "a" <= ch <= "z"


class Lexicon:
    """A set of lexicon entries, compiled once, matched many times."""

    def __init__(self, entries: Iterable[LexiconEntry]) -> None:
        self.entries: tuple[LexiconEntry, ...] = tuple(entries)
        keyed: dict[str, list[LexiconEntry]] = {}
        for entry in self.entries:
            key = normalise(entry.term)
            if not key:
                continue
            # Terms that rely on the letter "x" or spaces ("傻x", "fuck you") also get their compact form.
            compact = _compact(key)
            # …unless compacting leaves a single character ("傻×" → "傻"), which would match everywhere.
            forms = {key, compact} if len(compact) > 1 else {key}
            for form in forms:
                if entry not in keyed.setdefault(form, []):
                    keyed[form].append(entry)
        self._automaton: ahocorasick.Automaton | None = None
        if keyed:
            automaton = ahocorasick.Automaton()
            for form, found in keyed.items():
                # An all-latin term ("sb", "tmd") only counts as a whole latin word, never inside "usb".
                latin = _ASCII_WORD.fullmatch(form) is not None
                automaton.add_word(form, (len(form), latin, tuple(found)))
            automaton.make_automaton()
            self._automaton = automaton

    @classmethod
    def from_terms(cls, terms: Mapping[str, Iterable[str]]) -> Lexicon:
        """Build from kind → terms (category = kind)."""
        return cls(LexiconEntry(kind, term, kind) for kind, words in terms.items() for term in words)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(entry.kind for entry in self.entries)

    def _scan(self, text: str) -> list[LexiconSpan]:
        assert self._automaton is not None
        found: list[tuple[int, int, tuple[LexiconEntry, ...]]] = []
        allowed: list[tuple[int, int]] = []
        for end, (length, latin, entries) in self._automaton.iter(text):
            start = end - length + 1
            if latin and (
                (start > 0 and _is_ascii_letter(text[start - 1]))
                or (end + 1 < len(text) and _is_ascii_letter(text[end + 1]))
            ):
                continue
            if any(e.kind == ALLOW for e in entries):
                allowed.append((start, end))
            found.append((start, end, entries))
        spans: list[LexiconSpan] = []
        for start, end, entries in found:
            for entry in entries:
                if entry.kind == ALLOW:
                    continue
                inside = any(a <= start and end <= b and (b - a) > (end - start) for a, b in allowed)
                if not inside:
                    spans.append(LexiconSpan(start, end + 1, entry))
        return spans

    def spans(self, normalised: str) -> list[LexiconSpan]:
        """Positioned hits in `normalised` (already `normalise`d; no compact second pass), for the rules
        that look at what stands next to a term."""
        if self._automaton is None or not normalised:
            return []
        return self._scan(normalised)

    def match(self, text: str, *, normalised: str | None = None) -> list[LexiconHit]:
        """Distinct hits of every kind in `text`, in order of first appearance.

        Pass `normalised` when the caller already has `normalise(text)`, to skip doing it again.
        """
        if self._automaton is None:
            return []
        plain = normalised if normalised is not None else normalise(text)
        if not plain:
            return []
        spans = self._scan(plain)
        compact = _compact(plain)
        if compact != plain:
            spans.extend(self._scan(compact))
        hits = (LexiconHit(s.entry.kind, s.entry.term, s.entry.category or s.entry.kind) for s in spans)
        return list(dict.fromkeys(hits))


def parse_terms(text: str, *, kind: str) -> list[LexiconEntry]:
    """Entries of a lexicon file: one term per line, "## name" starts a category, "#" comments."""
    entries: list[LexiconEntry] = []
    category = kind
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("##"):
            category = line.lstrip("#").strip() or kind
        elif line and not line.startswith("#"):
            entries.append(LexiconEntry(kind, line, category))
    return entries


def default_entries() -> list[LexiconEntry]:
    """The shipped lexicons: one file per kind in `app/moderation/data/` (abuse, harsh, target, sensitive,
    prohibited, rumour, spam, allow)."""
    entries: list[LexiconEntry] = []
    for path in sorted(_DATA.glob("*.txt")):
        entries.extend(parse_terms(path.read_text(encoding="utf-8"), kind=path.stem))
    return entries


@cache
def default_lexicon() -> Lexicon:
    """The shipped lexicons compiled once per process."""
    return Lexicon(default_entries())
