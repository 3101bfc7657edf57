"""How a message is shown: personal data masked for everyone; the original only through an audited reveal."""

from __future__ import annotations

from app.auth import Principal
from app.messages.models import Author, Message, MessagePublic, RoutingPublic
from app.privacy import id_for, masked, name_for

__all__ = ["masked", "to_public"]


def to_public(message: Message, principal: Principal | None) -> MessagePublic:
    """The message as `principal` may see it (`app.privacy`): PII in every text masked, the author's
    name and id only as a hint for those who do not handle messages."""
    assert message.id is not None
    routing = None
    if message.routing:
        routing = RoutingPublic(
            unit_code=message.routing.get("unit_code"),
            confidence=float(message.routing.get("confidence", 0.0)),
            reason=masked(str(message.routing.get("reason", ""))),
            out_of_scope=bool(message.routing.get("out_of_scope", message.out_of_scope)),
            pointer=masked(str(pointer)) if (pointer := message.routing.get("pointer")) else None,
        )
    return MessagePublic(
        id=message.id,
        account_id=message.account_id,
        platform=message.platform,
        external_id=message.external_id,
        kind=message.kind,
        author=Author(id=id_for(message.author_id, principal), name=name_for(message.author_name, principal)),
        content=masked(message.content),
        received_at=message.received_at,
        status=message.status,
        close_reason=masked(message.close_reason) if message.close_reason else None,
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
