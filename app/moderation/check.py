"""One moderation verdict per message: abusive, sensitive, spam, illegal content, rumours, personal data
and the masked text.

Abuse reads its target: lexicon `abuse` terms are insults on their own; a 贬称 word of `harsh` ("垃圾",
"废物") is abuse only when it is said of a person — a `target` word followed by nothing but copulas and
quantifiers ("小编是垃圾", "你们就是一群废物"), or right before one ("垃圾领导"). Otherwise strong words are
criticism and only tag the message `intense` (情绪激烈)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.moderation.lexicon import Lexicon, LexiconHit, LexiconSpan, default_lexicon
from app.pii import PiiSpan, find_pii, mask
from kb.normalise import normalise

ABUSE = "abuse"
SENSITIVE = "sensitive"
SPAM = "spam"
HARSH = "harsh"
TARGET = "target"
PROHIBITED = "prohibited"
RUMOUR = "rumour"
# Solicitation phrases ("加微信", "私信我") are also what a citizen writes to be contacted: alone they are
# not spam; they are with a second one or with any advertising term.
_WEAK_SPAM_CATEGORY = "引流"
# Harsh words that insult a person when said of one.
INSULT_CATEGORY = "贬称"
# "举报", "请查处": a citizen reporting illegal content, not publishing it.
REPORT_CATEGORY = "举报"
# "听说", "网传": a cue that something is hearsay; alone it asserts nothing alarming.
_RUMOUR_CUE_CATEGORY = "传言"
TARGETED_CATEGORY = "指向人"
_SENTENCE_END = frozenset("。!?！？;；\n")
# What may stand between a person and the insult said of them: copulas, adverbs, quantifiers.
_LINK = re.compile(
    r"(?:们|都|就|也|真|还|纯|全|简直|根本|就是|都是|全是|真是|真的是|是|个|一个|一群|一帮|一伙|一堆|这些|这帮|这群|那帮|那群|些|帮|群)*"
)


@dataclass(frozen=True, slots=True)
class ModerationResult:
    """What moderation found in one text; `masked_text` is the text with personal data masked."""

    abusive: bool
    sensitive: bool
    spam: bool
    pii: list[PiiSpan] = field(default_factory=list)
    masked_text: str = ""
    hits: list[LexiconHit] = field(default_factory=list)
    intense: bool = False
    prohibited: bool = False
    rumour_check: bool = False

    @property
    def flags(self) -> list[str]:
        """Names of the raised flags, for the message's `flags[]`: abusive, sensitive, spam, intense,
        prohibited, rumour_check, pii."""
        raised = [
            ("abusive", self.abusive),
            ("sensitive", self.sensitive),
            ("spam", self.spam),
            ("intense", self.intense),
            ("prohibited", self.prohibited),
            ("rumour_check", self.rumour_check),
        ]
        names = [name for name, on in raised if on]
        if self.pii:
            names.append("pii")
        return names


def _is_spam(hits: list[LexiconHit]) -> bool:
    spam = [hit for hit in hits if hit.kind == SPAM]
    strong = any(hit.category != _WEAK_SPAM_CATEGORY for hit in spam)
    return strong or len({hit.term for hit in spam}) >= 2


def _is_prohibited(hits: list[LexiconHit]) -> bool:
    """Illegal and harmful content, unless the message reports it ("有人在发法轮功传单，请处理")."""
    found = [hit for hit in hits if hit.kind == PROHIBITED]
    reported = any(hit.category == REPORT_CATEGORY for hit in found)
    return not reported and any(hit.category != REPORT_CATEGORY for hit in found)


def _is_rumour(hits: list[LexiconHit], plain: str, lexicon: Lexicon) -> bool:
    """An alarming assertion, or hearsay ("听说", "网传") about a sensitive matter (爆炸, 死了人 …) in the
    same sentence."""
    rumour = [hit for hit in hits if hit.kind == RUMOUR]
    if any(hit.category != _RUMOUR_CUE_CATEGORY for hit in rumour):
        return True
    if not rumour or not any(hit.kind == SENSITIVE for hit in hits):
        return False
    sentence = [0] * (len(plain) + 1)
    for i, ch in enumerate(plain):
        sentence[i + 1] = sentence[i] + (ch in _SENTENCE_END)
    cues: set[int] = set()
    matters: set[int] = set()
    for span in lexicon.spans(plain):
        if span.entry.kind == RUMOUR and span.entry.category == _RUMOUR_CUE_CATEGORY:
            cues.add(sentence[span.start])
        elif span.entry.kind == SENSITIVE:
            matters.add(sentence[span.start])
    return bool(cues & matters)


def _aimed_at_people(plain: str, spans: list[LexiconSpan]) -> list[LexiconHit]:
    """Abuse hits for 贬称 words said of a person, each with the reason."""
    targets = [s for s in spans if s.entry.kind == TARGET]
    found: list[LexiconHit] = []
    for insult in spans:
        if insult.entry.kind != HARSH or insult.entry.category != INSULT_CATEGORY:
            continue
        for target in sorted(targets, key=lambda t: t.start - t.end):
            if target.end <= insult.start:
                between = plain[target.end : insult.start]
                aimed = _LINK.fullmatch(between) is not None
            else:
                aimed = target.start == insult.end
            if aimed:
                why = f"「{insult.entry.term}」指向「{target.entry.term}」"
                found.append(LexiconHit(ABUSE, insult.entry.term, TARGETED_CATEGORY, why))
                break
    return found


def check(text: str, *, lexicons: Lexicon | None = None, normalised: str | None = None) -> ModerationResult:
    """Moderate `text` with `lexicons` (default: the shipped ones).

    `normalised` is `kb.normalise.normalise(text)` when the caller already computed it.
    """
    lexicon = lexicons if lexicons is not None else default_lexicon()
    plain = normalised if normalised is not None else normalise(text)
    found = lexicon.match(text, normalised=plain)
    hits = [hit for hit in found if hit.kind != TARGET]
    if any(hit.category == INSULT_CATEGORY for hit in hits):
        hits.extend(_aimed_at_people(plain, lexicon.spans(plain)))
    spans = find_pii(text)
    abusive = any(hit.kind == ABUSE for hit in hits)
    return ModerationResult(
        abusive=abusive,
        sensitive=any(hit.kind == SENSITIVE for hit in hits),
        spam=_is_spam(hits),
        pii=spans,
        masked_text=mask(text, spans) if spans else text,
        hits=hits,
        intense=not abusive and any(hit.kind == HARSH for hit in hits),
        prohibited=_is_prohibited(hits),
        rumour_check=_is_rumour(hits, plain, lexicon),
    )
