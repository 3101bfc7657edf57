"""Capability status per account: what the platform lets the account do (scopes, token expiry, reply
windows), checked daily and as soon as the account's secrets change, and the token-expiry alert sent
7 days ahead through the notification channels (WeCom / DingTalk / webhook) of the account's unit."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from datetime import datetime, timedelta

import httpx
from sqlmodel import Session, col, select

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.channels.context import account_context
from app.channels.models import CapabilityItem, CapabilityPublic, ChannelCapability
from app.config import get_settings
from app.db import session_scope
from app.notifications import channels as notice_channels
from app.notifications.robots import Notification, send
from app.users.models import Role
from connectors import registry
from connectors.base import CapabilityReport, ConnectorError

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(days=1)
RETRY_AFTER = timedelta(hours=1)  # the platform could not be asked: try again sooner than tomorrow
ALERT_AHEAD = timedelta(days=7)
SAME_EXPIRY = timedelta(hours=12)
JOB_SECONDS = 600.0
CHECK_ROLES = (Role.admin, Role.leader)
MODE_LABELS = {
    "full": "已接通",
    "limited": "部分可用",
    "import_only": "仅导入",
    "needs_credentials": "需重新授权",
    "unknown": "尚未检查",
}


def public(row: ChannelCapability | None) -> CapabilityPublic | None:
    if row is None:
        return None
    return CapabilityPublic(
        mode=row.mode,
        mode_label=MODE_LABELS.get(row.mode, row.mode),
        reason=row.reason,
        scopes=list(row.scopes),
        capabilities=[CapabilityItem.model_validate(c) for c in row.capabilities],
        windows=dict(row.windows),
        token_expires_at=row.token_expires_at,
        refresh_expires_at=row.refresh_expires_at,
        checked_at=row.checked_at,
        next_check_at=row.next_check_at,
        last_error=row.last_error,
    )


def _digest(account: Account) -> str:
    return hashlib.sha256((account.secrets_encrypted or "").encode()).hexdigest()[:32]


def check_account(
    *, session: Session, account: Account, now: datetime, http: httpx.Client | None = None
) -> ChannelCapability:
    """Asks the platform now and stores the answer; sends the expiry alert when it is due. A platform
    that could not be asked keeps the previous answer, with the error, and is tried again in an hour."""
    assert account.id is not None
    row = session.get(ChannelCapability, account.id) or ChannelCapability(
        account_id=account.id, updated_at=now
    )
    check = registry.get(account.platform).check
    before = row.mode
    if check is None:
        row.mode, row.reason = "unknown", "该平台没有能力检查"
        row.next_check_at = now + CHECK_EVERY
    else:
        ctx = account_context(session=session, account=account, http=http)
        session.commit()  # no transaction held across the platform call
        try:
            report = check(ctx, now=now)
        except ConnectorError as exc:
            row.last_error = exc.message
            row.next_check_at = now + RETRY_AFTER
        else:
            _apply(row, report)
            row.last_error = None
            row.checked_at = now
            row.next_check_at = now + CHECK_EVERY
    row.secrets_digest = _digest(account)
    row.updated_at = now
    session.add(row)
    if row.mode != before:
        record(
            session=session,
            actor=None,
            action="channel.capability_changed",
            entity_type="account",
            entity_id=account.id,
            unit_code=account.unit_code,
            before={"mode": before},
            after={"mode": row.mode, "reason": row.reason},
            at=now,
        )
    _alert_expiry(session=session, account=account, row=row, now=now, http=http)
    session.commit()
    return row


def _apply(row: ChannelCapability, report: CapabilityReport) -> None:
    row.mode = report.mode
    row.reason = report.reason
    row.scopes = list(report.scopes)
    row.capabilities = [asdict(c) for c in report.capabilities]
    row.windows = dict(report.windows)
    row.token_expires_at = report.token_expires_at
    row.refresh_expires_at = report.refresh_expires_at


def _alert_expiry(
    *, session: Session, account: Account, row: ChannelCapability, now: datetime, http: httpx.Client | None
) -> None:
    expiry = row.refresh_expires_at or row.token_expires_at
    if account.platform == "wechat" or expiry is None or expiry - now > ALERT_AHEAD:
        return
    # Platforms give the time left, not the instant: the same expiry read a day later may differ by
    # a few seconds. A renewed or re-authorised token's expiry is days away from the announced one.
    if row.expiry_alerted_for is not None and abs(row.expiry_alerted_for - expiry) < SAME_EXPIRY:
        return
    days = max(0, (expiry - now).days)
    note = Notification(
        title=f"平台授权即将到期：{account.name}",
        text=(
            f"账号 **{account.name}**（{account.platform}，ID {account.id}）的平台授权将于 "
            f"{expiry.astimezone(get_settings().tz):%Y-%m-%d %H:%M} 到期"
            f"（约 {days} 天后）。到期后将无法接收和发送该账号的消息，请管理员在到期前重新授权并更新账号密钥。"
        ),
        urgent=days <= 1,
        dedupe_key=f"huiying:token-expiry:{account.id}:{int(expiry.timestamp())}",
    )
    targets = notice_channels.for_target(session, account.unit_code, "unit")
    delivered = False
    for channel in targets:
        result = send(notice_channels.config_of(channel), note, client=http, now=now)
        delivered = delivered or result.ok
        if not result.ok:
            log.warning(
                "token expiry notice for account %s via channel %s: %s", account.id, channel.id, result.detail
            )
    if delivered:
        row.expiry_alerted_for = expiry
        record(
            session=session,
            actor=None,
            action="channel.token_expiry_alerted",
            entity_type="account",
            entity_id=account.id,
            unit_code=account.unit_code,
            after={"expires_at": expiry.isoformat(), "channels": [c.id for c in targets]},
            at=now,
        )


def due_accounts(*, session: Session, now: datetime, limit: int = 50) -> list[Account]:
    """Active accounts never checked, due again, or whose secrets changed since the last check."""
    rows = {r.account_id: r for r in session.exec(select(ChannelCapability))}
    accounts = session.exec(select(Account).where(col(Account.active).is_(True)).order_by(col(Account.id)))
    due = []
    for account in accounts:
        row = rows.get(account.id or 0)
        if (
            row is None
            or row.next_check_at is None
            or row.next_check_at <= now
            or row.secrets_digest != _digest(account)
        ):
            due.append(account)
        if len(due) >= limit:
            break
    return due


def run_due(*, now: datetime | None = None, http: httpx.Client | None = None) -> int:
    """The scheduler's entry: checks the accounts that are due; returns how many were checked."""
    now = now or clock.now()
    with session_scope() as session:
        ids = [a.id for a in due_accounts(session=session, now=now)]
    for account_id in ids:
        with session_scope() as session:
            account = session.get(Account, account_id)
            if account is not None:
                check_account(session=session, account=account, now=now, http=http)
    return len(ids)


def check_now(
    *, session: Session, actor: Principal, account_id: int, http: httpx.Client | None = None
) -> ChannelCapability:
    """Checks one account at once (after configuring it); 404 outside the actor's units."""
    actor.require(*CHECK_ROLES)
    account = accounts.get(session=session, account_id=account_id, principal=actor)
    return check_account(session=session, account=account, now=clock.now(), http=http)
