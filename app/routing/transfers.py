"""Transfers (转办) and manual assignments (分派) of a message to another unit: the deadline never
restarts, every move is kept in the history and becomes a labelled example for the learned router."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.errors import Forbidden, Invalid
from app.messages import service as messages
from app.messages.models import Message, MessageStatus
from app.notifications.models import NotificationState, SlaNotification
from app.replies.workflow import require_message
from app.routing import service
from app.routing.models import (
    AssignCreate,
    Candidate,
    ExampleSource,
    Fallback,
    MessageRouting,
    MessageTransfer,
    TransferCreate,
    TransferKind,
    TransferPublic,
    TransferResult,
)
from app.routing.service import OUT_OF_SCOPE
from app.routing.training import record_example
from app.sla.service import apply_deadline
from app.units.models import Unit
from app.users.models import Role

# Once a reply is being drafted the unit owns the message; the draft must be withdrawn first.
CAN_MOVE = frozenset({MessageStatus.received, MessageStatus.open})
TRANSFER_ROLES = (Role.admin, Role.supervisor, Role.leader, Role.operator)
DISPATCH_ROLES = (Role.leader, Role.operator)


def _target(session: Session, code: str) -> Unit:
    unit = session.exec(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        raise Invalid(f"单位 {code} 不存在")
    return unit


def _public(row: MessageTransfer) -> TransferPublic:
    assert row.id is not None
    return TransferPublic(
        id=row.id,
        message_id=row.message_id,
        kind=row.kind,
        from_unit=row.from_unit,
        to_unit=row.to_unit,
        reason=row.reason,
        actor_name=row.actor_name,
        at=row.at,
    )


def _move(
    *,
    session: Session,
    actor: Principal,
    message: Message,
    to_unit: str,
    reason: str,
    kind: TransferKind,
    now: datetime,
    from_unit: str | None,
) -> MessageTransfer:
    assert message.id is not None
    row = MessageTransfer(
        message_id=message.id,
        kind=kind.value,
        from_unit=from_unit,
        to_unit=to_unit,
        reason=reason,
        actor_id=actor.user_id,
        actor_name=actor.name[:64],
        at=now,
    )
    session.add(row)
    message.unit_code = to_unit
    message.updated_at = now
    _retarget(session, message, from_unit=from_unit, to_unit=to_unit, kind=kind, reason=reason, now=now)
    session.add(message)
    record_example(
        session=session,
        message=message,
        unit_code=to_unit,
        source=ExampleSource(kind.value),
        actor=actor,
        now=now,
    )
    session.flush()
    record(
        session=session,
        actor=actor,
        action=f"message.{kind.value}",
        entity_type="message",
        entity_id=message.id,
        unit_code=to_unit,
        before={"unit_code": from_unit},
        after={
            "unit_code": to_unit,
            "transfer_count": message.transfer_count,
            "due_at": message.due_at.isoformat() if message.due_at else None,
        },
        note=reason or None,
        at=now,
    )
    return row


def _account_unit(session: Session, account_id: int) -> str | None:
    account = session.get(Account, account_id)
    return account.unit_code if account is not None else None


def _retarget(
    session: Session,
    message: Message,
    *,
    from_unit: str | None,
    to_unit: str,
    kind: TransferKind,
    reason: str,
    now: datetime,
) -> None:
    """After a move the routing record names the new unit (the original suggestion stays as
    `suggested_unit`), and deadline notices not yet sent are dropped so that the next sweep records them
    for the new unit instead of alerting the old one."""
    routing = dict(message.routing or {})
    routing.setdefault("suggested_unit", routing.get("unit_code"))
    routing["unit_code"] = to_unit
    verb = "分派" if kind == TransferKind.assign else "转办"
    routing["reason"] = (
        f"{routing.get('reason', '')}；已由{from_unit or '未分办'}{verb}至{to_unit}（{reason}）".lstrip("；")
    )
    message.routing = routing
    if message.id is None:
        return
    pending = session.exec(
        select(SlaNotification).where(
            col(SlaNotification.message_id) == message.id,
            col(SlaNotification.state) == NotificationState.pending,
        )
    ).all()
    unsent = [n.id for n in pending if not n.deliveries and n.id is not None]
    if unsent:
        session.execute(delete(SlaNotification).where(col(SlaNotification.id).in_(unsent)))
        message.next_check_at = now


def _result(message: Message, row: MessageTransfer) -> TransferResult:
    assert message.id is not None and message.unit_code is not None
    return TransferResult(
        message_id=message.id,
        unit_code=message.unit_code,
        transfer_count=message.transfer_count,
        due_at=message.due_at,
        transfer=_public(row),
    )


def transfer(*, session: Session, actor: Principal, message_id: int, data: TransferCreate) -> TransferResult:
    """Moves the message to another unit (an operator or leader of its unit, a supervisor or an admin),
    keeping its deadline; 404 outside the caller's units, 422 for an unknown or the same unit."""
    message = messages.get(session=session, message_id=message_id, principal=actor, lock=True)
    actor.require(*TRANSFER_ROLES)
    require_message(message, CAN_MOVE, action="转办")
    target = _target(session, data.unit_code)
    if target.code == message.unit_code:
        raise Invalid("留言已在该单位，无需转办")
    now = clock.now()
    from_unit = message.unit_code
    # Routing unsure, the message went to the office owning the account (fallback "account"): that
    # office's own first hand-off is dispatching (分派), not bouncing (推诿); it is not counted as 转出.
    dispatch = (
        message.transfer_count == 0
        and actor.unit_code == from_unit
        and (message.routing or {}).get("fallback") == Fallback.account.value
        and from_unit is not None
        and from_unit == _account_unit(session, message.account_id)
    )
    if not dispatch:
        message.transfer_count += 1
    row = _move(
        session=session,
        actor=actor,
        message=message,
        to_unit=target.code,
        reason=data.reason,
        kind=TransferKind.assign if dispatch else TransferKind.transfer,
        now=now,
        from_unit=from_unit,
    )
    session.commit()
    return _result(message, row)


def assign(*, session: Session, actor: Principal, message_id: int, data: AssignCreate) -> TransferResult:
    """Sets the message's unit by hand (a supervisor or admin, or a leader or operator of the dispatcher
    unit). Assigning a message that routing only suspected to be out of scope settles that it is in
    scope: the suspicion is cleared and the deadline is computed again from the time of receipt."""
    message = messages.get(session=session, message_id=message_id, principal=actor, lock=True)
    if actor.role not in (Role.admin, Role.supervisor):
        dispatcher = service.current_setup(session=session).settings.dispatcher_unit_code
        if actor.role not in DISPATCH_ROLES or not dispatcher or actor.unit_code != dispatcher:
            raise Forbidden("只有督办人员或分办席可以分派留言")
    require_message(message, CAN_MOVE, action="分派")
    target = _target(session, data.unit_code)
    now = clock.now()
    from_unit = message.unit_code
    if message.out_of_scope:
        message.out_of_scope = False
        message.flags = [f for f in (message.flags or []) if f != OUT_OF_SCOPE]
        message.unit_code = target.code
        apply_deadline(session=session, message=message, now=now)
    row = _move(
        session=session,
        actor=actor,
        message=message,
        to_unit=target.code,
        reason=data.reason.strip(),
        kind=TransferKind.assign,
        now=now,
        from_unit=from_unit,
    )
    session.commit()
    return _result(message, row)


def history(*, session: Session, actor: Principal, message_id: int) -> list[TransferPublic]:
    """The message's transfers and assignments, oldest first; 404 outside the caller's units."""
    messages.get(session=session, message_id=message_id, principal=actor)
    rows = session.exec(
        select(MessageTransfer)
        .where(MessageTransfer.message_id == message_id)
        .order_by(col(MessageTransfer.id))
    )
    return [_public(r) for r in rows]


def routing_of(*, session: Session, actor: Principal, message_id: int) -> MessageRouting:
    """The routing record of a message (with the suggested pointer); 404 outside the caller's units."""
    message = messages.get(session=session, message_id=message_id, principal=actor)
    assert message.id is not None
    routing = message.routing or {}
    rule_id = routing.get("rule_id")
    return MessageRouting(
        message_id=message.id,
        unit_code=message.unit_code,
        suggested_unit=routing.get("suggested_unit"),
        confidence=float(routing.get("confidence", 0.0)),
        reason=str(routing.get("reason", "")),
        out_of_scope=message.out_of_scope,
        pointer=routing.get("pointer"),
        candidates=[Candidate.model_validate(c) for c in routing.get("candidates", [])],
        rule_id=int(rule_id) if isinstance(rule_id, int | str) and str(rule_id).isdigit() else None,
        fallback=routing.get("fallback"),
        transfer_count=message.transfer_count,
    )


def transfers_out(
    *,
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    units: Sequence[str] | None = None,
) -> dict[str, int]:
    """Transfers out of each unit in [start, end) — a unit that bounces messages shows up here."""
    query = (
        select(MessageTransfer.from_unit, func.count(col(MessageTransfer.id)))
        .where(
            MessageTransfer.kind == TransferKind.transfer.value, col(MessageTransfer.from_unit).is_not(None)
        )
        .group_by(col(MessageTransfer.from_unit))
    )
    if start is not None:
        query = query.where(col(MessageTransfer.at) >= start)
    if end is not None:
        query = query.where(col(MessageTransfer.at) < end)
    if units is not None:
        query = query.where(col(MessageTransfer.from_unit).in_(list(units)))
    return {unit: int(n) for unit, n in session.exec(query) if unit is not None}
