"""Replies: what people do with them — draft, edit, submit, approve or reject (two levels for sensitive
messages), withdraw, close a message without a reply, mark it out of scope, and settle a reply the outbox
could not deliver. Every change is checked against `workflow` and written to the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.auth import Principal
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.messages import service as messages
from app.messages.models import Message, MessageKind, MessageStatus, SlaState
from app.moderation import outgoing
from app.replies import publishers, workflow
from app.replies.models import (
    CLOSE_REASON_LABELS,
    CloseReason,
    Decision,
    Delivery,
    Reply,
    ReplyCreate,
    ReplyKind,
    ReplyReview,
    ReplyUpdate,
)
from app.replies.workflow import ReplyState
from app.sla import service as sla
from app.sla.escalation import REPLY_WINDOWS, window_text
from app.users.models import Role

SENSITIVE_FLAG = "sensitive"
# A reply within this share of the platform's limit gets a `length` warning.
NEAR_LIMIT = 0.9
DRAFT_ROLES = (Role.operator, Role.reviewer, Role.leader)
REVIEW_ROLES = (Role.reviewer, Role.leader)


@dataclass(frozen=True)
class DraftContext:
    """What a draft check sees."""

    session: Session
    message: Message
    text: str
    kb_entry_id: int | None
    kb_entry_version: int | None


DraftCheck = Callable[[DraftContext], list[str]]

# Hooks run whenever a draft's text is written; each returns warnings (Chinese) shown to the reviewer.
# The knowledge domain appends its consistency check here (a draft departing from a confident KB answer).
draft_checks: list[DraftCheck] = []


def is_sensitive(message: Message) -> bool:
    return SENSITIVE_FLAG in (message.flags or [])


def needs_leader(message: Message, reply: Reply | None = None) -> bool:
    """A leader must approve too: the message is sensitive, the reply's text touches a sensitive matter
    (its `sensitive` check), or a reviewer sent it up by hand (it is in leader review)."""
    if is_sensitive(message):
        return True
    if reply is None:
        return False
    return reply.state == ReplyState.leader_review or any(
        c.get("code") == "sensitive" for c in reply.checks or []
    )


def review_levels(message: Message, reply: Reply | None = None) -> int:
    """2 (reviewer, then a leader of the unit) when a leader must approve too, else 1."""
    return 2 if needs_leader(message, reply) else 1


# --- loading ------------------------------------------------------------------------------------------


def get(
    *, session: Session, reply_id: int, principal: Principal | None, lock: bool = False
) -> tuple[Reply, Message]:
    """The reply and its message if the principal may see them; otherwise 404."""
    query = select(Reply).where(Reply.id == reply_id)
    if lock:
        query = query.with_for_update()
    reply = session.exec(query).first()
    if reply is None:
        raise NotFound(f"答复 {reply_id} 不存在")
    try:
        message = messages.get(session=session, message_id=reply.message_id, principal=principal, lock=lock)
    except NotFound:
        raise NotFound(f"答复 {reply_id} 不存在") from None
    return reply, message


def reviews_of(*, session: Session, reply_ids: list[int]) -> dict[int, list[ReplyReview]]:
    """Review decisions per reply, oldest first."""
    result: dict[int, list[ReplyReview]] = {i: [] for i in reply_ids}
    if not reply_ids:
        return result
    rows = session.exec(
        select(ReplyReview).where(col(ReplyReview.reply_id).in_(reply_ids)).order_by(col(ReplyReview.id))
    )
    for row in rows:
        result[row.reply_id].append(row)
    return result


def active_reply(*, session: Session, message_id: int) -> Reply | None:
    """The reply that currently stands for the message (at most one), if any."""
    return session.exec(
        select(Reply)
        .where(Reply.message_id == message_id, col(Reply.state).in_([s.value for s in workflow.ACTIVE]))
        .order_by(col(Reply.id).desc())
    ).first()


# --- the one way a state changes ---------------------------------------------------------------------


def move(
    *,
    session: Session,
    reply: Reply,
    message: Message,
    transition: str,
    actor: Principal | None,
    action: str,
    at: datetime,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    """Takes the named transition of `workflow.TRANSITIONS` (409 from another state, 403 for another
    role), moves the message with the reply, and writes the audit event."""
    to = workflow.check_move(reply.state, transition, actor_role=actor.role if actor else None).target
    before = {"state": reply.state, "message_status": message.status}
    reply.state = to
    reply.updated_at = at
    message.status = workflow.message_status(to)
    message.updated_at = at
    session.add(reply)
    session.add(message)
    record(
        session=session,
        actor=actor,
        action=action,
        entity_type="reply",
        entity_id=reply.id,
        unit_code=message.unit_code,
        before=before,
        after={
            "state": reply.state,
            "message_status": message.status,
            "message_id": message.id,
            **(after or {}),
        },
        note=note,
        at=at,
    )


def mark_published(
    *,
    session: Session,
    reply: Reply,
    message: Message,
    at: datetime,
    delivery: Delivery,
    actor: Principal | None,
    transition: str,
    action: str,
    platform_reply_id: str | None = None,
    note: str | None = None,
) -> None:
    """Records that the reply reached the citizen: reply and message published, SLA met or missed."""
    move(
        session=session,
        reply=reply,
        message=message,
        transition=transition,
        actor=actor,
        action=action,
        at=at,
        after={"delivery": delivery.value, "platform_reply_id": platform_reply_id, "text": reply.text},
        note=note,
    )
    reply.published_at = at
    reply.delivery = delivery.value
    reply.delivery_note = note
    reply.next_attempt_at = None
    reply.check_before_send = False
    if platform_reply_id:
        reply.platform_reply_id = platform_reply_id
    sla.mark_replied(session=session, message=message, replied_at=at)
    session.add(message)


# --- drafting ------------------------------------------------------------------------------------------


def _suggestion(message: Message, entry_id: int) -> dict[str, Any] | None:
    for item in message.suggestions or []:
        if str(item.get("entry_id")) == str(entry_id):
            return item
    return None


def _version(suggestion: dict[str, Any] | None) -> int | None:
    if not suggestion:
        return None
    value = suggestion.get("version", suggestion.get("entry_version"))
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _clean_text(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise Invalid("答复内容不能为空")
    return cleaned


def _length_checks(message: Message, text: str) -> list[dict[str, Any]]:
    limit = publishers.reply_limit(message)
    if limit is None or len(text) < limit * NEAR_LIMIT:
        return []
    if len(text) > limit:
        return [outgoing.check("length", outgoing.BLOCK, f"答复共 {len(text)} 字，超过平台上限 {limit} 字")]
    return [outgoing.check("length", outgoing.WARN, f"答复共 {len(text)} 字，接近平台上限 {limit} 字")]


def reply_checks(
    session: Session, message: Message, reply: Reply, kb_warnings: list[str]
) -> list[dict[str, Any]]:
    """The outgoing checks of the reply's current text: personal data (blocks a public reply), abuse and
    illegal content (block), sensitive matters (a leader must approve), KB consistency, platform length."""
    public = message.kind != MessageKind.private
    found = outgoing.content_checks(
        session=session, text=reply.text, public=public, citizen_text=message.content
    )
    found.extend(outgoing.check("kb_mismatch", outgoing.WARN, w) for w in kb_warnings)
    found.extend(_length_checks(message, reply.text))
    return found


def _refresh_checks(session: Session, message: Message, reply: Reply) -> None:
    """Recomputes the reply's warnings and outgoing checks from its current text (every write of it)."""
    context = DraftContext(
        session=session,
        message=message,
        text=reply.text,
        kb_entry_id=reply.kb_entry_id,
        kb_entry_version=reply.kb_entry_version,
    )
    found: list[str] = []
    closes = message.platform_window_closes_at
    if closes is not None and clock.now() >= closes and message.platform in REPLY_WINDOWS:
        # e.g. WeChat refuses customer-service messages 48 hours after the citizen's last one (45015).
        found.append(
            f"已超过回复时限（{window_text(message.platform)}），平台将拒收此答复：可改为公开答复，或人工送达后登记"
        )
    if _weibo_mention_answered(session, message):
        found.append(
            "微博@提及的私信回复每48小时只能发一次，该用户近48小时内已收到本账号回复：平台将拒收，"
            "可改为在其微博下公开评论，或人工送达后登记"
        )
    hooked: list[str] = []
    for check in draft_checks:
        for warning in check(context):
            if warning not in hooked:
                hooked.append(warning)
    reply.warnings = found + [w for w in hooked if w not in found]
    reply.checks = reply_checks(session, message, reply, hooked)


def _weibo_mention_answered(session: Session, message: Message) -> bool:
    """Weibo's fans service answers an @-mention privately once per 48 hours: has the citizen had a
    published reply to a mention on this account within them?"""
    if message.platform != "weibo" or message.kind != "mention" or not message.thread_ref.get("sender_id"):
        return False
    since = clock.now() - REPLY_WINDOWS["weibo"]
    earlier = session.exec(
        select(Reply.id)
        .join(Message, col(Message.id) == col(Reply.message_id))
        .where(
            Message.account_id == message.account_id,
            Message.author_id == message.author_id,
            Message.kind == "mention",
            col(Reply.published_at) >= since,
        )
        .limit(1)
    ).first()
    return earlier is not None


def _new_reply(
    *,
    session: Session,
    actor: Principal,
    message: Message,
    text: str,
    kind: ReplyKind,
    kb_entry_id: int | None,
    kb_entry_version: int | None,
    at: datetime,
) -> Reply:
    publishers.check_length(message=message, text=text)
    assert message.id is not None
    reply = Reply(
        message_id=message.id,
        kind=kind.value,
        text=text,
        kb_entry_id=kb_entry_id,
        kb_entry_version=kb_entry_version,
        author_id=actor.user_id,
        author_name=actor.name,
        editor_ids=[actor.user_id] if actor.user_id is not None else [],
        idempotency_key=f"hy-{uuid.uuid4().hex}",
        created_at=at,
        updated_at=at,
    )
    _refresh_checks(session, message, reply)
    session.add(reply)
    session.flush()
    message.status = workflow.message_status(ReplyState.drafting)
    message.updated_at = at
    session.add(message)
    record(
        session=session,
        actor=actor,
        action="reply.draft",
        entity_type="reply",
        entity_id=reply.id,
        unit_code=message.unit_code,
        after={
            "state": reply.state,
            "message_id": message.id,
            "kind": reply.kind,
            "text": text,
            "kb_entry_id": kb_entry_id,
            "kb_entry_version": kb_entry_version,
            "warnings": reply.warnings,
            "checks": reply.checks,
        },
        at=at,
    )
    return reply


def create_draft(*, session: Session, actor: Principal, message_id: int, data: ReplyCreate) -> Reply:
    """Drafts a reply from a KB suggestion (recording entry and version) or free text; 409 unless the
    message is open, 422 if longer than the platform takes."""
    message = messages.get(session=session, message_id=message_id, principal=actor, lock=True)
    actor.require(*DRAFT_ROLES)
    workflow.require_message(message, workflow.CAN_DRAFT, action="起草答复")
    suggestion = _suggestion(message, data.kb_entry_id) if data.kb_entry_id is not None else None
    text = data.text
    if not (text or "").strip() and suggestion is not None:
        text = str(suggestion.get("answer", ""))
    reply = _new_reply(
        session=session,
        actor=actor,
        message=message,
        text=_clean_text(text),
        kind=ReplyKind.answer,
        kb_entry_id=data.kb_entry_id,
        kb_entry_version=data.kb_entry_version if data.kb_entry_version is not None else _version(suggestion),
        at=clock.now(),
    )
    session.commit()
    return reply


def edit(*, session: Session, actor: Principal, reply_id: int, data: ReplyUpdate) -> Reply:
    """Changes a draft's text or KB reference; only while drafting (409 otherwise)."""
    reply, message = get(session=session, reply_id=reply_id, principal=actor, lock=True)
    actor.require(*DRAFT_ROLES)
    if reply.state != ReplyState.drafting:
        raise workflow.conflict(reply.state, "修改（只有起草中的答复可以修改）")
    before = {
        "text": reply.text,
        "kb_entry_id": reply.kb_entry_id,
        "kb_entry_version": reply.kb_entry_version,
    }
    changes = data.model_dump(exclude_unset=True)
    if "text" in changes:
        reply.text = _clean_text(data.text)
        publishers.check_length(message=message, text=reply.text)
    if "kb_entry_id" in changes:
        reply.kb_entry_id = data.kb_entry_id
        suggestion = _suggestion(message, data.kb_entry_id) if data.kb_entry_id is not None else None
        reply.kb_entry_version = _version(suggestion)
    if "kb_entry_version" in changes:
        reply.kb_entry_version = data.kb_entry_version
    if actor.user_id is not None and actor.user_id not in reply.editor_ids:
        reply.editor_ids = [*reply.editor_ids, actor.user_id]
    _refresh_checks(session, message, reply)
    now = clock.now()
    reply.updated_at = now
    session.add(reply)
    record(
        session=session,
        actor=actor,
        action="reply.edit",
        entity_type="reply",
        entity_id=reply.id,
        unit_code=message.unit_code,
        before=before,
        after={
            "text": reply.text,
            "kb_entry_id": reply.kb_entry_id,
            "kb_entry_version": reply.kb_entry_version,
            "warnings": reply.warnings,
            "checks": reply.checks,
        },
        at=now,
    )
    session.commit()
    return reply


def submit(*, session: Session, actor: Principal, reply_id: int) -> Reply:
    """Sends a draft to review (先审后发)."""
    reply, message = get(session=session, reply_id=reply_id, principal=actor, lock=True)
    actor.require(*DRAFT_ROLES)
    workflow.check_move(reply.state, "submit", actor_role=actor.role)
    publishers.check_length(message=message, text=reply.text)
    move(
        session=session,
        reply=reply,
        message=message,
        transition="submit",
        actor=actor,
        action="reply.submit",
        at=clock.now(),
        after={
            "text": reply.text,
            "review_levels": review_levels(message, reply),
            "warnings": reply.warnings,
        },
    )
    session.commit()
    return reply


def withdraw(*, session: Session, actor: Principal, reply_id: int, reason: str | None = None) -> Reply:
    """Discards a reply that has not been approved yet; the message is open again."""
    reply, message = get(session=session, reply_id=reply_id, principal=actor, lock=True)
    actor.require(*DRAFT_ROLES)
    move(
        session=session,
        reply=reply,
        message=message,
        transition="withdraw",
        actor=actor,
        action="reply.withdraw",
        at=clock.now(),
        note=reason,
    )
    session.commit()
    return reply


# --- review --------------------------------------------------------------------------------------------


def _review_level(reply: Reply) -> int:
    return 2 if reply.state == ReplyState.leader_review else 1


def _check_reviewer(*, session: Session, actor: Principal, reply: Reply, level: int, deciding: str) -> None:
    if level == 2 and actor.role != Role.leader:
        raise Forbidden("该留言被标记为敏感，须由本单位领导复核（分级审核）")
    # Escalating is a first-level decision too: an author escalating their own sensitive reply would
    # leave it with one independent approval instead of two.
    if (
        deciding in ("approve", "escalate")
        and actor.user_id is not None
        and actor.user_id in (reply.editor_ids or [])
    ):
        raise Forbidden("不能审核本人起草或修改过的答复：先审后发要求起草人与审核人不是同一人")
    if level == 2 and deciding == "approve":
        first = session.exec(
            select(ReplyReview)
            .where(ReplyReview.reply_id == reply.id, ReplyReview.level == 1)
            .order_by(col(ReplyReview.id).desc())
        ).first()
        if first is not None and first.reviewer_id == actor.user_id:
            raise Forbidden("领导复核须由初审人以外的领导完成")


def _add_review(
    session: Session,
    *,
    reply: Reply,
    actor: Principal,
    level: int,
    decision: Decision,
    at: datetime,
    reason: str | None,
) -> None:
    assert reply.id is not None
    session.add(
        ReplyReview(
            reply_id=reply.id,
            level=level,
            decision=decision.value,
            reviewer_id=actor.user_id,
            reviewer_name=actor.name,
            reviewer_role=actor.role.value,
            text=reply.text,
            reason=reason,
            at=at,
        )
    )


def approve(*, session: Session, actor: Principal, reply_id: int) -> Reply:
    """Approves at the reply's review level; the last approval puts it in the outbox.

    403 for one's own draft, and for a second-level approval by anyone but another leader of the unit."""
    reply, message = get(session=session, reply_id=reply_id, principal=actor, lock=True)
    actor.require(*REVIEW_ROLES)
    if reply.state not in workflow.REVIEWABLE:
        raise workflow.conflict(reply.state, "审核通过（只有待审核的答复可以审核）")
    level = _review_level(reply)
    _check_reviewer(session=session, actor=actor, reply=reply, level=level, deciding="approve")
    # The lexicon may have changed since the text was written: check again, block before anything moves.
    kb_warnings = [c["message"] for c in reply.checks if c["code"] == "kb_mismatch"]
    reply.checks = reply_checks(session, message, reply, kb_warnings)
    blocked = outgoing.blocking(reply.checks)
    if blocked:
        session.add(reply)
        session.commit()
        reasons = "；".join(c["message"] for c in blocked)
        raise Conflict(
            f"答复存在必须修改的问题，不能审核通过：{reasons}",
            code="blocked_by_checks",
            details={"checks": blocked},
        )
    now = clock.now()
    final = level == 2 or not needs_leader(message, reply)
    _add_review(
        session, reply=reply, actor=actor, level=level, decision=Decision.approved, at=now, reason=None
    )
    move(
        session=session,
        reply=reply,
        message=message,
        transition=("leader_approve" if level == 2 else "approve") if final else "approve_to_leader",
        actor=actor,
        action="reply.approve",
        at=now,
        after={"level": level, "text": reply.text, "final": final},
    )
    if final:
        # Whoever gives the last approval is accountable for what is published (谁发布谁负责).
        reply.approved_by_id = actor.user_id
        reply.approved_by_name = actor.name
        reply.approved_at = now
        _queue_for_publishing(reply, now)
    session.commit()
    return reply


def escalate(*, session: Session, actor: Principal, reply_id: int, reason: str) -> Reply:
    """Sends a reply in first-level review to the unit's leader by hand (提请领导复核), whatever the
    word lists say; the reviewer who sent it cannot give the leader's approval."""
    reply, message = get(session=session, reply_id=reply_id, principal=actor, lock=True)
    actor.require(*REVIEW_ROLES)
    if reply.state != ReplyState.in_review:
        raise workflow.conflict(reply.state, "提请领导复核（只有待审核的答复可以提请）")
    _check_reviewer(session=session, actor=actor, reply=reply, level=1, deciding="escalate")
    now = clock.now()
    _add_review(
        session, reply=reply, actor=actor, level=1, decision=Decision.escalated, at=now, reason=reason
    )
    move(
        session=session,
        reply=reply,
        message=message,
        transition="escalate",
        actor=actor,
        action="reply.escalate",
        at=now,
        after={"text": reply.text, "reason": reason},
        note=reason,
    )
    session.commit()
    return reply


def reject(*, session: Session, actor: Principal, reply_id: int, reason: str) -> Reply:
    """Sends the reply back to drafting with the reviewer's reason."""
    reply, message = get(session=session, reply_id=reply_id, principal=actor, lock=True)
    actor.require(*REVIEW_ROLES)
    if reply.state not in workflow.REVIEWABLE:
        raise workflow.conflict(reply.state, "退回（只有待审核的答复可以退回）")
    level = _review_level(reply)
    _check_reviewer(session=session, actor=actor, reply=reply, level=level, deciding="reject")
    now = clock.now()
    _add_review(
        session, reply=reply, actor=actor, level=level, decision=Decision.rejected, at=now, reason=reason
    )
    move(
        session=session,
        reply=reply,
        message=message,
        transition="leader_reject" if level == 2 else "reject",
        actor=actor,
        action="reply.reject",
        at=now,
        after={"level": level, "text": reply.text, "reason": reason},
        note=reason,
    )
    reply.rejection_reason = reason
    session.commit()
    return reply


# --- the message without a normal reply -----------------------------------------------------------------


def close_message(
    *, session: Session, actor: Principal, message_id: int, reason: CloseReason, note: str | None = None
) -> Message:
    """Closes the message without a reply for a stated reason (reviewers and leaders); a pending draft
    is withdrawn."""
    message = messages.get(session=session, message_id=message_id, principal=actor, lock=True)
    actor.require(*REVIEW_ROLES)
    workflow.require_message(message, workflow.CAN_CLOSE, action="关闭")
    note = (note or "").strip() or None
    if reason == CloseReason.other and not note:
        raise Invalid("关闭原因为“其他”时请填写说明")
    now = clock.now()
    pending = active_reply(session=session, message_id=message_id)
    if pending is not None:
        move(
            session=session,
            reply=pending,
            message=message,
            transition="withdraw",
            actor=actor,
            action="reply.withdraw",
            at=now,
            note="留言已关闭",
        )
    before = {"status": message.status}
    label = CLOSE_REASON_LABELS[reason]
    message.status = MessageStatus.closed
    message.close_reason = f"{reason.value}: {label}" + (f"；{note}" if note else "")
    message.closed_at = now
    if message.due_at is not None and now > message.due_at and message.first_replied_at is None:
        # Closing after the deadline does not make the message answered in time.
        message.sla_state = SlaState.missed
    message.updated_at = now
    session.add(message)
    record(
        session=session,
        actor=actor,
        action="message.close",
        entity_type="message",
        entity_id=message_id,
        unit_code=message.unit_code,
        before=before,
        after={"status": message.status, "reason": reason.value, "close_reason": message.close_reason},
        note=note,
        at=now,
    )
    session.commit()
    return message


def mark_out_of_scope(
    *, session: Session, actor: Principal, message_id: int, text: str | None = None
) -> Reply:
    """Marks the message out of scope, due the same working day, with a pointer reply drafted for review.

    Without `text` the pointer routing suggested (`routing.pointer`) is used."""
    message = messages.get(session=session, message_id=message_id, principal=actor, lock=True)
    actor.require(*DRAFT_ROLES)
    workflow.require_message(message, workflow.CAN_MARK_OUT_OF_SCOPE, action="标记为非本单位职责")
    text = (text or "").strip() or str((message.routing or {}).get("pointer") or "").strip()
    if not text:
        raise Invalid("请填写告知内容：指明负责的部门和反映途径")
    now = clock.now()
    before = {
        "out_of_scope": message.out_of_scope,
        "due_at": message.due_at.isoformat() if message.due_at else None,
    }
    message.out_of_scope = True
    sla.apply_deadline(session=session, message=message, working_days=0)
    record(
        session=session,
        actor=actor,
        action="message.out_of_scope",
        entity_type="message",
        entity_id=message_id,
        unit_code=message.unit_code,
        before=before,
        after={"out_of_scope": True, "due_at": message.due_at.isoformat() if message.due_at else None},
        note=text[:500],
        at=now,
    )
    reply = _new_reply(
        session=session,
        actor=actor,
        message=message,
        text=_clean_text(text),
        kind=ReplyKind.pointer,
        kb_entry_id=None,
        kb_entry_version=None,
        at=now,
    )
    session.commit()
    return reply


# --- settling what the outbox could not ------------------------------------------------------------------


def retry(*, session: Session, actor: Principal, reply_id: int, note: str | None = None) -> Reply:
    """Puts a held or undeliverable reply back in the outbox, to be sent again as approved.

    For a held reply the person accepts that it may already be on the platform."""
    reply, message = get(session=session, reply_id=reply_id, principal=actor, lock=True)
    actor.require(*DRAFT_ROLES)
    workflow.check_move(reply.state, "retry", actor_role=actor.role)
    if reply.state == ReplyState.undeliverable:
        _require_no_other_reply(session=session, reply=reply, message=message)
    now = clock.now()
    move(
        session=session,
        reply=reply,
        message=message,
        transition="retry",
        actor=actor,
        action="reply.retry",
        at=now,
        after={"text": reply.text},
        note=note,
    )
    _queue_for_publishing(reply, now)
    session.commit()
    return reply


def _queue_for_publishing(reply: Reply, now: datetime) -> None:
    """Puts an approved reply in the outbox afresh: due now, attempts counted from zero, sent unchecked."""
    reply.attempts = 0
    reply.next_attempt_at = now
    reply.check_before_send = False


def confirm_published(
    *, session: Session, actor: Principal, reply_id: int, note: str, platform_reply_id: str | None = None
) -> Reply:
    """A person checked the platform and found the held reply there."""
    reply, message = get(session=session, reply_id=reply_id, principal=actor, lock=True)
    actor.require(*DRAFT_ROLES)
    if reply.state != ReplyState.held:
        raise workflow.conflict(reply.state, "确认已发布（只有待人工确认的答复可以确认）")
    mark_published(
        session=session,
        reply=reply,
        message=message,
        at=clock.now(),
        delivery=Delivery.confirmed,
        actor=actor,
        transition="confirm_published",
        action="reply.confirm_published",
        platform_reply_id=platform_reply_id,
        note=note,
    )
    session.commit()
    return reply


def deliver_manually(
    *, session: Session, actor: Principal, reply_id: int, note: str, delivered_at: datetime | None = None
) -> Reply:
    """Records that a held or undeliverable reply reached the citizen another way (phone, back office …)."""
    reply, message = get(session=session, reply_id=reply_id, principal=actor, lock=True)
    actor.require(*DRAFT_ROLES)
    if reply.state not in (ReplyState.held, ReplyState.undeliverable):
        raise workflow.conflict(reply.state, "登记人工送达（只有无法送达或待确认的答复可以登记）")
    if reply.state == ReplyState.undeliverable:
        _require_no_other_reply(session=session, reply=reply, message=message)
    now = clock.now()
    at = delivered_at or now
    if at.tzinfo is None:
        raise Invalid("delivered_at 必须带时区，例如 2026-01-05T09:30:00+08:00")
    if at > now or at < message.received_at:
        raise Invalid("送达时间应在留言收到之后、当前时间之前")
    mark_published(
        session=session,
        reply=reply,
        message=message,
        at=at,
        delivery=Delivery.manual,
        actor=actor,
        transition="deliver_manually",
        action="reply.delivered_manually",
        note=note,
    )
    session.commit()
    return reply


def _require_no_other_reply(*, session: Session, reply: Reply, message: Message) -> None:
    other = active_reply(session=session, message_id=message.id or 0)
    if other is not None and other.id != reply.id:
        raise workflow.conflict(other.state, f"处理此答复：该留言已有另一条答复（ID {other.id}）")


def confirm_by_echo(*, session: Session, reply_id: int, platform_reply_id: str | None, at: datetime) -> bool:
    """The platform sent our own reply back (an echo): a held reply is on the platform after all and is
    recorded as published. Returns True if it was held. Joins the caller's transaction (no commit)."""
    reply, message = get(session=session, reply_id=reply_id, principal=None, lock=True)
    if reply.state != ReplyState.held:
        return False
    mark_published(
        session=session,
        reply=reply,
        message=message,
        at=at,
        delivery=Delivery.verified,
        actor=None,
        transition="echo_confirmed",
        action="reply.echo_confirmed",
        platform_reply_id=platform_reply_id,
        note="平台回传了本条答复，确认已发布",
    )
    return True
