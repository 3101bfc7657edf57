"""The notification job: claims due notification records, sends each to its unit's channels, and
records the outcome — retried with backoff, never re-sent to a channel that already accepted it.

A claim pushes `next_attempt_at` forward by a lease and counts the attempt, in its own short
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so two senders never hold the same record and no
database transaction is open during the HTTP calls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

import httpx
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from app import clock, outbound
from app.audit.service import record
from app.auth import Principal
from app.calendar.service import load_calendar
from app.calendar.workdays import next_working_time
from app.config import get_settings
from app.db import get_engine, is_postgres
from app.errors import Conflict, NotFound
from app.notifications import channels
from app.notifications.models import CONTENT_ALERT_STEPS, NotificationState, SlaNotification
from app.notifications.robots import DEFAULT_TIMEOUT, ChannelConfig, Notification, SendResult, backoff, send
from app.users.models import Role

log = logging.getLogger(__name__)

# Longer than the worst case of one claim: CLAIM_BATCH records x a few channels x the HTTP timeout.
LEASE = timedelta(minutes=5)
CLAIM_BATCH = 5


@dataclass(frozen=True)
class DeliveryRules:
    """How records are sent: the most attempts, the working hours a routine notice's retry waits for, and
    `settled(session, message_id)`: whether the message a notice is about is answered or closed (then a
    routine notice is cancelled; an alert about what the message says is still sent)."""

    max_attempts: int
    work_start: time
    work_end: time
    settled: Callable[[Session, int], bool]


class RulesSource(Protocol):
    """Reads the rules in force from a session (the SLA settings own them)."""

    def __call__(self, *, session: Session) -> DeliveryRules: ...


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0


def send_pending(
    *,
    rules: RulesSource,
    now: datetime | None = None,
    engine: Engine | None = None,
    client: httpx.Client | None = None,
    max_batches: int = 200,
) -> DeliveryResult:
    """Sends every notification whose time has come; returns the counts. `rules(session=…)` gives the
    attempts allowed, the working hours and whether a message is settled (the SLA settings:
    `app.sla.escalation.delivery_rules`)."""
    now = now or clock.now()
    engine = engine or get_engine()
    result = DeliveryResult()
    own = client is None
    http = client or outbound.client(timeout=DEFAULT_TIMEOUT)
    try:
        for _ in range(max_batches):
            claimed = _claim(engine, now)
            if not claimed:
                break
            result.claimed += len(claimed)
            for record_id, token in claimed:
                _deliver(engine, record_id, token, now, http, rules, result)
    finally:
        if own:
            http.close()
    return result


def _claim(engine: Engine, now: datetime) -> list[tuple[int, int]]:
    """Leases up to CLAIM_BATCH due records; returns (id, attempt number) pairs."""
    with Session(engine, expire_on_commit=False) as session:
        query = (
            select(SlaNotification.id, SlaNotification.attempts)
            .where(
                SlaNotification.state == NotificationState.pending,
                col(SlaNotification.next_attempt_at) <= now,
            )
            .order_by(col(SlaNotification.next_attempt_at), col(SlaNotification.id))
            .limit(CLAIM_BATCH)
        )
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        rows = [(int(i), int(a)) for i, a in session.execute(query) if i is not None]
        if rows:
            session.execute(
                update(SlaNotification)
                .where(col(SlaNotification.id).in_([i for i, _ in rows]))
                .values(attempts=SlaNotification.attempts + 1, next_attempt_at=now + LEASE, updated_at=now)
            )
        session.commit()
    return [(i, a + 1) for i, a in rows]


@dataclass(frozen=True)
class _Plan:
    note: Notification
    targets: list[tuple[str, str, ChannelConfig]]  # (channel id, channel name, config)
    rules: DeliveryRules
    routine: bool


def _deliver(
    engine: Engine,
    record_id: int,
    token: int,
    now: datetime,
    client: httpx.Client,
    rules: RulesSource,
    result: DeliveryResult,
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        plan = _prepare(session, record_id, token, now, rules, result)
        # End the read transaction before any HTTP call (SQLite would otherwise hold its write lock).
        session.commit()
    if plan is None:
        return
    outcomes = [
        (cid, name, send(config, plan.note, client=client, now=now)) for cid, name, config in plan.targets
    ]
    with Session(engine, expire_on_commit=False) as session:
        _settle(session, record_id, token, now, plan, outcomes, result)
        session.commit()


def _prepare(
    session: Session, record_id: int, token: int, now: datetime, rules: RulesSource, result: DeliveryResult
) -> _Plan | None:
    item = session.get(SlaNotification, record_id)
    if item is None or item.state != NotificationState.pending or item.attempts != token:
        return None  # cancelled meanwhile, or another sender's lease
    in_force = rules(session=session)
    if item.step not in CONTENT_ALERT_STEPS and in_force.settled(session, item.message_id):
        _close(session, item, NotificationState.cancelled, "留言已答复或已办结，不再提醒", now)
        result.cancelled += 1
        return None
    found = channels.for_target(session, item.unit_code, item.target) if item.unit_code else []
    if not found:
        reason = f"单位 {item.unit_code} 未配置可用的通知渠道" if item.unit_code else "没有可通知的单位"
        _close(session, item, NotificationState.skipped, reason, now)
        result.skipped += 1
        return None
    targets = [(str(c.id), c.name, channels.config_of(c)) for c in found if str(c.id) not in item.deliveries]
    note = Notification(
        title=item.title,
        text=item.text,
        urgent=item.urgent,
        dedupe_key=f"huiying:{item.message_id}:{item.step}",
    )
    return _Plan(note, targets, in_force, item.working_hours_only)


def _settle(
    session: Session,
    record_id: int,
    token: int,
    now: datetime,
    plan: _Plan,
    outcomes: list[tuple[str, str, SendResult]],
    result: DeliveryResult,
) -> None:
    query = select(SlaNotification).where(SlaNotification.id == record_id)
    if is_postgres(session):
        query = query.with_for_update()
    item = session.exec(query).first()
    if item is None or item.attempts != token:
        log.warning("notification %s: lease lost while sending", record_id)
        return
    deliveries = dict(item.deliveries)
    errors: list[str] = []
    retryable = False
    for channel_id, name, outcome in outcomes:
        if outcome.ok:
            deliveries[channel_id] = now.isoformat()
        else:
            errors.append(f"{name}：{outcome.detail}")
            retryable = retryable or outcome.retryable
    item.deliveries = deliveries
    if not errors:
        item.sent_at = now
        _close(session, item, NotificationState.sent, None, now)
        result.sent += 1
        return
    item.last_error = "；".join(errors)[:2000]
    if retryable and item.attempts < plan.rules.max_attempts:
        retry_at = now + backoff(item.attempts)
        if plan.routine:
            retry_at = next_working_time(
                retry_at,
                calendar=load_calendar(session=session),
                tz=get_settings().tz,
                start=plan.rules.work_start,
                end=plan.rules.work_end,
            )
        item.next_attempt_at = retry_at
        item.updated_at = now
        session.add(item)
        result.retried += 1
        log.warning(
            "notification %s failed (try %s), retry at %s: %s",
            item.id,
            item.attempts,
            retry_at,
            item.last_error,
        )
        return
    _close(session, item, NotificationState.failed, item.last_error, now)
    result.failed += 1
    log.error("notification %s failed for good after %s tries: %s", item.id, item.attempts, item.last_error)


def _close(
    session: Session, item: SlaNotification, state: NotificationState, error: str | None, now: datetime
) -> None:
    item.state = state
    item.last_error = error
    item.updated_at = now
    session.add(item)
    record(
        session=session,
        actor=None,
        action=f"sla.notification_{state.value}",
        entity_type="sla_notification",
        entity_id=item.id,
        unit_code=item.unit_code,
        after={
            "message_id": item.message_id,
            "step": item.step,
            "state": state.value,
            "attempts": item.attempts,
            "channels": sorted(item.deliveries),
        },
        note=error,
        at=now,
    )


def retry(*, session: Session, actor: Principal, record_id: int) -> SlaNotification:
    """Puts a failed or skipped notification back in the queue, e.g. after a channel was fixed
    (admin or supervisor)."""
    actor.require(Role.admin, Role.supervisor)
    item = session.get(SlaNotification, record_id)
    if item is None:
        raise NotFound(f"通知 {record_id} 不存在")
    if item.state not in (NotificationState.failed, NotificationState.skipped):
        raise Conflict("只有发送失败或已跳过的通知可以重发")
    now = clock.now()
    before = {"state": item.state, "attempts": item.attempts, "last_error": item.last_error}
    item.state, item.attempts, item.next_attempt_at, item.updated_at = NotificationState.pending, 0, now, now
    session.add(item)
    record(
        session=session,
        actor=actor,
        action="sla.notification_retry",
        entity_type="sla_notification",
        entity_id=record_id,
        unit_code=item.unit_code,
        before=before,
        after={"state": item.state},
    )
    session.commit()
    return item
