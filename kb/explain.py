"""Why an entry matched: shared words, homophones and pinyin shorthand, and the field they are in.

Fields are "question" (the standard wording), "alt" (an alternative wording) and "answer".
Homophones read "补半≈补办", pinyin "gongjijin≈公积金", initials "sfz=身份证". Explanations are
worked out only for the suggestions shown, so the query's share is prepared once and lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from kb import pinyin, segment
from kb.features import CJK_RUN as _CJK_RUN
from kb.features import QueryTerms, QuestionTerms

_MAX_TERMS = 8


@lru_cache(maxsize=16384)
def _pair_places(text: str, sounds: str) -> dict[str, int]:
    """First place in a wording of each code pair of two adjacent Chinese characters."""
    places: dict[str, int] = {}
    for run in _CJK_RUN.finditer(text):
        for at in range(run.start(), run.end() - 1):
            places.setdefault(sounds[at : at + 2], at)
    return places


def _cjk(pair: str) -> bool:
    return "\u3400" <= pair[0] <= "\u9fff" and "\u3400" <= pair[1] <= "\u9fff"


class Explainer:
    """Evidence of one query against the entries it is shown with."""

    def __init__(self, query: QueryTerms) -> None:
        self._query = query
        self._words = [(w, segment.canonical(w)) for w in query.raw_words]
        # Typed in pinyin (at least two syllables): shown as the characters it stands for.
        self._typed = {
            w: pinyin.encode(w)
            for w in query.raw_words
            if w.isascii() and len(pinyin.split_latin(w) or ()) >= 2
        }
        self._codes: str | None = None  # the query with its Chinese characters pinyin-encoded
        self._code_pairs: set[str] = set()  # its adjacent code pairs (Chinese or not)

    def _homophones(self, variant: QuestionTerms) -> list[str]:
        """Query character pairs that sound like, but are not written as, a pair of the wording.

        Only codes the wording shares with the query are looked for, each at its first place in the
        wording (kept per wording): a few finds per shown entry, no work on the whole query up front.
        """
        query = self._query.text
        if self._codes is None:
            self._codes = pinyin.encode_chinese(query)
            self._code_pairs = set(map(str.__add__, self._codes, self._codes[1:]))
        codes = self._codes
        text = variant.text
        places = _pair_places(text, variant.sounds)
        found: dict[str, tuple[int, int]] = {}  # query pair → (its first place, place in the wording)
        for code in self._code_pairs.intersection(places):
            at = places[code]
            written = text[at : at + 2]
            place = codes.find(code)
            while place >= 0:
                pair = query[place : place + 2]
                if pair != written and pair not in found and _cjk(pair) and pair not in text:
                    found[pair] = (place, at)
                place = codes.find(code, place + 1)
        ordered = sorted(found.items(), key=lambda item: item[1][0])
        return [f"{pair}≈{text[at : at + 2]}" for pair, (_, at) in ordered]

    def _variant(self, variant: QuestionTerms) -> list[str]:
        text = variant.text
        vwords = set(variant.words)
        if not self._typed:
            matched = [word for word, canonical in self._words if word in text or canonical in vwords]
        else:
            matched = []
            codes: str | None = None
            for word, canonical in self._words:
                if word in text or canonical in vwords:
                    matched.append(word)
                elif word in self._typed:
                    if codes is None:
                        codes = pinyin.encode(text)
                    code = self._typed[word]
                    at = codes.find(code)
                    if at >= 0:
                        same_length = len(codes) == len(text)
                        matched.append(f"{word}≈{text[at : at + len(code)]}" if same_length else word)
        matched += self._homophones(variant)
        for abbr in self._query.abbreviations:
            if abbr in variant.abbreviations:
                matched.append(f"{abbr}={variant.abbreviations[abbr]}")
        # Single characters explain little; show them only when nothing longer matched.
        longer = [m for m in matched if len(m) > 1]
        return longer or matched

    def evidence(self, variants: Sequence[QuestionTerms], answer: str) -> tuple[list[str], str]:
        """Matched terms (best wording first) and the field they came from, for one entry."""
        best: list[str] = []
        field = ""
        for i, variant in enumerate(variants):
            matched = self._variant(variant)
            if sum(map(len, matched)) > sum(map(len, best)):
                best, field = matched, ("question" if i == 0 else "alt")
        if not best:
            best = [w for w, _ in self._words if len(w) > 1 and w in answer]
            field = "answer" if best else ""
        return best[:_MAX_TERMS], field
