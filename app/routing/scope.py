"""Evidence that a message is none of this government's business: other places, national policy,
private disputes, celebrities, commercial quarrels. Weighted lexicon categories, each with a pointer text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ahocorasick

from kb.normalise import normalise

_DATA = Path(__file__).resolve().parent / "data"
# "北京路", "上海花园", "湖南村": streets and estates named after places are local addresses.
_ADDRESS_SUFFIXES = (
    "路",
    "街",
    "大道",
    "大街",
    "巷",
    "村",
    "社区",
    "小区",
    "花园",
    "公园",
    "广场",
    "大厦",
    "商城",
    "市场",
    "酒店",
    "饭店",
    "宾馆",
    "家园",
    "新城",
    "城",
    "苑",
    "湾",
    "府",
    "里",
)
# A second and third word of the same category add less than the first.
_REPEAT_FACTOR = 0.5
_REPEAT_CAP = 3
DEFAULT_POINTER = "您反映的事项不属于本级政府职责范围，建议向有管辖权的部门或单位反映。"


@dataclass(frozen=True, slots=True)
class ScopeCategory:
    """One kind of out-of-scope matter: its words, their weight and the pointer reply."""

    name: str
    weight: float
    pointer: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScopeAssessment:
    """How strongly a text looks out of scope, why, and what to tell the citizen."""

    score: float
    hits: tuple[tuple[str, str], ...]  # (category, term)
    category: str | None
    pointer: str | None


def parse_categories(text: str) -> list[ScopeCategory]:
    """Categories of an out_of_scope.txt: "## name weight | pointer" then space-separated words."""
    categories: list[ScopeCategory] = []
    name, weight, pointer = "", 1.0, DEFAULT_POINTER
    terms: list[str] = []
    for raw in [*text.splitlines(), "## "]:
        line = raw.strip()
        if line.startswith("##"):
            if name and terms:
                categories.append(ScopeCategory(name, weight, pointer, tuple(terms)))
            head, _, tail = line.lstrip("#").partition("|")
            parts = head.split()
            name = parts[0] if parts else ""
            weight = float(parts[1]) if len(parts) > 1 else 1.0
            pointer = tail.strip() or DEFAULT_POINTER
            terms = []
        elif line and not line.startswith("#"):
            terms.extend(line.split())
    return categories


@cache
def default_categories() -> tuple[ScopeCategory, ...]:
    """The shipped categories (`app/routing/data/out_of_scope.txt`)."""
    return tuple(parse_categories((_DATA / "out_of_scope.txt").read_text(encoding="utf-8")))


class OutOfScopeDetector:
    """Scores normalised text against out-of-scope categories, ignoring the government's own places."""

    def __init__(self, categories: Iterable[ScopeCategory], *, local_places: Sequence[str] = ()) -> None:
        self.categories = tuple(categories)
        local = [normalise(p) for p in local_places if p.strip()]
        self._automaton: ahocorasick.Automaton | None = None
        automaton = ahocorasick.Automaton()
        for position, category in enumerate(self.categories):
            for term in category.terms:
                key = normalise(term)
                if not key or any(key in place or place in key for place in local):
                    continue
                if key in automaton:
                    continue  # the first category that lists a word owns it
                automaton.add_word(key, (position, key))
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton

    def assess(self, normalised: str) -> ScopeAssessment:
        """Score of `normalised` text (already through `kb.normalise.normalise`) and its best pointer."""
        if self._automaton is None or not normalised:
            return ScopeAssessment(0.0, (), None, None)
        found: dict[int, list[str]] = {}
        for end, (position, term) in self._automaton.iter(normalised):
            if normalised.startswith(_ADDRESS_SUFFIXES, end + 1):
                continue
            terms = found.setdefault(position, [])
            if term not in terms:
                terms.append(term)
        if not found:
            return ScopeAssessment(0.0, (), None, None)
        best, best_score, score = -1, -1.0, 0.0
        for position, terms in found.items():
            weight = self.categories[position].weight
            part = weight * (1 + _REPEAT_FACTOR * (min(len(terms), _REPEAT_CAP) - 1))
            score += part
            if part > best_score:
                best, best_score = position, part
        hits = tuple((self.categories[p].name, t) for p, terms in found.items() for t in terms)
        category = self.categories[best]
        return ScopeAssessment(round(score, 4), hits, category.name, category.pointer)


def default_detector(local_places: Sequence[str] = ()) -> OutOfScopeDetector:
    """A detector over the shipped categories."""
    return OutOfScopeDetector(default_categories(), local_places=local_places)
