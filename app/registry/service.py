"""Account registry: file a registration (备案), submit lifecycle events, approve them at the supervising
office, and work out the registry's flags (late filing, closing without notice, duplicate accounts)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.registry.models import (
    PLATFORM_LABELS,
    AccountCheck,
    EventCreate,
    EventStatus,
    Flag,
    LifecycleKind,
    Registration,
    RegistrationCreate,
    RegistrationPublic,
    RegistrationStatus,
    RegistryEvent,
)
from app.sla.calendar import WorkCalendar, working_days_after
from app.units import service as units
from app.users.models import Role

# Limits from the provincial notices on government new media.
REGISTER_WITHIN_WORKING_DAYS = 3
CLOSE_NOTICE_WORKING_DAYS = 7

FILING_ROLES = (Role.admin, Role.supervisor, Role.leader)
APPROVING_ROLES = (Role.admin, Role.supervisor)
LIVE_STATUSES = (RegistrationStatus.pending.value, RegistrationStatus.active.value)

_DIGIT = re.compile(r"\d")


def mask_phone(phone: str) -> str:
    """`13812345678` → `138****5678`; shorter numbers keep only their last two digits."""
    digits = _DIGIT.findall(phone)
    if len(digits) >= 8:
        keep_head, keep_tail = 3, 4
    else:
        keep_head, keep_tail = 0, min(2, len(digits))
    out, seen = [], 0
    for ch in phone:
        if ch.isdigit():
            masked = keep_head <= seen < len(digits) - keep_tail
            out.append("*" if masked else ch)
            seen += 1
        else:
            out.append(ch)
    return "".join(out)


def sees_phones(principal: Principal, unit_code: str) -> bool:
    """Contact numbers are for the supervising office and the owner unit's leader; others see them masked."""
    if principal.role in (Role.admin, Role.supervisor):
        return True
    return principal.role == Role.leader and principal.sees_unit(unit_code)


def _audit_view(registration: Registration) -> dict[str, Any]:
    data = registration.model_dump(mode="json")
    # Personal data minimisation: the audit log keeps masked numbers only.
    data["phones"] = [mask_phone(p) for p in registration.phones]
    return data


def _check_account(session: Session, actor: Principal, account_id: int, unit_code: str) -> None:
    account = session.get(Account, account_id)
    if account is None or not actor.sees_unit(account.unit_code):
        raise Invalid(f"账号 {account_id} 不存在")
    if account.unit_code != unit_code:
        raise Invalid(f"账号 {account_id} 属于单位 {account.unit_code}，与备案主办单位不一致")
    taken = session.exec(
        select(Registration.id).where(
            Registration.account_id == account_id, col(Registration.status).in_(LIVE_STATUSES)
        )
    ).first()
    if taken is not None:
        raise Conflict(f"账号 {account_id} 已有备案（备案号 {taken}）")


def register(*, session: Session, actor: Principal, data: RegistrationCreate, tz: ZoneInfo) -> Registration:
    """Files a registration and its `opened` event (pending the supervising office's approval)."""
    actor.require(*FILING_ROLES)
    units.require(session=session, code=data.unit_code, principal=actor)
    now = clock.now()
    today = now.astimezone(tz).date()
    registered_on = data.registered_on or today
    if data.registered_on is not None and data.registered_on != today and actor.role not in APPROVING_ROLES:
        raise Forbidden("只有督办或管理员可以补录以往的备案日期")
    if registered_on > today:
        raise Invalid("备案日期不能晚于今天")
    if data.opened_on > registered_on + timedelta(days=366):
        # Filing before opening is fine (备案在先); a year ahead is a typo.
        raise Invalid("开设日期不能晚于备案日期一年以上")
    if data.account_id is not None:
        _check_account(session, actor, data.account_id, data.unit_code)
    registration = Registration.model_validate(
        data,
        update={
            "platform": data.platform.value,
            "registered_on": registered_on,
            "status": RegistrationStatus.pending.value,
            "created_by": actor.name,
            "created_at": now,
            "updated_at": now,
        },
    )
    session.add(registration)
    session.flush()
    assert registration.id is not None
    event = RegistryEvent(
        registration_id=registration.id,
        kind=LifecycleKind.opened.value,
        effective_on=data.opened_on,
        status=EventStatus.pending.value,
        submitted_by=actor.name,
        submitted_at=now,
    )
    session.add(event)
    record(
        session=session,
        actor=actor,
        action="registry.register",
        entity_type="registration",
        entity_id=registration.id,
        unit_code=registration.unit_code,
        after=_audit_view(registration),
    )
    session.commit()
    return registration


def get(*, session: Session, registration_id: int, principal: Principal | None = None) -> Registration:
    """The registration if the principal may see it, else 404."""
    registration = session.get(Registration, registration_id)
    if registration is None or (principal is not None and not principal.sees_unit(registration.unit_code)):
        raise NotFound(f"备案 {registration_id} 不存在")
    return registration


def list_registrations(
    *,
    session: Session,
    principal: Principal,
    unit_code: str | None = None,
    platform: str | None = None,
    status: str | None = None,
) -> list[Registration]:
    """Registrations the principal may see, oldest first."""
    query = select(Registration).order_by(col(Registration.id))
    if principal.units is not None:
        query = query.where(col(Registration.unit_code).in_(principal.units))
    for column, value in (
        (Registration.unit_code, unit_code),
        (Registration.platform, platform),
        (Registration.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    return list(session.exec(query))


def submit_event(
    *, session: Session, actor: Principal, registration_id: int, data: EventCreate
) -> RegistryEvent:
    """Files a change, closing or cancellation; it takes effect when the supervising office approves it."""
    actor.require(*FILING_ROLES)
    registration = get(session=session, registration_id=registration_id, principal=actor)
    if data.kind == LifecycleKind.opened:
        raise Invalid("开设事件随备案自动生成，无需另行提交")
    if registration.status in (RegistrationStatus.closed, RegistrationStatus.cancelled):
        raise Conflict("该账号已关停或注销，不能再提交变更")
    if data.kind == LifecycleKind.changed and (data.changes is None or not data.changes.model_fields_set):
        raise Invalid("变更事件需要填写变更内容 changes")
    if data.notice_on is not None and data.notice_on > data.effective_on:
        raise Invalid("公告日期不能晚于生效日期")
    if data.effective_on < registration.opened_on:
        raise Invalid("生效日期不能早于开设日期")
    pending = session.exec(
        select(RegistryEvent.id).where(
            RegistryEvent.registration_id == registration_id, RegistryEvent.status == EventStatus.pending
        )
    ).first()
    if pending is not None:
        raise Conflict(f"该备案还有待审批的事件（{pending}），请先审批")
    changes = data.changes.model_dump(mode="json", exclude_unset=True) if data.changes else None
    if changes and changes.get("account_id") is not None:
        _check_account(session, actor, int(changes["account_id"]), registration.unit_code)
    event = RegistryEvent(
        registration_id=registration_id,
        kind=data.kind.value,
        effective_on=data.effective_on,
        notice_on=data.notice_on,
        changes=changes,
        note=data.note,
        status=EventStatus.pending.value,
        submitted_by=actor.name,
        submitted_at=clock.now(),
    )
    session.add(event)
    session.flush()
    audit_changes = dict(changes or {})
    if "phones" in audit_changes:
        audit_changes["phones"] = [mask_phone(p) for p in audit_changes["phones"] or []]
    record(
        session=session,
        actor=actor,
        action="registry.event_submit",
        entity_type="registration",
        entity_id=registration_id,
        unit_code=registration.unit_code,
        after={
            "event_id": event.id,
            "kind": event.kind,
            "effective_on": str(event.effective_on),
            **audit_changes,
        },
        note=data.note,
    )
    session.commit()
    return event


def decide_event(
    *, session: Session, actor: Principal, event_id: int, approve: bool, note: str | None
) -> RegistryEvent:
    """Approves (the event takes effect) or rejects a pending event; supervising office only."""
    actor.require(*APPROVING_ROLES)
    event = session.get(RegistryEvent, event_id)
    if event is None:
        raise NotFound(f"备案事件 {event_id} 不存在")
    registration = get(session=session, registration_id=event.registration_id, principal=actor)
    if event.status != EventStatus.pending:
        raise Conflict("该事件已审批")
    if not approve and not note:
        raise Invalid("驳回时请填写审批意见")
    before = _audit_view(registration)
    now = clock.now()
    event.status = (EventStatus.approved if approve else EventStatus.rejected).value
    event.decided_by, event.decided_at, event.decision_note = actor.name, now, note
    if approve:
        _apply(session, registration, event)
        registration.updated_at = now
        session.add(registration)
    session.add(event)
    record(
        session=session,
        actor=actor,
        action="registry.event_approve" if approve else "registry.event_reject",
        entity_type="registration",
        entity_id=registration.id,
        unit_code=registration.unit_code,
        before=before,
        after={**_audit_view(registration), "event_id": event.id, "kind": event.kind},
        note=note,
    )
    session.commit()
    return event


def _apply(session: Session, registration: Registration, event: RegistryEvent) -> None:
    kind = LifecycleKind(event.kind)
    if kind == LifecycleKind.opened:
        registration.status = RegistrationStatus.active.value
        registration.opened_on = event.effective_on
    elif kind == LifecycleKind.changed:
        for key, value in (event.changes or {}).items():
            setattr(registration, key, value)
    elif kind == LifecycleKind.closed:
        registration.status = RegistrationStatus.closed.value
        registration.closed_on = event.effective_on
    else:
        registration.status = RegistrationStatus.cancelled.value
        registration.cancelled_on = event.effective_on


def list_events(*, session: Session, principal: Principal, registration_id: int) -> list[RegistryEvent]:
    """The registration's lifecycle, oldest first."""
    get(session=session, registration_id=registration_id, principal=principal)
    return list(
        session.exec(
            select(RegistryEvent)
            .where(RegistryEvent.registration_id == registration_id)
            .order_by(col(RegistryEvent.id))
        )
    )


def pending_events(*, session: Session, principal: Principal) -> list[RegistryEvent]:
    """Events waiting for the supervising office, oldest first."""
    query = (
        select(RegistryEvent)
        .join(Registration, col(Registration.id) == col(RegistryEvent.registration_id))
        .where(RegistryEvent.status == EventStatus.pending)
        .order_by(col(RegistryEvent.id))
    )
    if principal.units is not None:
        query = query.where(col(Registration.unit_code).in_(principal.units))
    return list(session.exec(query))


def flags(
    *, session: Session, registrations: Sequence[Registration], calendar: WorkCalendar
) -> dict[int, list[Flag]]:
    """The registry's flags for each registration id (an empty list when nothing is wrong)."""
    ids = [r.id for r in registrations if r.id is not None]
    result: dict[int, list[Flag]] = {i: [] for i in ids}
    if not ids:
        return result
    for registration in registrations:
        assert registration.id is not None
        late = working_days_after(registration.opened_on, registration.registered_on, calendar=calendar)
        if late > REGISTER_WITHIN_WORKING_DAYS:
            result[registration.id].append(
                Flag(
                    code="late_registration",
                    message=f"开设后第{late}个工作日才备案（应在{REGISTER_WITHIN_WORKING_DAYS}个工作日内）",
                )
            )
    closings = session.exec(
        select(RegistryEvent).where(
            col(RegistryEvent.registration_id).in_(ids),
            RegistryEvent.kind == LifecycleKind.closed,
            RegistryEvent.status == EventStatus.approved,
        )
    )
    for event in closings:
        if event.notice_on is None:
            result[event.registration_id].append(
                Flag(code="closed_without_notice", message="关停前未发布公告")
            )
            continue
        notice = working_days_after(event.notice_on, event.effective_on, calendar=calendar)
        if notice < CLOSE_NOTICE_WORKING_DAYS:
            result[event.registration_id].append(
                Flag(
                    code="closed_without_notice",
                    message=f"关停仅提前{notice}个工作日公告（应至少提前{CLOSE_NOTICE_WORKING_DAYS}个工作日）",
                )
            )
    _duplicate_flags(session, registrations, result)
    _zombie_flags(session, registrations, result)
    return result


def _duplicate_flags(
    session: Session, registrations: Iterable[Registration], result: dict[int, list[Flag]]
) -> None:
    live = [r for r in registrations if r.status in LIVE_STATUSES]
    pairs = {(r.unit_code, r.platform) for r in live}
    if not pairs:
        return
    counts: Counter[tuple[str, str]] = Counter()
    rows = session.exec(
        select(Registration.unit_code, Registration.platform).where(
            col(Registration.unit_code).in_({u for u, _ in pairs}),
            col(Registration.status).in_(LIVE_STATUSES),
        )
    )
    for unit_code, platform in rows:
        counts[(unit_code, platform)] += 1
    for registration in live:
        n = counts[(registration.unit_code, registration.platform)]
        if n > 1 and registration.id is not None:
            label = PLATFORM_LABELS.get(registration.platform, registration.platform)
            result[registration.id].append(
                Flag(code="duplicate_platform", message=f"本单位在{label}上有{n}个账号（原则上只开设一个）")
            )


def _zombie_flags(
    session: Session, registrations: Iterable[Registration], result: dict[int, list[Flag]]
) -> None:
    by_account = {r.account_id: r.id for r in registrations if r.account_id is not None and r.id is not None}
    if not by_account:
        return
    checks = session.exec(
        select(AccountCheck).where(col(AccountCheck.account_id).in_(by_account), col(AccountCheck.zombie))
    )
    for check in checks:
        result[by_account[check.account_id]].append(Flag(code="zombie", message="；".join(check.reasons)))


def public(registration: Registration, *, flag_list: list[Flag], principal: Principal) -> RegistrationPublic:
    """The API shape; phone numbers masked for roles that do not need them."""
    assert registration.id is not None
    show = sees_phones(principal, registration.unit_code)
    return RegistrationPublic.model_validate(
        registration,
        update={
            "phones": list(registration.phones) if show else [mask_phone(p) for p in registration.phones],
            "phones_masked": not show,
            "platform_label": PLATFORM_LABELS.get(registration.platform, registration.platform),
            "flags": flag_list,
        },
    )


def registration_for_accounts(*, session: Session, account_ids: Iterable[int]) -> dict[int, Registration]:
    """The live registration of each account that has one."""
    ids = list(account_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(Registration).where(
            col(Registration.account_id).in_(ids), col(Registration.status).in_(LIVE_STATUSES)
        )
    )
    return {r.account_id: r for r in rows if r.account_id is not None}
