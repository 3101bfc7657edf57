"""Who sees personal data, and how it is masked for everyone else — the one place that decides.

The people who handle a message (operators, reviewers and leaders of its unit) see the citizen's name
and the replies as written; contact numbers, ID numbers, bank cards and e-mail addresses inside any text
are masked for everyone. Admins, supervisors and auditors oversee the work without needing the person:
for them names and ids are cut to a hint and every text (replies, reviews, audit before/after, notes) is
masked. `POST /messages/{id}/reveal` stays the one audited way to an original."""

from __future__ import annotations

from typing import Any

from app.auth import Principal
from app.identity import Role
from app.pii import find_pii, mask
from connectors.generic import ANONYMOUS

HANDLERS = frozenset({Role.operator, Role.reviewer, Role.leader})


def masked(text: str) -> str:
    """`text` with mobile numbers, ID numbers, bank cards and e-mail addresses masked."""
    spans = find_pii(text)
    return mask(text, spans) if spans else text


def handles_cases(principal: Principal | None) -> bool:
    """Whether the principal works on messages (and so may see the citizen's name)."""
    return principal is not None and principal.role in HANDLERS


def name_for(name: str, principal: Principal | None) -> str:
    """A citizen's display name: masked PII inside it for handlers, only its first character for others."""
    clean = masked(name)
    if handles_cases(principal) or not clean or clean == ANONYMOUS:
        return clean
    return clean[0] + "*" * min(len(clean) - 1, 3)


def id_for(value: str, principal: Principal | None) -> str:
    """A citizen's platform id (an openid, a phone-like id …): a short hint for those who do not handle."""
    if handles_cases(principal) or not value:
        return masked(value)
    return value[:2] + "***" + value[-2:] if len(value) > 6 else "***"


def text_for(text: str | None, principal: Principal | None) -> str | None:
    """A text written by staff (a reply, a review, a note): as written for handlers, masked for others."""
    if text is None or handles_cases(principal):
        return text
    return masked(text)


def deep_masked(value: Any) -> Any:
    """Every string inside a JSON-like value masked (for audit before/after)."""
    if isinstance(value, str):
        return masked(value)
    if isinstance(value, dict):
        return {k: deep_masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_masked(v) for v in value]
    return value
