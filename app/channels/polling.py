"""The poller: one scheduler job that polls every account whose next poll is due, target by target,
page by page. Each page's messages, echoes and the cursor after them commit in one transaction, so a
restart resumes exactly after the last committed page: nothing skipped, nothing stored twice.
Errors and rate limits back off through the account's health record (`next_poll_at`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx
from sqlalchemy import exists
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Account
from app.channels import health as health_records
from app.channels.context import account_context
from app.channels.echoes import record_echo
from app.channels.models import ChannelHealth, PollTarget
from app.channels.store import ChannelAccount, insert_batch, message_data, platform_actor
from app.db import is_postgres, session_scope
from app.errors import BadRequest
from app.messages.models import MessageCreate
from connectors import registry
from connectors.base import AccountContext, ConnectorError, InboundItem, PollPage, TokenStore

log = logging.getLogger(__name__)

JOB_SECONDS = 10.0
ACCOUNTS_PER_RUN = 50
# Pages per target per run: a backlog is worked off over several runs without starving other accounts.
MAX_PAGES = 10
# WeChat's comment list may reorder when comments are replied to: start from the top now and then
# (the messages already stored are not stored again).
RESCAN_EVERY = timedelta(hours=1)
RESCANNING = frozenset({"wechat"})


@dataclass
class PollRun:
    accounts: int = 0
    pages: int = 0
    created: int = 0
    duplicates: int = 0
    echoes: int = 0
    skipped: int = 0
    failures: int = 0

    def add(self, other: PollRun) -> None:
        for name in ("accounts", "pages", "created", "duplicates", "echoes", "skipped", "failures"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class _Target:
    id: int
    target: str
    cursor: str | None
    scan_started_at: datetime | None


def due_accounts(*, session: Session, now: datetime, limit: int = ACCOUNTS_PER_RUN) -> list[int]:
    """Active accounts with an active target whose next poll has come, most overdue first."""
    has_target = exists().where(
        col(PollTarget.account_id) == col(ChannelHealth.account_id), col(PollTarget.active)
    )
    query = (
        select(ChannelHealth.account_id)
        .join(Account, col(Account.id) == col(ChannelHealth.account_id))
        .where(
            col(ChannelHealth.polling_enabled),
            col(ChannelHealth.next_poll_at) <= now,
            col(Account.active),
            has_target,
        )
        .order_by(col(ChannelHealth.next_poll_at))
        .limit(limit)
    )
    return list(session.exec(query))


def run_due(
    *,
    now: datetime | None = None,
    http: httpx.Client | None = None,
    tokens: TokenStore | None = None,
    limit: int = ACCOUNTS_PER_RUN,
) -> PollRun:
    """The scheduler job: polls each due account once; returns the counts."""
    now = now or clock.now()
    with session_scope() as session:
        ids = due_accounts(session=session, now=now, limit=limit)
    total = PollRun()
    for account_id in ids:
        total.add(poll_account(account_id=account_id, now=now, http=http, tokens=tokens))
    return total


def poll_account(
    *,
    account_id: int,
    now: datetime | None = None,
    http: httpx.Client | None = None,
    tokens: TokenStore | None = None,
) -> PollRun:
    """Polls every active target of the account, then records success or the error with backoff."""
    now = now or clock.now()
    run = PollRun(accounts=1)
    with session_scope() as session:
        account = session.get(Account, account_id)
        if account is None or not account.active:
            return PollRun()
        connector = registry.CONNECTORS.get(account.platform)
        targets = [
            _Target(t.id or 0, t.target, t.cursor, t.scan_started_at)
            for t in session.exec(
                select(PollTarget)
                .where(PollTarget.account_id == account_id, col(PollTarget.active))
                .order_by(col(PollTarget.id))
            )
        ]
        ctx = account_context(session=session, account=account, http=http)
        if tokens is not None:
            ctx = replace(ctx, tokens=tokens)
        channel = ChannelAccount(
            id=account_id,
            platform=account.platform,
            external_id=account.external_id,
            unit_code=account.unit_code,
            active=account.active,
            secrets=ctx.secrets,
        )
    if connector is None or connector.poll is None or not targets:
        return PollRun()
    newest: datetime | None = None
    try:
        for target in targets:
            seen = _poll_target(ctx, channel, target, now=now, run=run)
            if seen is not None and (newest is None or seen > newest):
                newest = seen
    except Exception as exc:  # every failure backs off; one account's trouble never stops the others
        run.failures += 1
        with session_scope() as session:
            health = health_records.ensure(session=session, account_id=account_id, now=now)
            delay = health_records.record_failure(health=health, error=exc, now=now)
            session.add(health)
        if isinstance(exc, ConnectorError):
            log.warning("poll of account %s failed (%s); next try in %.0f s", account_id, exc, delay)
        else:
            log.exception("poll of account %s failed; next try in %.0f s", account_id, delay)
        return run
    with session_scope() as session:
        health = health_records.ensure(session=session, account_id=account_id, now=now)
        health_records.record_success(health=health, now=now, last_item_at=newest)
        session.add(health)
    return run


def _poll_target(
    ctx: AccountContext, account: ChannelAccount, target: _Target, *, now: datetime, run: PollRun
) -> datetime | None:
    """Pages through one target; returns the newest item time seen."""
    poll = registry.get(account.platform).poll
    assert poll is not None
    expected = target.cursor
    restart = account.platform in RESCANNING and (
        target.scan_started_at is None or now - target.scan_started_at >= RESCAN_EVERY
    )
    cursor = None if restart else target.cursor
    newest: datetime | None = None
    for page_number in range(MAX_PAGES):
        page = poll(ctx, target=target.target, cursor=cursor, now=now)
        run.pages += 1
        with session_scope() as session:
            if not _store_page(
                session,
                account,
                target.id,
                page,
                expected=expected,
                now=now,
                restart=restart and page_number == 0,
                run=run,
            ):
                return newest  # paused, removed or restarted meanwhile: leave it to the next run
        for item in page.items:
            if newest is None or item.received_at > newest:
                newest = item.received_at
        expected = cursor = page.next_cursor
        if not page.has_more:
            break
    return newest


def _store_page(
    session: Session,
    account: ChannelAccount,
    target_id: int,
    page: PollPage,
    *,
    expected: str | None,
    now: datetime,
    restart: bool,
    run: PollRun,
) -> bool:
    """Stores one page and moves the cursor past it, in the caller's one transaction."""
    query = select(PollTarget).where(PollTarget.id == target_id)
    if is_postgres(session):
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is None or not row.active or row.cursor != expected:
        return False
    messages: list[MessageCreate] = []
    echoes: list[InboundItem] = []
    for item in page.items:
        if item.is_echo:
            echoes.append(item)
            continue
        try:
            messages.append(message_data(account.id, item))
        except BadRequest as exc:
            run.skipped += 1
            log.warning("account %s: item %s not storable: %s", account.id, item.external_id, exc.message)
    created = insert_batch(
        session=session, account=account, items=messages, actor=platform_actor(account.platform)
    )
    new_echoes = sum(record_echo(session=session, account=account, item=item, now=now) for item in echoes)
    run.created += len(created)
    run.duplicates += len(messages) - len(created)
    run.echoes += new_echoes
    row.cursor = page.next_cursor
    row.items_taken += len(created)
    row.echoes_seen += new_echoes
    row.last_polled_at = now
    if restart:
        row.scan_started_at = now
    row.updated_at = now
    session.add(row)
    return True
