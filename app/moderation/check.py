"""One moderation verdict per message: abusive, sensitive, spam, personal data and the masked text."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.moderation.lexicon import Lexicon, LexiconHit, default_lexicon
from app.moderation.pii import PiiSpan, find_pii, mask

ABUSE = "abuse"
SENSITIVE = "sensitive"
SPAM = "spam"
# Solicitation phrases ("加微信", "私信我") are also what a citizen writes to be contacted: alone they are
# not spam; they are with a second one or with any advertising term.
_WEAK_SPAM_CATEGORY = "引流"


@dataclass(frozen=True, slots=True)
class ModerationResult:
    """What moderation found in one text; `masked_text` is the text with personal data masked."""

    abusive: bool
    sensitive: bool
    spam: bool
    pii: list[PiiSpan] = field(default_factory=list)
    masked_text: str = ""
    hits: list[LexiconHit] = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        """Names of the raised flags, for the message's `flags[]`: abusive, sensitive, spam, pii."""
        raised = [("abusive", self.abusive), ("sensitive", self.sensitive), ("spam", self.spam)]
        names = [name for name, on in raised if on]
        if self.pii:
            names.append("pii")
        return names


def _is_spam(hits: list[LexiconHit]) -> bool:
    spam = [hit for hit in hits if hit.kind == SPAM]
    strong = any(hit.category != _WEAK_SPAM_CATEGORY for hit in spam)
    return strong or len({hit.term for hit in spam}) >= 2


def check(text: str, *, lexicons: Lexicon | None = None, normalised: str | None = None) -> ModerationResult:
    """Moderate `text` with `lexicons` (default: the shipped ones).

    `normalised` is `kb.normalise.normalise(text)` when the caller already computed it.
    """
    lexicon = lexicons if lexicons is not None else default_lexicon()
    hits = lexicon.match(text, normalised=normalised)
    spans = find_pii(text)
    return ModerationResult(
        abusive=any(hit.kind == ABUSE for hit in hits),
        sensitive=any(hit.kind == SENSITIVE for hit in hits),
        spam=_is_spam(hits),
        pii=spans,
        masked_text=mask(text, spans) if spans else text,
        hits=hits,
    )
