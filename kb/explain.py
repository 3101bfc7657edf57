"""Why an entry matched: the shared words, shared character spans or pinyin shorthand, and where.

Fields are "question" (the standard wording), "alt" (an alternative wording) and "answer".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb import pinyin, segment
from kb.features import QuestionTerms

_MAX_TERMS = 8
_RUN = re.compile(r"[0-9a-z\u3400-\u9fff]+")


def common_spans(query: str, target: str, *, min_len: int = 2) -> list[str]:
    """Maximal substrings of `query` (at least `min_len` characters) that also occur in `target`."""
    spans: list[str] = []
    for run in _RUN.findall(query):
        i = 0
        while i <= len(run) - min_len:
            j = i + min_len
            if run[i:j] not in target:
                i += 1
                continue
            while j < len(run) and run[i : j + 1] in target:
                j += 1
            spans.append(run[i:j])
            i = j
    stop = segment.stopwords()
    return [s for s in dict.fromkeys(spans) if s not in stop]


def _variant_evidence(norm: str, words: Sequence[str], variant: QuestionTerms) -> list[str]:
    vwords = set(variant.words)
    matched = [w for w in dict.fromkeys(words) if w in vwords]
    covered = "".join(matched)
    # Typos and unusual segmentation: character spans the word list missed.
    matched += [s for s in common_spans(norm, variant.text) if s not in covered]
    for abbr in pinyin.abbreviations(norm):
        if abbr in variant.abbreviations:
            matched.append(f"{abbr}={variant.abbreviations[abbr]}")
    return matched


def evidence(
    norm: str, words: Sequence[str], variants: Sequence[QuestionTerms], answer: str
) -> tuple[list[str], str]:
    """Matched terms and the field they came from, for a normalised query, its words and one entry."""
    best: list[str] = []
    field = ""
    for i, variant in enumerate(variants):
        matched = _variant_evidence(norm, words, variant)
        if sum(map(len, matched)) > sum(map(len, best)):
            best, field = matched, ("question" if i == 0 else "alt")
    if not best:
        best = common_spans(norm, answer)
        field = "answer" if best else ""
    return best[:_MAX_TERMS], field
