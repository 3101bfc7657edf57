"""Why an entry matched: shared words, homophones and pinyin shorthand, and the field they are in.

Fields are "question" (the standard wording), "alt" (an alternative wording) and "answer".
Homophones read "补半≈补办", pinyin "gongjijin≈公积金", initials "sfz=身份证". Explanations are
worked out only for the suggestions shown, so the query's share is prepared once and lazily.
"""

from __future__ import annotations

from collections.abc import Sequence

from kb import pinyin, segment
from kb.features import CJK_RUN as _CJK_RUN
from kb.features import QueryTerms, QuestionTerms

_MAX_TERMS = 8


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
        self._sounds: dict[str, dict[str, int]] | None = None

    def _query_sounds(self) -> dict[str, dict[str, int]]:
        """Pinyin code → the query's pairs of adjacent Chinese characters with it, and their first place."""
        if self._sounds is None:
            query = self._query.text
            codes = pinyin.encode_chinese(query)
            sounds: dict[str, dict[str, int]] = {}
            for run in _CJK_RUN.finditer(query):
                for at in range(run.start(), run.end() - 1):
                    sounds.setdefault(codes[at : at + 2], {}).setdefault(query[at : at + 2], at)
            self._sounds = sounds
        return self._sounds

    def _homophones(self, variant: QuestionTerms) -> list[str]:
        """Query character pairs that sound like, but are not written as, a pair of the wording.

        Only codes the wording shares with the query are looked at, each at its first place.
        """
        sounds = self._query_sounds()
        text = variant.text
        codes = list(map(str.__add__, variant.sounds, variant.sounds[1:]))
        shared = sounds.keys() & set(codes)
        found: list[tuple[int, str, int]] = []  # (first place in the query, its pair, place in the wording)
        for run in _CJK_RUN.finditer(text):
            if not shared:
                break
            for at in range(run.start(), run.end() - 1):
                code = codes[at]
                if code in shared:
                    shared.discard(code)
                    written = text[at : at + 2]
                    found += [
                        (place, pair, at)
                        for pair, place in sounds[code].items()
                        if pair != written and pair not in text
                    ]
        found.sort()
        return [f"{pair}≈{text[at : at + 2]}" for _, pair, at in found]

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
