"""What kinds of department handle what, in citizens' words (`data/departments.txt`), and unit-name stems.

A unit named "青禾县公安局" is recognised as a police department and inherits that section's words as weak
evidence, so routing works on day one, before any unit keywords are entered or any model is trained.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data"
# Administrative prefixes before the department proper: "青禾县" + "市场监管局". A level character that
# starts a department word ("市场", "市政", "乡村") is not a prefix.
_LEVEL = re.compile(
    r"^.{0,4}?(?:省|自治区|(?<!城)市(?!场|政|容|民)|自治州|县(?!域|级)|(?<!城)区(?!域|划)|旗|镇|(?<!城)乡(?!村|镇)|街道)"
)
_SUFFIX = re.compile(r"(?:委员会|办公室|中心|局|委|办|厅|所|站|大队|支队|队|院|处|科|会)$")


@dataclass(frozen=True, slots=True)
class DepartmentKind:
    """One kind of department: parts of names that identify it, and the words of its matters."""

    name_parts: tuple[str, ...]
    terms: tuple[str, ...]


def parse_departments(text: str) -> list[DepartmentKind]:
    """Sections of a departments.txt: "[name parts]" then space-separated words."""
    kinds: list[DepartmentKind] = []
    parts: list[str] = []
    terms: list[str] = []
    for raw in [*text.splitlines(), "[]"]:
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            if parts and terms:
                kinds.append(DepartmentKind(tuple(parts), tuple(dict.fromkeys(terms))))
            parts, terms = line[1:-1].split(), []
        elif line and not line.startswith("#"):
            terms.extend(line.split())
    return kinds


@cache
def default_departments() -> tuple[DepartmentKind, ...]:
    """The shipped department kinds."""
    return tuple(parse_departments((_DATA / "departments.txt").read_text(encoding="utf-8")))


def name_terms(name: str) -> list[str]:
    """The unit's name and its shorter forms: "青禾县公安局" → 青禾县公安局, 公安局, 公安."""
    forms = [name.strip()]
    core = name.strip()
    for _ in range(3):
        stripped = _LEVEL.sub("", core, count=1)
        if stripped == core or len(stripped) < 2:
            break
        core = stripped
    forms.append(core)
    stem = _SUFFIX.sub("", core)
    if len(stem) >= 2:
        forms.append(stem)
    return [f for f in dict.fromkeys(forms) if len(f) >= 2]


SETTING_FACTOR = 0.5


def department_terms(name: str, kinds: Sequence[DepartmentKind] | None = None) -> list[tuple[str, float]]:
    """(word, factor) of every department kind whose name parts occur in the unit's `name`.

    Factor 1 for a matter, `SETTING_FACTOR` for a setting word (written "~word" in the data file).
    """
    chosen = kinds if kinds is not None else default_departments()
    # "人民政府" is a government, not a civil-affairs bureau (民政).
    probe = name.replace("人民政府", "政府")
    words: dict[str, float] = {}
    for kind in chosen:
        if any(part in probe for part in kind.name_parts):
            for term in kind.terms:
                word, factor = (term[1:], SETTING_FACTOR) if term.startswith("~") else (term, 1.0)
                if word and factor > words.get(word, 0.0):
                    words[word] = factor
    return list(words.items())
