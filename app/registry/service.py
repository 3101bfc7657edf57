"""Account registry: file a registration (备案), submit lifecycle events, approve them at the supervising
office, and work out the registry's flags (late filing, closing without notice, duplicate accounts)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.calendar.workdays import WorkCalendar, working_days_after
from app.config import get_settings
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.messages.models import Message
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
    UnregisteredAccount,
)
from app.units import service as units
from app.units.models import Unit
from app.users.models import Role

# Limits from the provincial notices on government new media.
REGISTER_WITHIN_WORKING_DAYS = 3
CLOSE_NOTICE_WORKING_DAYS = 7
# Changes and closings are filed ahead and approved before they take effect (提前报备，待批准后方可实施).
ADVANCE_KINDS = (LifecycleKind.changed.value, LifecycleKind.closed.value)
KIND_LABELS = {"opened": "开设", "changed": "变更", "closed": "关停", "cancelled": "注销"}

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
    *, session: Session, actor: Principal, registration_id: int, data: EventCreate, tz: ZoneInfo
) -> RegistryEvent:
    """Files a change, closing or cancellation; it takes effect on its effective date once the supervising
    office has approved it. A change or closing cannot be dated before its filing (批准后方可实施)."""
    actor.require(*FILING_ROLES)
    registration = get(session=session, registration_id=registration_id, principal=actor)
    now = clock.now()
    today = now.astimezone(tz).date()
    filed_on = data.filed_on or today
    if data.filed_on is not None and data.filed_on != today and actor.role not in APPROVING_ROLES:
        raise Forbidden("只有督办或管理员可以补录以往的报备日期")
    if filed_on > today:
        raise Invalid("报备日期不能晚于今天")
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
    if data.kind in ADVANCE_KINDS and data.effective_on <= filed_on:
        raise Invalid(
            f"{KIND_LABELS[data.kind.value]}须提前{CLOSE_NOTICE_WORKING_DAYS}个工作日报备、待批准后方可实施："
            "生效日期必须晚于报备日期"
        )
    if data.effective_on > filed_on + timedelta(days=366):
        raise Invalid("生效日期不能晚于报备日期一年以上")
    pending = session.exec(
        select(RegistryEvent.id).where(
            RegistryEvent.registration_id == registration_id,
            col(RegistryEvent.status) == EventStatus.pending,
        )
    ).first()
    waiting = session.exec(
        select(RegistryEvent.id).where(
            RegistryEvent.registration_id == registration_id,
            col(RegistryEvent.status) == EventStatus.approved,
            col(RegistryEvent.applied_at).is_(None),
        )
    ).first()
    if pending is not None or waiting is not None:
        raise Conflict(f"该备案还有待审批或待生效的事件（{pending or waiting}），请先处理")
    changes = data.changes.model_dump(mode="json", exclude_unset=True) if data.changes else None
    if changes and changes.get("account_id") is not None:
        _check_account(session, actor, int(changes["account_id"]), registration.unit_code)
    if changes and "unit_code" in changes:
        if not changes["unit_code"]:
            raise Invalid("新的主办单位代码不能为空")
        units.require(session=session, code=changes["unit_code"])
    event = RegistryEvent(
        registration_id=registration_id,
        kind=data.kind.value,
        effective_on=data.effective_on,
        notice_on=data.notice_on,
        filed_on=filed_on,
        changes=changes,
        note=data.note,
        status=EventStatus.pending.value,
        submitted_by=actor.name,
        submitted_at=now,
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
            "filed_on": str(filed_on),
            **audit_changes,
        },
        note=data.note,
    )
    session.commit()
    return event


def decide_event(
    *,
    session: Session,
    actor: Principal,
    event_id: int,
    approve: bool,
    note: str | None,
    tz: ZoneInfo,
    decided_on: date | None = None,
) -> RegistryEvent:
    """Approves or rejects a pending event; supervising office only. An approved event takes effect at
    once when its effective date has come, else on that date (the daily job); a change or closing whose
    effective date precedes the approval is refused (409): it may not take effect before approval."""
    actor.require(*APPROVING_ROLES)
    event = session.get(RegistryEvent, event_id)
    if event is None:
        raise NotFound(f"备案事件 {event_id} 不存在")
    registration = get(session=session, registration_id=event.registration_id, principal=actor)
    if event.status != EventStatus.pending:
        raise Conflict("该事件已审批")
    if not approve and not note:
        raise Invalid("驳回时请填写审批意见")
    now = clock.now()
    today = now.astimezone(tz).date()
    decided = decided_on or today
    if decided > today:
        raise Invalid("批准日期不能晚于今天")
    if event.filed_on is not None and decided < event.filed_on:
        raise Invalid("批准日期不能早于报备日期")
    if approve and event.kind in ADVANCE_KINDS and event.effective_on < decided:
        raise Conflict(
            f"{KIND_LABELS[event.kind]}的生效日期（{event.effective_on}）早于批准日期（{decided}）："
            "须批准后方可实施，请驳回并要求重新报备"
        )
    before = _audit_view(registration)
    event.status = (EventStatus.approved if approve else EventStatus.rejected).value
    event.decided_by, event.decided_at, event.decided_on, event.decision_note = actor.name, now, decided, note
    session.add(event)
    if approve and (event.kind == LifecycleKind.opened or event.effective_on <= today):
        _apply(session, actor, registration, event, now)
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


def apply_due_events(*, session: Session, today: date) -> int:
    """Applies the approved events whose effective date has come (the daily job); returns how many."""
    due = list(
        session.exec(
            select(RegistryEvent)
            .where(
                col(RegistryEvent.status) == EventStatus.approved,
                col(RegistryEvent.applied_at).is_(None),
                col(RegistryEvent.effective_on) <= today,
            )
            .order_by(col(RegistryEvent.effective_on), col(RegistryEvent.id))
        )
    )
    now = clock.now()
    for event in due:
        registration = session.get(Registration, event.registration_id)
        assert registration is not None
        before = _audit_view(registration)
        _apply(session, None, registration, event, now)
        record(
            session=session,
            actor=None,
            action="registry.event_effective",
            entity_type="registration",
            entity_id=registration.id,
            unit_code=registration.unit_code,
            before=before,
            after={**_audit_view(registration), "event_id": event.id, "kind": event.kind},
            at=now,
        )
    session.commit()
    return len(due)


def _apply(
    session: Session, actor: Principal | None, registration: Registration, event: RegistryEvent, now: datetime
) -> None:
    kind = LifecycleKind(event.kind)
    if kind == LifecycleKind.opened:
        registration.status = RegistrationStatus.active.value
        registration.opened_on = event.effective_on
    elif kind == LifecycleKind.changed:
        for key, value in (event.changes or {}).items():
            if key == "unit_code" and value != registration.unit_code:
                _move_account(session, actor, registration, str(value), now)
            setattr(registration, key, value)
    elif kind == LifecycleKind.closed:
        registration.status = RegistrationStatus.closed.value
        registration.closed_on = event.effective_on
    else:
        registration.status = RegistrationStatus.cancelled.value
        registration.cancelled_on = event.effective_on
    event.applied_at = now
    registration.updated_at = now
    session.add(registration)
    session.add(event)


def _move_account(
    session: Session, actor: Principal | None, registration: Registration, unit_code: str, now: datetime
) -> None:
    """A change of owner unit (主体单位变更) moves the linked service account with the registration."""
    if registration.account_id is None:
        return
    account = session.get(Account, registration.account_id)
    if account is None or account.unit_code == unit_code:
        return
    before = account.unit_code
    account.unit_code, account.updated_at = unit_code, now
    session.add(account)
    record(
        session=session,
        actor=actor,
        action="account.owner_change",
        entity_type="account",
        entity_id=account.id,
        unit_code=unit_code,
        before={"unit_code": before},
        after={"unit_code": unit_code, "registration_id": registration.id},
        note="备案变更：主体单位变更",
        at=now,
    )
    accounts.forget_cached()


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


def event_flags(event: RegistryEvent, *, calendar: WorkCalendar, tz: ZoneInfo) -> list[Flag]:
    """A change, closing or cancellation against its filing deadlines, in working days: filed within 3
    working days of taking effect, and a change or closing filed at least 7 working days ahead."""
    label = KIND_LABELS.get(event.kind, event.kind)
    filed = event.filed_on or event.submitted_at.astimezone(tz).date()
    out: list[Flag] = []
    late = working_days_after(event.effective_on, filed, calendar=calendar)
    if late > REGISTER_WITHIN_WORKING_DAYS:
        out.append(
            Flag(
                code="late_filing",
                message=f"{label}生效后第{late}个工作日才报备（应在{REGISTER_WITHIN_WORKING_DAYS}个工作日内）",
            )
        )
    if event.kind in ADVANCE_KINDS:
        ahead = working_days_after(filed, event.effective_on, calendar=calendar)
        if ahead < CLOSE_NOTICE_WORKING_DAYS:
            out.append(
                Flag(
                    code="short_notice",
                    message=f"{label}仅提前{ahead}个工作日报备（应至少提前{CLOSE_NOTICE_WORKING_DAYS}个工作日，"
                    "批准后方可实施）",
                )
            )
    return out


def flags(
    *,
    session: Session,
    registrations: Sequence[Registration],
    calendar: WorkCalendar,
    tz: ZoneInfo | None = None,
) -> dict[int, list[Flag]]:
    """The registry's flags for each registration id (an empty list when nothing is wrong)."""
    tz = tz or get_settings().tz
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
    events = session.exec(
        select(RegistryEvent)
        .where(
            col(RegistryEvent.registration_id).in_(ids),
            col(RegistryEvent.kind) != LifecycleKind.opened,
            col(RegistryEvent.status) != EventStatus.rejected,
        )
        .order_by(col(RegistryEvent.id))
    )
    for event in events:
        result[event.registration_id].extend(event_flags(event, calendar=calendar, tz=tz))
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
        select(AccountCheck).where(
            col(AccountCheck.account_id).in_(by_account),
            col(AccountCheck.zombie) | col(AccountCheck.unresponsive),
        )
    )
    for check in checks:
        flags = result[by_account[check.account_id]]
        if check.zombie:
            flags.append(Flag(code="zombie", message=check.reasons[0] if check.reasons else "长期未更新"))
        if check.unresponsive:
            flags.append(
                Flag(
                    code="unresponsive",
                    message=f"{check.overdue_unanswered}条留言超期未答复（互动回应不及时）",
                )
            )


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


def unregistered(*, session: Session, principal: Principal) -> list[UnregisteredAccount]:
    """Active service accounts the principal may see that have no approved (active) registration,
    those taking the most messages first."""
    registered = select(Registration.account_id).where(
        col(Registration.account_id).is_not(None), Registration.status == RegistrationStatus.active
    )
    query = (
        select(Account, Unit)
        .join(Unit, col(Unit.code) == col(Account.unit_code))
        .where(col(Account.active).is_(True), col(Account.id).not_in(registered))
    )
    if principal.units is not None:
        query = query.where(col(Account.unit_code).in_(principal.units))
    rows = list(session.exec(query))
    ids = [account.id for account, _ in rows if account.id is not None]
    if not ids:
        return []
    counts = {
        account_id: (int(n), last)
        for account_id, n, last in session.exec(
            select(Message.account_id, func.count(), func.max(Message.received_at))
            .where(col(Message.account_id).in_(ids))
            .group_by(col(Message.account_id))
        )
    }
    pending = {
        r.account_id: r
        for r in session.exec(
            select(Registration).where(
                col(Registration.account_id).in_(ids), Registration.status == RegistrationStatus.pending
            )
        )
    }
    out: list[UnregisteredAccount] = []
    for account, unit in rows:
        assert account.id is not None
        n, last = counts.get(account.id, (0, None))
        filed = pending.get(account.id)
        out.append(
            UnregisteredAccount(
                account_id=account.id,
                account_name=account.name,
                platform=account.platform,
                platform_label=PLATFORM_LABELS.get(account.platform, account.platform),
                unit_code=account.unit_code,
                unit_name=unit.name,
                registration_id=filed.id if filed else None,
                registration_status=filed.status if filed else None,
                messages_received=n,
                last_message_at=last,
            )
        )
    out.sort(key=lambda row: (-row.messages_received, row.account_id))
    return out
