"""How a message is shown: personal data masked for everyone; the original only through an audited reveal."""

from __future__ import annotations

from app.messages.models import Author, Message, MessagePublic, RoutingPublic
from app.moderation.pii import find_pii, mask


def masked(text: str) -> str:
    """`text` with mobile numbers, ID numbers, bank cards and e-mail addresses masked."""
    spans = find_pii(text)
    return mask(text, spans) if spans else text


def to_public(message: Message) -> MessagePublic:
    assert message.id is not None
    routing = None
    if message.routing:
        routing = RoutingPublic(
            unit_code=message.routing.get("unit_code"),
            confidence=float(message.routing.get("confidence", 0.0)),
            reason=str(message.routing.get("reason", "")),
            out_of_scope=bool(message.routing.get("out_of_scope", message.out_of_scope)),
            pointer=message.routing.get("pointer"),
        )
    return MessagePublic(
        id=message.id,
        account_id=message.account_id,
        platform=message.platform,
        external_id=message.external_id,
        kind=message.kind,
        author=Author(id=message.author_id, name=message.author_name),
        content=masked(message.content),
        received_at=message.received_at,
        status=message.status,
        close_reason=message.close_reason,
        closed_at=message.closed_at,
        unit_code=message.unit_code,
        routing=routing,
        out_of_scope=message.out_of_scope,
        transfer_count=message.transfer_count,
        due_at=message.due_at,
        provisional=message.provisional,
        sla_state=message.sla_state,
        escalation_level=message.escalation_level,
        first_replied_at=message.first_replied_at,
        platform_window_closes_at=message.platform_window_closes_at,
        flags=list(message.flags or []),
        suggestions=list(message.suggestions or []),
    )
