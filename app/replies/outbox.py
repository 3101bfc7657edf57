"""The outbox: publishes approved replies through their account's connector, never twice.

A reply is marked `publishing` and committed BEFORE the platform is called, so a crash between sending and
recording leaves a trace: a reply still `publishing` when its lease runs out is treated as an unknown
outcome. After an unknown outcome the reply is looked up on the platform where the platform allows it,
sent again where the receiver deduplicates on the idempotency key, and otherwise held for a person.
Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Account
from app.db import is_postgres, session_scope
from app.messages.models import Message
from app.replies import publishers
from app.replies.models import Delivery, Reply
from app.replies.service import mark_published, move
from app.replies.workflow import ReplyState
from connectors.base import AfterUnknown, ConnectorError, PublishResult, TokenStore, backoff

log = logging.getLogger(__name__)

# Far longer than any publish can take (a few platform calls, each with a 10-second timeout): a reply
# still `publishing` after this was interrupted and its outcome is unknown.
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
BATCH = 20
INTERVAL_SECONDS = 2.0

HOLD_ALTERNATIVE = "请到平台后台核实：已发布的，点“确认已发布”；未发布的，点“重新发布”；也可人工送达后登记"
RETRY_ALTERNATIVE = "请稍后点“重新发布”，或通过其他渠道人工送达后登记"


@dataclass
class OutboxResult:
    recovered: int = 0
    claimed: int = 0
    published: int = 0
    retried: int = 0
    held: int = 0
    undeliverable: int = 0


@dataclass(frozen=True)
class _Claim:
    reply_id: int
    attempt: int
    text: str
    idempotency_key: str
    check_first: bool
    message: Message
    account: Account


def run_once(
    *,
    now: datetime | None = None,
    limit: int = BATCH,
    http: httpx.Client | None = None,
    tokens: TokenStore | None = None,
) -> OutboxResult:
    """Recovers interrupted publishes, then claims and publishes one batch of due replies."""
    time_of: Callable[[], datetime] = (lambda: now) if now is not None else clock.now
    result = OutboxResult(recovered=recover(now=time_of()))
    claims = claim(now=time_of(), limit=limit)
    result.claimed = len(claims)
    if not claims:
        return result
    client = http or publishers.default_http()
    store = tokens or publishers.default_tokens()
    for item in claims:
        outcome, checked = _attempt(item, now=time_of(), http=client, tokens=store)
        _record(item, outcome, checked=checked, now=time_of(), counts=result)
    return result


def drain(
    *,
    now: datetime | None = None,
    max_batches: int = 10,
    http: httpx.Client | None = None,
    tokens: TokenStore | None = None,
) -> OutboxResult:
    """Runs batches until nothing is due (the scheduler job, tests, CLI)."""
    total = OutboxResult()
    for _ in range(max_batches):
        result = run_once(now=now, http=http, tokens=tokens)
        for name in ("recovered", "claimed", "published", "retried", "held", "undeliverable"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if result.claimed == 0:
            break
    return total


def claim(*, now: datetime, limit: int) -> list[_Claim]:
    """Marks up to `limit` due replies `publishing` (lease `LEASE`) and commits, before any sending."""
    claims: list[_Claim] = []
    with session_scope() as session:
        query = (
            select(Reply)
            .where(Reply.state == ReplyState.approved, col(Reply.next_attempt_at) <= now)
            .order_by(col(Reply.next_attempt_at), col(Reply.id))
            .limit(limit)
        )
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        for reply in session.exec(query).all():
            message = _message(session, reply.message_id)
            account = session.get(Account, message.account_id)
            assert account is not None and reply.id is not None
            reply.attempts += 1
            reply.next_attempt_at = now + LEASE
            move(
                session=session,
                reply=reply,
                message=message,
                transition="claim",
                actor=None,
                action="reply.publishing",
                at=now,
                after={"attempt": reply.attempts, "check_first": reply.check_before_send},
            )
            claims.append(
                _Claim(
                    reply_id=reply.id,
                    attempt=reply.attempts,
                    text=reply.text,
                    idempotency_key=reply.idempotency_key,
                    check_first=reply.check_before_send,
                    message=message,
                    account=account,
                )
            )
    return claims


def recover(*, now: datetime) -> int:
    """Replies left `publishing` past their lease (a crash or a stuck worker): outcome unknown."""
    count = 0
    with session_scope() as session:
        query = select(Reply).where(Reply.state == ReplyState.publishing, col(Reply.next_attempt_at) <= now)
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        for reply in session.exec(query).all():
            message = _message(session, reply.message_id)
            _unknown(
                session,
                reply,
                message,
                now=now,
                reason="上次发布中断，未记录平台应答（进程重启或超时），无法确定是否已发布",
                error_code="interrupted",
                delay=timedelta(0),
            )
            count += 1
    return count


def _message(session: Session, message_id: int) -> Message:
    query = select(Message).where(Message.id == message_id)
    return session.exec(query.with_for_update()).one()


def _attempt(
    item: _Claim, *, now: datetime, http: httpx.Client, tokens: TokenStore
) -> tuple[PublishResult, bool]:
    """Calls the platform; returns the outcome and whether it came from a check (not a send)."""
    if not item.account.active:
        return (
            PublishResult(
                "refused",
                error_code="account_inactive",
                reason="发布账号已停用",
                alternative="请启用账号后点“重新发布”，或人工送达后登记",
            ),
            False,
        )
    if item.check_first:
        try:
            found = publishers.find_published(
                account=item.account, message=item.message, text=item.text, now=now, http=http, tokens=tokens
            )
        except ConnectorError as exc:
            retry_after = getattr(exc, "retry_after", None)
            return PublishResult(
                "retry", error_code=exc.code, reason=f"暂时无法核实：{exc.message}", retry_after=retry_after
            ), True
        except Exception as exc:
            log.exception("checking reply %s on the platform failed", item.reply_id)
            return PublishResult(
                "retry", error_code="internal", reason=f"核实失败：{type(exc).__name__}"
            ), True
        if found is not None:
            return found, True
    try:
        result = publishers.publish(
            account=item.account,
            message=item.message,
            text=item.text,
            idempotency_key=item.idempotency_key,
            now=now,
            http=http,
            tokens=tokens,
        )
    except Exception as exc:
        # The request may have left before this failed: the outcome is unknown, never "not sent".
        log.exception("publishing reply %s failed unexpectedly", item.reply_id)
        result = PublishResult(
            "unknown", error_code="internal", reason=f"发布时出现意外错误：{type(exc).__name__}"
        )
    return result, False


def _record(
    item: _Claim, result: PublishResult, *, checked: bool, now: datetime, counts: OutboxResult
) -> None:
    """Stores the outcome, unless another worker has taken the reply over since (lease ran out)."""
    with session_scope() as session:
        reply = session.exec(select(Reply).where(Reply.id == item.reply_id).with_for_update()).first()
        if reply is None or reply.state != ReplyState.publishing or reply.attempts != item.attempt:
            log.warning(
                "reply %s changed while publishing; outcome %s not recorded", item.reply_id, result.outcome
            )
            return
        message = _message(session, reply.message_id)
        if result.outcome == "sent":
            reply.error_code = reply.last_error = reply.alternative = None
            mark_published(
                session=session,
                reply=reply,
                message=message,
                at=now,
                delivery=Delivery.verified if checked else Delivery.platform,
                actor=None,
                transition="published",
                action="reply.published",
                platform_reply_id=result.platform_reply_id,
                note=result.reason or None,
            )
            counts.published += 1
        elif result.outcome == "retry":
            _not_sent(session, reply, message, result, now=now, counts=counts)
        elif result.outcome == "refused":
            _undeliverable(session, reply, message, result, now=now)
            counts.undeliverable += 1
        else:
            held = _unknown(
                session,
                reply,
                message,
                now=now,
                reason=result.reason,
                error_code=result.error_code,
                delay=timedelta(seconds=backoff(reply.attempts)),
            )
            if held:
                counts.held += 1
            else:
                counts.retried += 1


def _not_sent(
    session: Session,
    reply: Reply,
    message: Message,
    result: PublishResult,
    *,
    now: datetime,
    counts: OutboxResult,
) -> None:
    reply.error_code, reply.last_error = result.error_code, result.reason
    if reply.attempts < MAX_ATTEMPTS:
        reply.next_attempt_at = now + timedelta(
            seconds=backoff(reply.attempts, retry_after=result.retry_after)
        )
        move(
            session=session,
            reply=reply,
            message=message,
            transition="not_sent",
            actor=None,
            action="reply.retry_scheduled",
            at=now,
            after={"next_attempt_at": reply.next_attempt_at.isoformat(), "error_code": result.error_code},
            note=result.reason,
        )
        counts.retried += 1
    elif reply.check_before_send:
        # An earlier try may have reached the platform and it still cannot be checked: a person decides.
        _hold(session, reply, message, now=now, reason=f"多次核实仍无法确定是否已发布：{result.reason}")
        counts.held += 1
    else:
        _undeliverable(
            session,
            reply,
            message,
            PublishResult(
                "refused",
                error_code=result.error_code,
                reason=f"{reply.attempts} 次尝试仍未能发布：{result.reason}",
                alternative=RETRY_ALTERNATIVE,
            ),
            now=now,
        )
        counts.undeliverable += 1


def _undeliverable(
    session: Session, reply: Reply, message: Message, result: PublishResult, *, now: datetime
) -> None:
    reply.error_code = result.error_code
    reply.last_error = result.reason
    reply.alternative = result.alternative or RETRY_ALTERNATIVE
    reply.next_attempt_at = None
    move(
        session=session,
        reply=reply,
        message=message,
        transition="undeliverable",
        actor=None,
        action="reply.undeliverable",
        at=now,
        after={
            "error_code": reply.error_code,
            "reason": reply.last_error,
            "alternative": reply.alternative,
            "remote_detail": result.detail,
        },
        note=reply.last_error,
    )


def _hold(session: Session, reply: Reply, message: Message, *, now: datetime, reason: str) -> None:
    reply.last_error = reason
    reply.alternative = HOLD_ALTERNATIVE
    reply.next_attempt_at = None
    move(
        session=session,
        reply=reply,
        message=message,
        transition="hold",
        actor=None,
        action="reply.held",
        at=now,
        after={"error_code": reply.error_code, "reason": reason},
        note=reason,
    )


def _unknown(
    session: Session,
    reply: Reply,
    message: Message,
    *,
    now: datetime,
    reason: str,
    error_code: str | None,
    delay: timedelta,
) -> bool:
    """After a send whose outcome is unknown: check first, send again, or hold. Returns True if held."""
    reply.error_code, reply.last_error = error_code, reason
    policy = publishers.after_unknown(message)
    if policy == AfterUnknown.HOLD or reply.attempts >= MAX_ATTEMPTS:
        _hold(session, reply, message, now=now, reason=reason)
        return True
    # CHECK: look on the platform before any new send. RETRY: the receiver deduplicates on the key.
    reply.check_before_send = policy == AfterUnknown.CHECK
    reply.next_attempt_at = now + delay
    move(
        session=session,
        reply=reply,
        message=message,
        transition="not_sent",
        actor=None,
        action="reply.outcome_unknown",
        at=now,
        after={"policy": policy.value, "next_attempt_at": reply.next_attempt_at.isoformat()},
        note=reason,
    )
    return False
