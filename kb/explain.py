"""Why an entry matched: shared words, homophones and pinyin shorthand, and the field they are in.

Fields are "question" (the standard wording), "alt" (an alternative wording) and "answer".
Homophones read "补半≈补办", pinyin "gongjijin≈公积金", initials "sfz=身份证".
"""

from __future__ import annotations

from collections.abc import Sequence

from kb import pinyin
from kb.features import QueryTerms, QuestionTerms

_MAX_TERMS = 8


def _homophones(query: QueryTerms, variant: QuestionTerms) -> list[str]:
    """Query character pairs that sound like, but are not written as, a pair of the wording."""
    sounds = variant.sounds
    return [
        f"{pair}≈{sounds[code]}" for pair, code in query.pairs if code in sounds and pair not in variant.text
    ]


def _variant_evidence(query: QueryTerms, variant: QuestionTerms) -> list[str]:
    vwords = set(variant.words)
    same_length = len(variant.codes) == len(variant.text)
    matched: list[str] = []
    for word, canonical in query.words:
        if word in variant.text or canonical in vwords:
            matched.append(word)
        elif word.isascii() and len(pinyin.split_latin(word) or ()) >= 2:
            # Typed in pinyin: show the characters it stands for.
            code = pinyin.encode(word)
            at = variant.codes.find(code)
            if at >= 0:
                matched.append(f"{word}≈{variant.text[at : at + len(code)]}" if same_length else word)
    matched += _homophones(query, variant)
    for abbr in query.abbreviations:
        if abbr in variant.abbreviations:
            matched.append(f"{abbr}={variant.abbreviations[abbr]}")
    # Single characters explain little; show them only when nothing longer matched.
    longer = [m for m in matched if len(m) > 1]
    return longer or matched


def evidence(query: QueryTerms, variants: Sequence[QuestionTerms], answer: str) -> tuple[list[str], str]:
    """Matched terms (best wording first) and the field they came from, for one entry."""
    best: list[str] = []
    field = ""
    for i, variant in enumerate(variants):
        matched = _variant_evidence(query, variant)
        if sum(map(len, matched)) > sum(map(len, best)):
            best, field = matched, ("question" if i == 0 else "alt")
    if not best:
        best = [w for w, _ in query.words if len(w) > 1 and w in answer]
        field = "answer" if best else ""
    return best[:_MAX_TERMS], field
