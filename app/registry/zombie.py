"""Zombie-account check (僵尸账号) per the national indicator: an active account not updated for two weeks
(setting) is a zombie, warned before and tracked to rectification; unanswered overdue messages are the
separate `unresponsive` flag. Post times come from the connectors' post lists or the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.config import Settings, get_settings
from app.db import session_scope
from app.errors import Invalid
from app.messages.models import OPEN_STATUSES, Message
from app.registry.models import (
    AccountCheck,
    AccountCheckPublic,
    CheckSummary,
    Registration,
    RegistrationStatus,
)
from app.units.models import Unit
from app.users.models import Role

POST_ROLES = (Role.admin, Role.supervisor, Role.leader, Role.reviewer, Role.operator)


class WarnFn(Protocol):
    def __call__(
        self,
        *,
        session: Session,
        dedupe_key: str,
        kind: str,
        unit_code: str,
        title: str,
        text: str,
        now: datetime,
    ) -> object: ...


class TrackFn(Protocol):
    def __call__(
        self,
        *,
        session: Session,
        account: Account,
        zombie: bool,
        finding: str,
        now: datetime,
        tz: ZoneInfo,
        rectify_days: int,
    ) -> str | None: ...


@dataclass(frozen=True)
class ZombieFollowUp:
    """What supervision does with the check's findings: `warn` queues the unit's early warning once per
    key; `track` moves the account's rectification (整改) on and says what happened (notified, rectified,
    escalated or None). Supervision reads the registry, so it lends these at start-up (`app/wiring.py`)
    instead of the registry importing it. Neither commits."""

    warn: WarnFn
    track: TrackFn


_follow_up: ZombieFollowUp | None = None


def install(follow_up: ZombieFollowUp) -> None:
    """Sets what the check does with its findings (once, at start-up; idempotent)."""
    global _follow_up
    _follow_up = follow_up


def _installed() -> ZombieFollowUp:
    if _follow_up is None:
        raise RuntimeError("zombie follow-up not installed: call app.wiring.install() at start-up")
    return _follow_up


def record_post(*, session: Session, actor: Principal, account_id: int, posted_at: datetime) -> Account:
    """Notes that the account published something at `posted_at`; `last_post_at` only moves forward."""
    if actor.user_id is not None:
        actor.require(*POST_ROLES)
    if posted_at.tzinfo is None:
        raise Invalid("posted_at 必须带时区，例如 2026-03-01T10:00:00+08:00")
    posted_at = posted_at.astimezone(UTC)
    if posted_at > clock.now() + timedelta(minutes=5):
        raise Invalid("发布时间不能晚于当前时间")
    account = accounts.get(session=session, account_id=account_id, principal=actor)
    if account.last_post_at is None or posted_at > account.last_post_at:
        before = account.last_post_at
        account.last_post_at = posted_at
        session.add(account)
        record(
            session=session,
            actor=actor,
            action="account.post",
            entity_type="account",
            entity_id=account_id,
            unit_code=account.unit_code,
            before={"last_post_at": before.isoformat() if before else None},
            after={"last_post_at": posted_at.isoformat()},
        )
        session.commit()
    return account


def _overdue_by_account(session: Session, now: datetime) -> dict[int, int]:
    rows = session.exec(
        select(Message.account_id, func.count())
        .where(
            col(Message.first_replied_at).is_(None),
            col(Message.status).in_([s.value for s in OPEN_STATUSES]),
            col(Message.due_at) < now,
        )
        .group_by(col(Message.account_id))
    )
    return {int(account_id): int(n) for account_id, n in rows}


def check_accounts(
    *, session: Session, now: datetime, tz: ZoneInfo, settings: Settings | None = None
) -> CheckSummary:
    """Checks every active account and stores the result (one row per account); idempotent.

    `zombie` is "not updated" only: more than `zombie_days` calendar days since the last post (the
    national indicator's two weeks by default). After `zombie_warning_days` the unit gets one early
    warning; a new zombie gets a notice and a rectification (整改) record, rectified when a post appears,
    escalated to the supervising office after `zombie_rectify_days`. Messages unanswered past their
    deadline are the separate flag `unresponsive`."""
    settings = settings or get_settings()
    follow_up = _installed()
    limit, warn_after = settings.zombie_days, min(settings.zombie_warning_days, settings.zombie_days - 1)
    registrations: dict[int, Registration] = {}
    for r in session.exec(
        select(Registration).where(col(Registration.account_id).is_not(None)).order_by(col(Registration.id))
    ):
        assert r.account_id is not None
        held = registrations.get(r.account_id)
        # A live registration wins over an earlier closed one of the same account.
        if held is None or held.status not in (RegistrationStatus.pending, RegistrationStatus.active):
            registrations[r.account_id] = r
    overdue = _overdue_by_account(session, now)
    previous = {c.account_id: c for c in session.exec(select(AccountCheck))}
    summary = CheckSummary(checked=0, zombies=0, newly_flagged=0, cleared=0)
    seen: set[int] = set()
    names = dict(session.exec(select(Unit.code, Unit.name)).all())
    for account in session.exec(select(Account).order_by(col(Account.id))):
        assert account.id is not None
        registration = registrations.get(account.id)
        if not account.active or (
            registration is not None
            and registration.status in (RegistrationStatus.closed, RegistrationStatus.cancelled)
        ):
            continue
        seen.add(account.id)
        reasons: list[str] = []
        if account.last_post_at is not None:
            since = account.last_post_at
            days = (now.astimezone(tz).date() - since.astimezone(tz).date()).days
        else:
            # Never seen a post: count from the opening date (registry) or from when it was added here.
            since = account.created_at
            if registration is not None:
                since = min(
                    since, datetime.combine(registration.opened_on, time(0), tzinfo=tz).astimezone(UTC)
                )
            days = None
        no_post = now - since > timedelta(days=limit)
        warning = not no_post and now - since > timedelta(days=warn_after)
        if no_post:
            reasons.append(
                f"{days}天未更新（超过{limit}天）" if days is not None else f"开设{limit}天以上未见更新"
            )
        unanswered = overdue.get(account.id, 0)
        if unanswered:
            reasons.append(f"{unanswered}条留言超期未答复")
        zombie = no_post
        check = previous.get(account.id)
        was = check is not None and check.zombie
        was_warned = check is not None and check.warning
        if check is None:
            check = AccountCheck(account_id=account.id, checked_at=now, checked_on=now.astimezone(tz).date())
        check.checked_at, check.checked_on = now, now.astimezone(tz).date()
        check.zombie, check.no_post, check.days_since_post = zombie, no_post, days
        check.warning, check.unresponsive = warning, unanswered > 0
        check.last_post_at, check.overdue_unanswered, check.reasons = (
            account.last_post_at,
            unanswered,
            reasons,
        )
        check.flagged_since = (check.flagged_since or now) if zombie else None
        session.add(check)
        summary.checked += 1
        summary.zombies += int(zombie)
        summary.warnings += int(warning)
        summary.unresponsive += int(unanswered > 0)
        label = f"{names.get(account.unit_code, account.unit_code)}的账号「{account.name}」"
        if warning and not was_warned:
            follow_up.warn(
                session=session,
                dedupe_key=f"zombie-warning:{account.id}:{since.isoformat()}",
                kind="zombie_warning",
                unit_code=account.unit_code,
                title=f"账号更新预警：{account.name}",
                text=f"{label}已{(now - since).days}天未更新；超过{limit}天未更新即为僵尸账号（单项否决），请及时更新。",
                now=now,
            )
        if zombie != was:
            summary.newly_flagged += int(zombie)
            summary.cleared += int(not zombie)
            record(
                session=session,
                actor=None,
                action="account.zombie_flag" if zombie else "account.zombie_clear",
                entity_type="account",
                entity_id=account.id,
                unit_code=account.unit_code,
                after={"reasons": reasons},
                at=now,
            )
        moved = follow_up.track(
            session=session,
            account=account,
            zombie=zombie,
            finding=f"{label}{reasons[0]}" if zombie else "",
            now=now,
            tz=tz,
            rectify_days=settings.zombie_rectify_days,
        )
        summary.rectified += int(moved == "rectified")
        summary.escalated += int(moved == "escalated")
    for account_id, check in previous.items():
        if account_id not in seen:
            # Closed or deactivated since the last check: no longer watched.
            session.delete(check)
    session.commit()
    return summary


def run_daily(*, tz: ZoneInfo, now: datetime | None = None, force: bool = False) -> CheckSummary:
    """The scheduler's entry: checks once per local day (hourly polling, so a restart cannot skip a day)."""
    now = now or clock.now()
    with session_scope() as session:
        last = session.exec(select(func.max(AccountCheck.checked_on))).one()
        if not force and last is not None and last >= now.astimezone(tz).date():
            return CheckSummary(checked=0, zombies=0, newly_flagged=0, cleared=0, skipped=True)
        return check_accounts(session=session, now=now, tz=tz)


def list_checks(
    *, session: Session, principal: Principal, zombies_only: bool = True
) -> list[AccountCheckPublic]:
    """The latest check of each account the principal may see, zombies first, longest-flagged first."""
    query = (
        select(AccountCheck, Account, Unit)
        .join(Account, col(Account.id) == col(AccountCheck.account_id))
        .join(Unit, col(Unit.code) == col(Account.unit_code))
    )
    if zombies_only:
        query = query.where(col(AccountCheck.zombie) | col(AccountCheck.unresponsive))
    if principal.units is not None:
        query = query.where(col(Account.unit_code).in_(principal.units))
    rows = list(session.exec(query))
    far_future = datetime.max.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (not r[0].zombie, r[0].flagged_since or far_future, r[0].account_id))
    return [
        AccountCheckPublic(
            account_id=check.account_id,
            account_name=account.name,
            platform=account.platform,
            unit_code=account.unit_code,
            unit_name=unit.name,
            checked_at=check.checked_at,
            zombie=check.zombie,
            no_post=check.no_post,
            warning=check.warning,
            unresponsive=check.unresponsive,
            days_since_post=check.days_since_post,
            last_post_at=check.last_post_at,
            overdue_unanswered=check.overdue_unanswered,
            reasons=list(check.reasons),
            flagged_since=check.flagged_since,
        )
        for check, account, unit in rows
    ]
