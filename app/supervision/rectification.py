"""Rectification records (整改): a zombie account or an inspection finding is notified to its unit, then
rectified (a post appears / the unit reports what it did), escalated to the supervising office when the
deadline passes, and closed by the inspector."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.errors import Conflict, NotFound
from app.registry.zombie import ZombieFollowUp
from app.supervision import notices
from app.supervision.models import (
    OPEN_RECTIFICATION,
    Rectification,
    RectificationSource,
    RectificationState,
)
from app.units.models import Unit
from app.users.models import Role

SUPERVISING_ROLES = (Role.admin, Role.supervisor)
RECTIFYING_ROLES = (Role.admin, Role.supervisor, Role.leader)


def supervisor_of(session: Session, unit_code: str) -> str:
    """The unit's supervising unit (主管单位), or the unit itself when it has none."""
    unit = session.exec(select(Unit).where(Unit.code == unit_code)).first()
    return unit.supervisor_code if unit is not None and unit.supervisor_code else unit_code


def _open_for_account(session: Session, account_id: int) -> Rectification | None:
    return session.exec(
        select(Rectification).where(
            Rectification.account_id == account_id,
            Rectification.source == RectificationSource.zombie,
            col(Rectification.state).in_(OPEN_RECTIFICATION),
        )
    ).first()


def track_zombie(
    *,
    session: Session,
    account: Account,
    zombie: bool,
    finding: str,
    now: datetime,
    tz: ZoneInfo,
    rectify_days: int,
) -> Literal["notified", "rectified", "escalated"] | None:
    """Moves the account's zombie rectification on: opens one (and notifies the unit) for a new zombie,
    marks it rectified when the account is updated again, escalates it when its deadline has passed."""
    assert account.id is not None
    open_record = _open_for_account(session, account.id)
    if open_record is None:
        if not zombie:
            return None
        item = Rectification(
            source=RectificationSource.zombie.value,
            unit_code=account.unit_code,
            account_id=account.id,
            finding=finding,
            state=RectificationState.notified.value,
            due_on=now.astimezone(tz).date() + timedelta(days=rectify_days),
            opened_at=now,
            created_by="system",
        )
        session.add(item)
        session.flush()
        notices.queue(
            session=session,
            dedupe_key=f"zombie-notice:{item.id}",
            kind="zombie_notice",
            unit_code=account.unit_code,
            title=f"僵尸账号整改通知：{account.name}",
            text=f"{finding}，已列为僵尸账号（单项否决）。请在{item.due_on}前更新并整改，逾期将报告督办单位。",
            now=now,
            urgent=True,
        )
        _audit(session, item, None, "supervision.rectification_open", now)
        return "notified"
    if not zombie:
        before = open_record.state
        open_record.state = RectificationState.rectified.value
        open_record.rectified_at = now
        open_record.rectified_note = "账号已恢复更新" + (
            f"（最近发布 {account.last_post_at.astimezone(tz):%Y-%m-%d %H:%M}）"
            if account.last_post_at
            else ""
        )
        session.add(open_record)
        _audit(session, open_record, before, "supervision.rectification_rectified", now)
        return "rectified"
    if (
        open_record.state == RectificationState.notified
        and open_record.due_on is not None
        and now.astimezone(tz).date() > open_record.due_on
    ):
        escalate(session=session, item=open_record, now=now)
        return "escalated"
    return None


def escalate(*, session: Session, item: Rectification, now: datetime) -> None:
    """Not rectified in time: the supervising office is told."""
    before = item.state
    item.state = RectificationState.escalated.value
    item.escalated_at = now
    session.add(item)
    notices.queue(
        session=session,
        dedupe_key=f"rectification-escalation:{item.id}",
        kind="zombie_escalation" if item.source == RectificationSource.zombie else "finding_escalation",
        unit_code=supervisor_of(session, item.unit_code),
        target="supervisor",
        title="整改逾期",
        text=f"{item.finding}\n整改期限 {item.due_on} 已过仍未整改（单位 {item.unit_code}），请督办。",
        now=now,
        urgent=True,
    )
    _audit(session, item, before, "supervision.rectification_escalated", now)


def _audit(session: Session, item: Rectification, before: str | None, action: str, now: datetime) -> None:
    record(
        session=session,
        actor=None,
        action=action,
        entity_type="rectification",
        entity_id=item.id,
        unit_code=item.unit_code,
        before={"state": before} if before else None,
        after={"state": item.state, "source": item.source, "account_id": item.account_id},
        at=now,
    )


def get(*, session: Session, rectification_id: int, principal: Principal) -> Rectification:
    item = session.get(Rectification, rectification_id)
    if item is None or not principal.sees_unit(item.unit_code):
        raise NotFound(f"整改记录 {rectification_id} 不存在")
    return item


def list_rectifications(
    *,
    session: Session,
    principal: Principal,
    source: str | None = None,
    state: str | None = None,
    inspection_id: int | None = None,
    limit: int = 100,
) -> list[Rectification]:
    """The principal's rectification records, newest first."""
    query = select(Rectification).order_by(col(Rectification.id).desc()).limit(limit)
    if principal.units is not None:
        query = query.where(col(Rectification.unit_code).in_(principal.units))
    if source is not None:
        query = query.where(Rectification.source == source)
    if state is not None:
        query = query.where(Rectification.state == state)
    if inspection_id is not None:
        query = query.where(Rectification.inspection_id == inspection_id)
    return list(session.exec(query))


def rectify(*, session: Session, actor: Principal, rectification_id: int, note: str) -> Rectification:
    """The unit reports what it did (leader of the unit, or the supervising office)."""
    actor.require(*RECTIFYING_ROLES)
    item = get(session=session, rectification_id=rectification_id, principal=actor)
    if item.state not in OPEN_RECTIFICATION:
        raise Conflict("该整改记录已整改或已销号")
    before = item.state
    item.state = RectificationState.rectified.value
    item.rectified_at, item.rectified_note = clock.now(), note
    session.add(item)
    record(
        session=session,
        actor=actor,
        action="supervision.rectification_rectified",
        entity_type="rectification",
        entity_id=item.id,
        unit_code=item.unit_code,
        before={"state": before},
        after={"state": item.state},
        note=note,
    )
    session.commit()
    return item


def close(*, session: Session, actor: Principal, rectification_id: int, note: str | None) -> Rectification:
    """The supervising office checks a rectified finding and closes it (销号)."""
    actor.require(*SUPERVISING_ROLES)
    item = get(session=session, rectification_id=rectification_id, principal=actor)
    if item.state != RectificationState.rectified:
        raise Conflict("只有已整改的记录可以销号")
    item.state = RectificationState.closed.value
    item.closed_at, item.closed_by = clock.now(), actor.name
    session.add(item)
    record(
        session=session,
        actor=actor,
        action="supervision.rectification_closed",
        entity_type="rectification",
        entity_id=item.id,
        unit_code=item.unit_code,
        before={"state": RectificationState.rectified.value},
        after={"state": item.state},
        note=note,
    )
    session.commit()
    return item


# What the registry's zombie check does with its findings (installed by `app/wiring.py`).
ZOMBIE_FOLLOW_UP = ZombieFollowUp(warn=notices.queue, track=track_zombie)
