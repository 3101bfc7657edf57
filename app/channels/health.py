"""The per-account health record: when polling last worked, the last error, consecutive failures, the
backoff that follows, and when the platform last pushed something."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Account
from app.accounts.service import list_accounts
from app.auth import Principal
from app.channels import capabilities
from app.channels.models import (
    ChannelCapability,
    ChannelHealth,
    HealthPublic,
    HealthState,
    PollTarget,
    PollTargetPublic,
)
from connectors.base import ConnectorError, RateLimited, TokenExpired, backoff

MAX_BACKOFF_SECONDS = 3600.0
# Credentials only a person can renew: look again now and then, not on every run.
NEEDS_PERSON_SECONDS = 3600.0
PUSH_TOUCH_EVERY = timedelta(minutes=1)

_last_touch: dict[int, datetime] = {}
_touch_guard = threading.Lock()


def ensure(*, session: Session, account_id: int, now: datetime) -> ChannelHealth:
    """The account's health row, created when missing (in the caller's transaction)."""
    health = session.get(ChannelHealth, account_id)
    if health is None:
        health = ChannelHealth(account_id=account_id, next_poll_at=now, updated_at=now)
        session.add(health)
        session.flush()
    return health


def touch_push(*, session: Session, account_id: int, now: datetime) -> bool:
    """Notes that the platform pushed to the account, at most once a minute per process (a push is a
    hot path; the minute is precise enough for "is this channel alive"). Commits when it writes."""
    with _touch_guard:
        last = _last_touch.get(account_id)
        if last is not None and last <= now < last + PUSH_TOUCH_EVERY:
            return False
        _last_touch[account_id] = now
    table = ChannelHealth.__table__  # type: ignore[attr-defined]
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
    session.execute(
        insert.values(
            account_id=account_id, last_push_at=now, updated_at=now, **_defaults()
        ).on_conflict_do_update(index_elements=["account_id"], set_={"last_push_at": now, "updated_at": now})
    )
    session.commit()
    return True


def _defaults() -> dict[str, object]:
    fields = ChannelHealth.model_fields
    names = ("polling_enabled", "poll_interval_seconds", "consecutive_failures", "needs_attention")
    return {name: fields[name].default for name in names}


def forget_touches() -> None:
    """Forgets the push throttle (tests)."""
    with _touch_guard:
        _last_touch.clear()


def record_success(*, health: ChannelHealth, now: datetime, last_item_at: datetime | None) -> None:
    health.last_poll_at = now
    health.last_success_at = now
    health.consecutive_failures = 0
    health.rate_limited_until = None
    health.needs_attention = False
    if last_item_at is not None and (health.last_item_at is None or last_item_at > health.last_item_at):
        health.last_item_at = last_item_at
    health.next_poll_at = now + timedelta(seconds=health.poll_interval_seconds)
    health.updated_at = now


def record_failure(*, health: ChannelHealth, error: Exception, now: datetime) -> float:
    """Records the error and schedules the next try with backoff; returns the delay in seconds."""
    health.last_poll_at = now
    health.consecutive_failures += 1
    health.last_error_at = now
    if isinstance(error, ConnectorError):
        health.last_error = error.message
        health.last_error_code = error.code
    else:
        health.last_error = f"内部错误：{type(error).__name__}: {error}"[:2000]
        health.last_error_code = "internal"
    retry_after = error.retry_after if isinstance(error, RateLimited) else None
    delay = backoff(
        health.consecutive_failures,
        base=float(health.poll_interval_seconds),
        cap=MAX_BACKOFF_SECONDS,
        retry_after=retry_after,
    )
    if isinstance(error, TokenExpired):
        health.needs_attention = True
        delay = max(delay, NEEDS_PERSON_SECONDS)
    health.rate_limited_until = now + timedelta(seconds=retry_after) if retry_after else None
    health.next_poll_at = now + timedelta(seconds=delay)
    health.updated_at = now
    return delay


def state_of(health: ChannelHealth | None, *, polling: bool, now: datetime) -> HealthState:
    if health is None or not polling or not health.polling_enabled:
        return HealthState.idle
    if health.needs_attention:
        return HealthState.needs_credentials
    if health.rate_limited_until is not None and health.rate_limited_until > now:
        return HealthState.rate_limited
    if health.consecutive_failures:
        return HealthState.failing
    return HealthState.ok


def _state(
    account: Account,
    health: ChannelHealth | None,
    capability: ChannelCapability | None,
    *,
    polling: bool,
    now: datetime,
) -> HealthState:
    """The polling state, unless the last capability check says the account cannot work at all."""
    if not account.active:
        return HealthState.idle
    if capability is not None and capability.mode == "import_only":
        return HealthState.import_only
    if capability is not None and capability.mode == "needs_credentials":
        return HealthState.needs_credentials
    return state_of(health, polling=polling, now=now)


def target_public(target: PollTarget) -> PollTargetPublic:
    assert target.id is not None
    return PollTargetPublic.model_validate(target, from_attributes=True)


def public(
    *,
    account: Account,
    health: ChannelHealth | None,
    targets: list[PollTarget],
    now: datetime,
    capability: ChannelCapability | None = None,
) -> HealthPublic:
    assert account.id is not None
    polling = any(t.active for t in targets)
    lag = None
    if polling and health is not None and health.last_success_at is not None:
        lag = max(0.0, (now - health.last_success_at).total_seconds())
    fallback = ChannelHealth(account_id=account.id, updated_at=now)
    shown = health or fallback
    return HealthPublic(
        account_id=account.id,
        platform=account.platform,
        name=account.name,
        unit_code=account.unit_code,
        active=account.active,
        state=_state(account, health, capability, polling=polling, now=now),
        polling_enabled=shown.polling_enabled,
        poll_interval_seconds=shown.poll_interval_seconds,
        next_poll_at=shown.next_poll_at if polling else None,
        last_poll_at=shown.last_poll_at,
        last_success_at=shown.last_success_at,
        last_error_at=shown.last_error_at,
        last_error=shown.last_error,
        last_error_code=shown.last_error_code,
        consecutive_failures=shown.consecutive_failures,
        rate_limited_until=shown.rate_limited_until,
        lag_seconds=lag,
        last_item_at=shown.last_item_at,
        last_push_at=shown.last_push_at,
        targets=[target_public(t) for t in targets],
        capability=capabilities.public(capability),
    )


def get(*, session: Session, principal: Principal, account_id: int, now: datetime) -> HealthPublic:
    """One account's health; 404 outside the principal's units."""
    account = accounts.get(session=session, account_id=account_id, principal=principal)
    targets = list(
        session.exec(
            select(PollTarget).where(PollTarget.account_id == account_id).order_by(col(PollTarget.id))
        )
    )
    return public(
        account=account,
        health=session.get(ChannelHealth, account_id),
        targets=targets,
        now=now,
        capability=session.get(ChannelCapability, account_id),
    )


def list_all(
    *,
    session: Session,
    principal: Principal,
    now: datetime,
    platform: str | None = None,
    unit_code: str | None = None,
    state: HealthState | None = None,
) -> list[HealthPublic]:
    """The health of every account the principal may see, filtered."""
    accounts = list_accounts(session=session, principal=principal, platform=platform, unit_code=unit_code)
    ids = [a.id for a in accounts]
    healths = {
        h.account_id: h
        for h in session.exec(select(ChannelHealth).where(col(ChannelHealth.account_id).in_(ids)))
    }
    abilities = {
        c.account_id: c
        for c in session.exec(select(ChannelCapability).where(col(ChannelCapability.account_id).in_(ids)))
    }
    targets: dict[int, list[PollTarget]] = {}
    for target in session.exec(
        select(PollTarget).where(col(PollTarget.account_id).in_(ids)).order_by(col(PollTarget.id))
    ):
        targets.setdefault(target.account_id, []).append(target)
    result = []
    for account in accounts:
        assert account.id is not None
        item = public(
            account=account,
            health=healths.get(account.id),
            targets=targets.get(account.id, []),
            now=now,
            capability=abilities.get(account.id),
        )
        if state is None or item.state == state:
            result.append(item)
    return result
