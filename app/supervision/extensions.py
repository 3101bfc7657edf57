"""Deadline extensions (延期): the unit asks for N more working days with a reason before the deadline;
the supervising office approves or rejects; only an approval moves the deadline and its explanation."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.auth import Principal
from app.errors import Conflict, Invalid, NotFound
from app.messages import service as messages
from app.messages.models import OPEN_STATUSES, Message
from app.sla.service import apply_deadline
from app.supervision import notices
from app.supervision.models import DeadlineExtension, ExtensionRequest, ExtensionState
from app.supervision.rectification import supervisor_of
from app.users.models import Role

REQUEST_ROLES = (Role.admin, Role.leader, Role.reviewer, Role.operator)
APPROVING_ROLES = (Role.admin, Role.supervisor)
# One message may be extended at most this many working days in all.
MAX_TOTAL_DAYS = 15


def request(
    *, session: Session, actor: Principal, message_id: int, data: ExtensionRequest
) -> DeadlineExtension:
    """Files a request for `data.working_days` more working days; the message must be open, unanswered
    and not yet past its deadline, with no other request pending."""
    actor.require(*REQUEST_ROLES)
    message = messages.get(session=session, message_id=message_id, principal=actor, lock=True)
    now = clock.now()
    if message.status not in {s.value for s in OPEN_STATUSES} or message.first_replied_at is not None:
        raise Conflict("留言已答复或已关闭，无需延期")
    if message.due_at is None or message.out_of_scope:
        raise Conflict("该留言没有可延期的答复时限")
    if now >= message.due_at:
        raise Conflict("已超过截止时间：延期须在截止前申请")
    if _pending(session, message_id) is not None:
        raise Conflict("该留言已有待审批的延期申请")
    granted = sum(
        e.working_days
        for e in session.exec(
            select(DeadlineExtension).where(
                DeadlineExtension.message_id == message_id, DeadlineExtension.state == ExtensionState.approved
            )
        )
    )
    if granted + data.working_days > MAX_TOTAL_DAYS:
        raise Invalid(f"同一留言累计延期不能超过{MAX_TOTAL_DAYS}个工作日（已延期{granted}个工作日）")
    item = DeadlineExtension(
        message_id=message_id,
        unit_code=message.unit_code or "",
        working_days=data.working_days,
        reason=data.reason.strip(),
        requested_by=actor.name,
        requested_at=now,
        old_due_at=message.due_at,
    )
    session.add(item)
    session.flush()
    _audit(session, actor, item, "extension.request", None, now)
    notices.queue(
        session=session,
        dedupe_key=f"extension-request:{item.id}",
        kind="extension_request",
        unit_code=supervisor_of(session, item.unit_code),
        target="supervisor",
        title=f"延期申请待审批：留言 #{message_id}",
        text=f"单位 {item.unit_code} 申请延期{item.working_days}个工作日（理由：{item.reason}），"
        f"原截止时间 {item.old_due_at:%Y-%m-%d %H:%M} UTC，请在截止前审批。",
        now=now,
    )
    session.commit()
    return item


def _pending(session: Session, message_id: int) -> DeadlineExtension | None:
    return session.exec(
        select(DeadlineExtension).where(
            DeadlineExtension.message_id == message_id, DeadlineExtension.state == ExtensionState.pending
        )
    ).first()


def decide(
    *, session: Session, actor: Principal, extension_id: int, approve: bool, note: str | None
) -> DeadlineExtension:
    """Approves (the deadline moves by the granted working days, counted from the current deadline, and
    its explanation names the extension) or rejects (a note is required) a pending request."""
    actor.require(*APPROVING_ROLES)
    item = get(session=session, principal=actor, extension_id=extension_id)
    if item.state != ExtensionState.pending:
        raise Conflict("该延期申请已审批")
    if not approve and not (note or "").strip():
        raise Invalid("驳回延期申请时请填写审批意见")
    message = messages.get(session=session, message_id=item.message_id, principal=actor, lock=True)
    now = clock.now()
    if approve and (
        message.first_replied_at is not None or message.status not in {s.value for s in OPEN_STATUSES}
    ):
        raise Conflict("留言已答复或已关闭，延期申请不再适用，请驳回")
    item.state = (ExtensionState.approved if approve else ExtensionState.rejected).value
    item.decided_by, item.decided_at, item.decision_note = actor.name, now, note
    if approve:
        before = message.due_at
        # The limit grows by the granted days: recomputing from the receipt (a calendar change does so)
        # keeps the extension.
        apply_deadline(
            session=session,
            message=message,
            working_days=(message.working_days or 0) + item.working_days,
            now=now,
        )
        basis = dict(message.deadline_basis or {})
        basis["extension"] = {
            "working_days": item.working_days,
            "reason": item.reason,
            "approved_by": actor.name,
        }
        basis["explanation"] = (
            f"{basis.get('explanation', '')}经督办单位批准延期{item.working_days}个工作日（理由：{item.reason}）。"
        )
        message.deadline_basis = basis
        item.new_due_at = message.due_at
        session.add(message)
        record(
            session=session,
            actor=actor,
            action="message.deadline_extended",
            entity_type="message",
            entity_id=message.id,
            unit_code=message.unit_code,
            before={"due_at": before.isoformat() if before else None},
            after={"due_at": message.due_at.isoformat() if message.due_at else None, "extension_id": item.id},
            note=item.reason,
            at=now,
        )
    session.add(item)
    _audit(
        session,
        actor,
        item,
        "extension.approve" if approve else "extension.reject",
        ExtensionState.pending,
        now,
    )
    notices.queue(
        session=session,
        dedupe_key=f"extension-decision:{item.id}",
        kind="extension_decision",
        unit_code=item.unit_code,
        title=f"延期申请{'已批准' if approve else '未批准'}：留言 #{item.message_id}",
        text=(
            f"已批准延期{item.working_days}个工作日，新的截止时间 {item.new_due_at:%Y-%m-%d %H:%M} UTC。"
            if approve
            else f"延期申请被驳回（{note}），请按原截止时间答复。"
        ),
        now=now,
    )
    session.commit()
    return item


def _audit(
    session: Session,
    actor: Principal,
    item: DeadlineExtension,
    action: str,
    before: str | None,
    now: datetime,
) -> None:
    record(
        session=session,
        actor=actor,
        action=action,
        entity_type="deadline_extension",
        entity_id=item.id,
        unit_code=item.unit_code,
        before={"state": before} if before else None,
        after={"state": item.state, "message_id": item.message_id, "working_days": item.working_days},
        note=item.decision_note if before else item.reason,
        at=now,
    )


def get(*, session: Session, principal: Principal, extension_id: int) -> DeadlineExtension:
    item = session.get(DeadlineExtension, extension_id)
    if item is None or not principal.sees_unit(item.unit_code):
        raise NotFound(f"延期申请 {extension_id} 不存在")
    return item


def list_extensions(
    *, session: Session, principal: Principal, state: str | None = None, message_id: int | None = None
) -> list[DeadlineExtension]:
    """The requests the principal may see, oldest first."""
    query = select(DeadlineExtension).order_by(col(DeadlineExtension.id))
    if principal.units is not None:
        query = query.where(col(DeadlineExtension.unit_code).in_(principal.units))
    if state is not None:
        query = query.where(DeadlineExtension.state == state)
    if message_id is not None:
        query = query.where(DeadlineExtension.message_id == message_id)
    return list(session.exec(query))


def approved_by_unit(
    *, session: Session, start: datetime | None, end: datetime | None, units: list[str] | None
) -> dict[str, int]:
    """Approved extensions per unit, of the messages received in [start, end)."""
    query = (
        select(DeadlineExtension.unit_code, Message.id)
        .join(Message, col(Message.id) == col(DeadlineExtension.message_id))
        .where(DeadlineExtension.state == ExtensionState.approved)
    )
    if start is not None:
        query = query.where(col(Message.received_at) >= start)
    if end is not None:
        query = query.where(col(Message.received_at) < end)
    if units is not None:
        query = query.where(col(DeadlineExtension.unit_code).in_(units))
    counts: dict[str, int] = {}
    for unit_code, _ in session.exec(query):
        counts[unit_code] = counts.get(unit_code, 0) + 1
    return counts
