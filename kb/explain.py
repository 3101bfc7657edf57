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

    __slots__ = ("_query", "_typed", "_unwritten")

    def __init__(self, query: QueryTerms) -> None:
        self._query = query
        words = query.raw_words
        # Typed in pinyin (at least two syllables): shown as the characters it stands for.
        self._typed = {
            w: pinyin.encode(w) for w in filter(str.isascii, words) if len(pinyin.split_latin(w) or ()) >= 2
        }
        # Words that may match a wording without being written in it (→ their canonical form): only
        # words with synonyms or typed in pinyin, as every other term of a wording is part of its text.
        self._unwritten = {w: w for w in self._typed} | segment.synonymous(words)

    def _homophones(self, variant: QuestionTerms) -> list[str]:
        """Query character pairs that sound like, but are not written as, a pair of the wording.

        Only codes the wording shares with the query are looked for, each at its first place in the
        wording (kept per wording): a few finds per shown entry, no work on the whole query up front.
        """
        query = self._query.text
        codes = self._query.sounds
        text = variant.text
        places = _pair_places(text, variant.sounds)
        found: dict[str, tuple[int, int]] = {}  # query pair → (its first place, place in the wording)
        # A code pair is in the query's codes exactly when two adjacent characters have it: a
        # substring test per pair of the wording, cheaper than collecting the query's pairs.
        for code in filter(codes.__contains__, places):
            at = places[code]
            written = text[at : at + 2]
            place = codes.find(code)
            while place >= 0:
                pair = query[place : place + 2]
                if pair != written and pair not in found and _cjk(pair) and pair not in text:
                    found[pair] = (place, at)
                place = codes.find(code, place + 1)
        if not found:
            return []
        ordered = sorted(found.items(), key=lambda item: item[1][0])
        return [f"{pair}≈{text[at : at + 2]}" for pair, (_, at) in ordered]

    def _variant(self, variant: QuestionTerms) -> list[str]:
        text = variant.text
        words = self._query.raw_words
        other = self._other_matches(variant) if self._unwritten else None
        if other:
            matched = [other.get(w, w) for w in words if w in other or w in text]
        else:
            # Every matching word is written in the wording: a substring test each, all in C.
            matched = list(filter(text.__contains__, words))
        matched += self._homophones(variant)
        for abbr in self._query.abbreviations:
            if abbr in variant.abbreviations:
                matched.append(f"{abbr}={variant.abbreviations[abbr]}")
        # Single characters explain little; show them only when nothing longer matched.
        longer = [m for m in matched if len(m) > 1]
        return longer or matched

    def _other_matches(self, variant: QuestionTerms) -> dict[str, str]:
        """Query words the wording has only as a synonym or, typed in pinyin, in characters, each
        with the term that shows it."""
        text = variant.text
        found: dict[str, str] = {}
        codes: str | None = None
        for word, canonical in self._unwritten.items():
            if word in text:
                continue
            if canonical in variant.words:
                found[word] = word
            elif word in self._typed:
                if codes is None:
                    codes = pinyin.encode(text)
                code = self._typed[word]
                at = codes.find(code)
                if at >= 0:
                    same_length = len(codes) == len(text)
                    found[word] = f"{word}≈{text[at : at + len(code)]}" if same_length else word
        return found

    def evidence(self, variants: Sequence[QuestionTerms], answer: str) -> tuple[list[str], str]:
        """Matched terms (best wording first) and the field they came from, for one entry."""
        best: list[str] = []
        field = ""
        for i, variant in enumerate(variants):
            matched = self._variant(variant)
            if sum(map(len, matched)) > sum(map(len, best)):
                best, field = matched, ("question" if i == 0 else "alt")
        if not best:
            best = [w for w in filter(answer.__contains__, self._query.raw_words) if len(w) > 1]
            field = "answer" if best else ""
        return best[:_MAX_TERMS], field
