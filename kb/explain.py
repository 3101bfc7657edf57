"""Why an entry matched: shared words, homophones and pinyin shorthand, and the field they are in.

Fields are "question" (the standard wording), "alt" (an alternative wording) and "answer".
Homophones read "认正≈认证", shorthand "sfz=身份证".
"""

from __future__ import annotations

from collections.abc import Sequence

from kb import pinyin, segment
from kb.features import QueryTerms, QuestionTerms

_MAX_TERMS = 8


def _variant_evidence(query: QueryTerms, variant: QuestionTerms) -> list[str]:
    vwords = set(variant.words)
    same_length = len(variant.codes) == len(variant.text)
    matched: list[str] = []
    for word in dict.fromkeys(query.words):
        if word in variant.text or segment.canonical(word) in vwords:
            matched.append(word)
            continue
        code = pinyin.encode(word)
        # Two syllables at least: a single shared syllable is too common to explain anything.
        at = variant.codes.find(code) if len(code) >= 2 and len(code) == len(word) else -1
        if at >= 0:
            matched.append(f"{word}≈{variant.text[at : at + len(code)]}" if same_length else word)
    for abbr in query.abbreviations:
        if abbr in variant.abbreviations:
            matched.append(f"{abbr}={variant.abbreviations[abbr]}")
    return matched


def evidence(query: QueryTerms, variants: Sequence[QuestionTerms], answer: str) -> tuple[list[str], str]:
    """Matched terms (best wording first) and the field they came from, for one entry."""
    best: list[str] = []
    field = ""
    for i, variant in enumerate(variants):
        matched = _variant_evidence(query, variant)
        if sum(map(len, matched)) > sum(map(len, best)):
            best, field = matched, ("question" if i == 0 else "alt")
    if not best:
        best = [w for w in dict.fromkeys(query.words) if w in answer]
        field = "answer" if best else ""
    return best[:_MAX_TERMS], field
