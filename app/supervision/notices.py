"""Supervision notices through the units' notification channels (WeCom / DingTalk / webhook, as the SLA
notices): recorded once per dedupe key, then sent with retries and backoff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlmodel import Session, col, select

from app.audit.service import record
from app.auth import Principal
from app.notifications import channels
from app.notifications.models import NotificationChannel
from app.notifications.robots import Notification, backoff, send
from app.sla.escalation import load_settings
from app.supervision.models import NoticeState, SupervisionNotice
from app.units.models import Unit

MAX_ATTEMPTS = 8


def supervising_units(*, session: Session) -> list[str]:
    """Who hears about hot topics: the SLA settings' supervising unit for sensitive messages if set,
    else every unit that supervises others and has no supervisor itself."""
    configured = load_settings(session=session).sensitive_unit_code
    if configured:
        return [configured]
    rows = list(session.exec(select(Unit.code, Unit.supervisor_code)))
    supervisors = {s for _, s in rows if s}
    top = {code for code, s in rows if code in supervisors and not s}
    return sorted(top or supervisors)


def queue(
    *,
    session: Session,
    dedupe_key: str,
    kind: str,
    unit_code: str,
    title: str,
    text: str,
    now: datetime,
    target: str = "unit",
    urgent: bool = False,
) -> SupervisionNotice | None:
    """Records a notice unless one with the same key exists; returns the new notice or None."""
    exists = session.exec(
        select(SupervisionNotice.id).where(SupervisionNotice.dedupe_key == dedupe_key)
    ).first()
    if exists is not None:
        return None
    notice = SupervisionNotice(
        dedupe_key=dedupe_key[:200],
        kind=kind,
        unit_code=unit_code,
        target=target,
        title=title[:200],
        text=text,
        urgent=urgent,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(notice)
    session.flush()
    record(
        session=session,
        actor=None,
        action=f"supervision.notice.{kind}",
        entity_type="supervision_notice",
        entity_id=notice.id,
        unit_code=unit_code,
        after={"title": notice.title, "target": target},
        at=now,
    )
    return notice


def fan_out(
    targets: Sequence[NotificationChannel],
    note: Notification,
    deliveries: dict[str, Any],
    *,
    now: datetime,
    client: httpx.Client | None = None,
) -> tuple[dict[str, Any], list[str], bool]:
    """Sends `note` to each channel not yet in `deliveries`; returns the updated deliveries, the errors
    and whether a retry can help."""
    done = dict(deliveries)
    errors: list[str] = []
    retry = False
    for channel in targets:
        if str(channel.id) in done:
            continue
        result = send(channels.config_of(channel), note, client=client, now=now)
        if result.ok:
            done[str(channel.id)] = now.isoformat()
        else:
            errors.append(f"{channel.name}：{result.detail}")
            retry = retry or result.retryable
    return done, errors, retry


def send_pending(*, session: Session, now: datetime, client: httpx.Client | None = None) -> int:
    """Sends the notices that are due; returns how many were fully delivered."""
    due = session.exec(
        select(SupervisionNotice)
        .where(SupervisionNotice.state == NoticeState.pending, col(SupervisionNotice.next_attempt_at) <= now)
        .order_by(col(SupervisionNotice.id))
    )
    delivered = 0
    for notice in due:
        targets = channels.for_target(session, notice.unit_code, notice.target)
        if not targets:
            notice.state, notice.detail = NoticeState.skipped.value, "该单位未配置通知渠道"
            session.add(notice)
            continue
        note = Notification(
            title=notice.title, text=notice.text, urgent=notice.urgent, dedupe_key=f"supervision-{notice.id}"
        )
        notice.deliveries, errors, retry = fan_out(targets, note, notice.deliveries, now=now, client=client)
        notice.attempts += 1
        if not errors:
            notice.state, notice.sent_at, notice.detail = NoticeState.sent.value, now, None
            delivered += 1
        elif retry and notice.attempts < MAX_ATTEMPTS:
            notice.next_attempt_at = now + backoff(notice.attempts)
            notice.detail = "；".join(errors)[:500]
        else:
            notice.state, notice.detail = NoticeState.failed.value, "；".join(errors)[:500]
        session.add(notice)
    session.commit()
    return delivered


def list_notices(
    *, session: Session, principal: Principal, kind: str | None = None, limit: int = 100
) -> list[SupervisionNotice]:
    """The notices to the principal's units (all for the supervising office), newest first."""
    query = select(SupervisionNotice).order_by(col(SupervisionNotice.id).desc()).limit(limit)
    if principal.units is not None:
        query = query.where(col(SupervisionNotice.unit_code).in_(principal.units))
    if kind:
        query = query.where(SupervisionNotice.kind == kind)
    return list(session.exec(query))
