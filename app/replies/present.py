"""Reading replies: the API shape of a reply, "my queue", replies needing a person, and the message
with everything about it in one call."""

from __future__ import annotations

from sqlalchemy import String, and_, cast, or_
from sqlmodel import Session, col, select

from app import privacy
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth import Principal
from app.errors import BadRequest
from app.messages import service as messages
from app.messages.models import QUEUE_STATUSES, Message, MessageStatus, in_queue
from app.messages.present import to_public as message_public
from app.replies.models import (
    CheckPublic,
    DeadlinePublic,
    MessageFull,
    QueueItem,
    Reply,
    ReplyPublic,
    ReplyReview,
    ReplySummary,
    ReviewPublic,
)
from app.replies.service import review_levels, reviews_of
from app.replies.workflow import LABELS, ReplyState

HISTORY_LIMIT = 500
# Kept as evidence but out of the reply queue unless asked for (moderation's flags).
HIDDEN_FLAGS = ("abusive", "spam")


def reply_public(
    reply: Reply, *, reviews: list[ReplyReview], message: Message, principal: Principal | None
) -> ReplyPublic:
    """The reply as `principal` may see it: texts masked for those who do not handle messages."""
    assert reply.id is not None
    return ReplyPublic(
        id=reply.id,
        message_id=reply.message_id,
        kind=reply.kind,
        text=privacy.text_for(reply.text, principal) or "",
        kb_entry_id=reply.kb_entry_id,
        kb_entry_version=reply.kb_entry_version,
        author_id=reply.author_id,
        author_name=reply.author_name,
        state=reply.state,
        state_label=LABELS[ReplyState(reply.state)],
        review_levels=review_levels(message, reply),
        rejection_reason=privacy.text_for(reply.rejection_reason, principal),
        warnings=list(reply.warnings or []),
        checks=[CheckPublic.model_validate(c) for c in reply.checks or []],
        reviews=[
            ReviewPublic.model_validate(
                r,
                from_attributes=True,
                update={
                    "text": privacy.text_for(r.text, principal),
                    "reason": privacy.text_for(r.reason, principal),
                },
            )
            for r in reviews
        ],
        approved_by_name=reply.approved_by_name,
        approved_at=reply.approved_at,
        idempotency_key=reply.idempotency_key,
        attempts=reply.attempts,
        next_attempt_at=reply.next_attempt_at if reply.state == ReplyState.approved else None,
        platform_reply_id=reply.platform_reply_id,
        error_code=reply.error_code,
        last_error=reply.last_error,
        alternative=reply.alternative,
        delivery=reply.delivery,
        delivery_note=privacy.text_for(reply.delivery_note, principal),
        published_at=reply.published_at,
        created_at=reply.created_at,
        updated_at=reply.updated_at,
    )


def one(*, session: Session, reply: Reply, message: Message, principal: Principal) -> ReplyPublic:
    assert reply.id is not None
    reviews = reviews_of(session=session, reply_ids=[reply.id])[reply.id]
    return reply_public(reply, reviews=reviews, message=message, principal=principal)


def replies_of(*, session: Session, message: Message, principal: Principal) -> list[ReplyPublic]:
    """Every reply to the message, oldest first."""
    rows = list(session.exec(select(Reply).where(Reply.message_id == message.id).order_by(col(Reply.id))))
    reviews = reviews_of(session=session, reply_ids=[r.id for r in rows if r.id is not None])
    return [reply_public(r, reviews=reviews[r.id or 0], message=message, principal=principal) for r in rows]


# --- my queue ------------------------------------------------------------------------------------------


def queue(
    *,
    session: Session,
    principal: Principal,
    status: MessageStatus | None = None,
    include_flagged: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[QueueItem], str | None]:
    """The open messages of the principal's units, most urgent first (no deadline last), with the
    reply each one currently has; returns (items, next cursor or None). Messages flagged abusive or
    spam are left out unless `include_flagged`."""
    if status is not None and status not in QUEUE_STATUSES:
        raise BadRequest("status 只能是 open、drafting、in_review、approved、publishing")
    # The literal condition lets the open-message partial indexes serve every queue page.
    query = select(Message).where(in_queue())
    if status is not None:
        query = query.where(Message.status == status.value)
    if principal.units is not None:
        query = query.where(col(Message.unit_code).in_(principal.units))
    if not include_flagged:
        # flags is a JSON list of names; its text form holds each as "name" on SQLite and PostgreSQL.
        for flag in HIDDEN_FLAGS:
            query = query.where(~cast(col(Message.flags), String).like(f'%"{flag}"%'))
    page, next_cursor = messages.due_at_page(session=session, query=query, cursor=cursor, limit=limit)
    latest = _latest_replies(session, [m.id for m in page if m.id is not None])
    items = []
    for message in page:
        reply = latest.get(message.id or 0)
        summary = None
        if reply is not None and reply.id is not None:
            summary = ReplySummary(
                id=reply.id,
                state=reply.state,
                state_label=LABELS[ReplyState(reply.state)],
                last_error=reply.last_error,
                alternative=reply.alternative,
            )
        items.append(QueueItem(**message_public(message, principal).model_dump(), reply=summary))
    return items, next_cursor


def _latest_replies(session: Session, message_ids: list[int]) -> dict[int, Reply]:
    if not message_ids:
        return {}
    latest: dict[int, Reply] = {}
    for reply in session.exec(
        select(Reply).where(col(Reply.message_id).in_(message_ids)).order_by(col(Reply.id))
    ):
        latest[reply.message_id] = reply
    return latest


# --- replies needing attention ---------------------------------------------------------------------------


def list_replies(
    *,
    session: Session,
    principal: Principal,
    state: ReplyState | None = None,
    message_id: int | None = None,
    limit: int = 50,
    cursor: int | None = None,
) -> tuple[list[ReplyPublic], int | None]:
    """Replies the principal may see, newest first; e.g. `state=held` or `undeliverable` for the ones a
    person must settle. The cursor is the last id seen."""
    query = select(Reply, Message).join(Message, col(Message.id) == col(Reply.message_id))
    if principal.units is not None:
        query = query.where(col(Message.unit_code).in_(principal.units))
    if state is not None:
        query = query.where(Reply.state == state.value)
    if message_id is not None:
        query = query.where(Reply.message_id == message_id)
    if cursor is not None:
        query = query.where(col(Reply.id) < cursor)
    rows = list(session.exec(query.order_by(col(Reply.id).desc()).limit(limit + 1)))
    page = rows[:limit]
    reviews = reviews_of(session=session, reply_ids=[r.id for r, _ in page if r.id is not None])
    items = [reply_public(r, reviews=reviews[r.id or 0], message=m, principal=principal) for r, m in page]
    return items, (page[-1][0].id if len(rows) > limit else None)


# --- the message in one call -----------------------------------------------------------------------------


def full(*, session: Session, principal: Principal, message_id: int) -> MessageFull:
    """The message with its routing reason, suggestions, deadline, replies (with reviews) and history."""
    message = messages.get(session=session, message_id=message_id, principal=principal)
    public = message_public(message, principal)
    replies = replies_of(session=session, message=message, principal=principal)
    reply_ids = [str(r.id) for r in replies]
    conditions = [
        and_(col(AuditEvent.entity_type) == "message", col(AuditEvent.entity_id) == str(message_id))
    ]
    if reply_ids:
        conditions.append(
            and_(col(AuditEvent.entity_type) == "reply", col(AuditEvent.entity_id).in_(reply_ids))
        )
    events = session.exec(
        select(AuditEvent).where(or_(*conditions)).order_by(col(AuditEvent.id)).limit(HISTORY_LIMIT)
    )
    return MessageFull(
        message=public,
        routing=public.routing,
        routing_detail=privacy.deep_masked(message.routing),
        suggestions=list(message.suggestions or []),
        deadline=DeadlinePublic(
            due_at=message.due_at,
            provisional=message.provisional,
            working_days=message.working_days,
            sla_state=message.sla_state,
            due_soon_at=message.due_soon_at,
            escalation_level=message.escalation_level,
            first_replied_at=message.first_replied_at,
            platform_window_closes_at=message.platform_window_closes_at,
            basis=message.deadline_basis,
        ),
        replies=replies,
        history=[audit.public(e, principal) for e in events],
    )
