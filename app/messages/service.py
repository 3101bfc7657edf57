"""Messages: durable, idempotent ingest into the inbound queue; scoped reading and listing."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, cast, literal, tuple_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Account
from app.accounts.service import AccountRef
from app.audit.service import record
from app.auth import Principal
from app.db import UTCDateTime
from app.errors import BadRequest, Conflict, Invalid, NotFound
from app.messages import search
from app.messages.models import (
    OPEN_ORDER,
    QUEUE_STATUSES,
    IntakeItem,
    IntakeState,
    Message,
    MessageCreate,
    MessageStatus,
    Receipt,
    in_queue,
    status_in,
)
from app.messages.storage import insert_message
from app.users.models import Role

INGEST_ROLES = (Role.admin, Role.supervisor, Role.leader, Role.reviewer, Role.operator)


@dataclass(frozen=True)
class PreparedMessage:
    """A validated message ready to be written: the row, its audit event, and its time."""

    values: dict[str, Any]
    audit: dict[str, Any]
    now: datetime

    @property
    def key(self) -> tuple[int, str]:
        return self.values["account_id"], self.values["external_id"]


EARLIEST_RECEIVED = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=1)


def check_received_at(received_at: datetime, *, now: datetime) -> None:
    """Receipt times are 2000-01-01 … now + 1 day (clock skew); anything else is 422, never stored."""
    if received_at < EARLIEST_RECEIVED or received_at > now + LATEST_AHEAD:
        raise Invalid("received_at 超出合理范围：应在 2000-01-01 之后、当前时间一天之内")


def prepare(
    *, session: Session, actor: Principal, data: MessageCreate, account: Account | AccountRef | None = None
) -> PreparedMessage:
    """Checks the caller, the account and the times; builds the row to insert (writes nothing)."""
    if account is None:
        if actor.user_id is not None:
            actor.require(*INGEST_ROLES)  # before the look-up: a role that may not ingest gets 403, not 404
        account = accounts.get_cached(session=session, account_id=data.account_id, principal=actor)
    return build(actor=actor, data=data, account=account)


def build(*, actor: Principal, data: MessageCreate, account: Account | AccountRef) -> PreparedMessage:
    """What `prepare` does once the account is known (no database): checks the caller's role, the
    account's state and the times; returns the row to insert."""
    if actor.user_id is not None:
        actor.require(*INGEST_ROLES)
    if not account.active:
        raise BadRequest(f"账号 {account.id} 已停用，不再接收消息")
    now = clock.now()
    received_at = data.received_at or now
    if received_at.tzinfo is None:
        raise BadRequest("received_at 必须带时区，例如 2026-01-05T09:30:00+08:00")
    check_received_at(received_at, now=now)
    values: dict[str, Any] = {
        "account_id": data.account_id,
        "platform": account.platform,
        "external_id": data.external_id,
        "kind": data.kind.value,
        "author_id": data.author.id,
        "author_name": data.author.name,
        "content": data.content,
        "thread_ref": data.thread_ref,
        "received_at": received_at.astimezone(UTC),
        "created_at": now,
        "updated_at": now,
        "status": MessageStatus.received.value,
        "unit_code": account.unit_code,
        "out_of_scope": False,
        "transfer_count": 0,
        "flags": [],
        "suggestions": [],
        "provisional": False,
        "escalation_level": 0,
    }
    audit = {
        "at": now,
        "actor_id": actor.user_id,
        "actor_name": actor.name,
        "action": "message.ingest",
        "entity_type": "message",
        "unit_code": account.unit_code,
        "after": {"account_id": data.account_id, "external_id": data.external_id, "kind": data.kind.value},
    }
    return PreparedMessage(values=values, audit=audit, now=now)


def ingest(
    *, session: Session, actor: Principal, data: MessageCreate, account: Account | AccountRef | None = None
) -> tuple[Message | Receipt, bool]:
    """Stores a message and its queue item in one transaction; returns (message or receipt, created).

    A repeated delivery (same account and external id) returns the stored message untouched."""
    prepared = prepare(session=session, actor=actor, data=data, account=account)
    message_id = insert_message(session, prepared.values, prepared.audit, prepared.now)
    if message_id is None:
        # A repeated delivery: hand back what is stored.
        session.rollback()
        existing = find(session=session, account_id=data.account_id, external_id=data.external_id)
        if existing is None:
            raise Conflict("消息正在被另一请求写入，请重试")
        return existing, False
    session.commit()
    return Receipt(id=message_id, status=MessageStatus.received.value, duplicate=False), True


def find(*, session: Session, account_id: int, external_id: str) -> Message | None:
    """The message already stored for (account, external id), if any."""
    return session.exec(
        select(Message).where(Message.account_id == account_id, Message.external_id == external_id)
    ).first()


def get(
    *, session: Session, message_id: int, principal: Principal | None = None, lock: bool = False
) -> Message:
    """The message if the principal may see it; otherwise 404 (never 403, so existence does not leak)."""
    query = select(Message).where(Message.id == message_id)
    if lock:
        query = query.with_for_update()
    message = session.exec(query).first()
    if message is None or (principal is not None and not principal.sees_unit(message.unit_code)):
        raise NotFound(f"消息 {message_id} 不存在")
    return message


SORTS = ("-id", "id", "due_at")
QUEUE_STATUS_VALUES = frozenset(s.value for s in QUEUE_STATUSES)


def encode_cursor(values: list[Any]) -> str:
    raw = "|".join(
        "" if v is None else (v.isoformat() if isinstance(v, datetime) else str(v)) for v in values
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII text, UnicodeDecodeError
        raise BadRequest("cursor 无效") from exc
    values = raw.split("|")
    if len(values) != parts:
        raise BadRequest("cursor 无效")
    return values


def list_messages(
    *,
    session: Session,
    principal: Principal,
    status: str | None = None,
    unit_code: str | None = None,
    sla_state: str | None = None,
    account_id: int | None = None,
    platform: str | None = None,
    kind: str | None = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    q: str | None = None,
    author_id: str | None = None,
    open_only: bool = False,
    flag: str | None = None,
    sort: str = "-id",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Message], str | None]:
    """A page of the messages the principal may see; returns (items, next cursor or None).
    `q`: every word must occur in the content or author name (see `app.messages.search`);
    `open_only`: only messages still open (not published or closed); `flag`: only messages carrying
    that flag (e.g. "sensitive")."""
    query = select(Message)
    if open_only:
        query = query.where(status_in(OPEN_ORDER))
    if flag is not None:
        # flags is a JSON list of names; its text form holds each as "name" on SQLite and PostgreSQL.
        query = query.where(cast(col(Message.flags), String).like(f'%"{flag}"%'))
    if q:
        query = query.where(col(Message.id).in_(search.matching_ids(session, q)))
    if principal.units is not None:
        query = query.where(col(Message.unit_code).in_(principal.units))
    for column, value in (
        (Message.status, status),
        (Message.unit_code, unit_code),
        (Message.sla_state, sla_state),
        (Message.account_id, account_id),
        (Message.platform, platform),
        (Message.kind, kind),
        (Message.author_id, author_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if received_from:
        query = query.where(col(Message.received_at) >= received_from)
    if received_to:
        query = query.where(col(Message.received_at) < received_to)
    if sort == "-id":
        if cursor:
            query = query.where(col(Message.id) < _int(decode_cursor(cursor, 1)[0]))
        query = query.order_by(col(Message.id).desc())
    elif sort == "id":
        if cursor:
            query = query.where(col(Message.id) > _int(decode_cursor(cursor, 1)[0]))
        query = query.order_by(col(Message.id))
    elif sort == "due_at":
        if status in QUEUE_STATUS_VALUES:
            query = query.where(in_queue())  # implied by the filter; lets the open-message index serve
        return due_at_page(session=session, query=query, cursor=cursor, limit=limit)
    else:
        raise BadRequest(f"sort 只能是 {', '.join(SORTS)}")
    rows = list(session.exec(query.limit(limit + 1)))
    items = rows[:limit]
    next_cursor = encode_cursor([items[-1].id]) if len(rows) > limit else None
    return items, next_cursor


def due_at_page(
    *, session: Session, query: SelectOfScalar[Message], cursor: str | None, limit: int
) -> tuple[list[Message], str | None]:
    """A page of `query`'s messages by deadline, soonest first and those without one last (NULLS LAST),
    ties by id, after `cursor` (the previous page's); returns (items, next cursor or None).

    Two index range walks instead of one sort: `(due_at, id) > cursor` over the dated messages (a row
    comparison both databases answer from a `(…, due_at, id)` index), then, if the page is not full,
    `id > cursor` over the undated ones. The cursor is (due_at, id), with an empty due_at once past the
    dated ones."""
    after_due: datetime | None = None
    after_id: int | None = None
    undated_only = False
    if cursor:
        due_raw, id_raw = decode_cursor(cursor, 2)
        after_id = _int(id_raw)
        if due_raw:
            after_due = _datetime(due_raw)
        else:
            undated_only = True
    rows: list[Message] = []
    if not undated_only:
        dated = query.where(col(Message.due_at).is_not(None))
        if after_due is not None:
            after = tuple_(literal(after_due, UTCDateTime()), literal(after_id, Integer()))
            dated = dated.where(tuple_(col(Message.due_at), col(Message.id)) > after)
        rows = list(session.exec(dated.order_by(col(Message.due_at), col(Message.id)).limit(limit + 1)))
        after_id = None
    if len(rows) <= limit:
        undated = query.where(col(Message.due_at).is_(None))
        if after_id is not None:
            undated = undated.where(col(Message.id) > after_id)
        rows += session.exec(undated.order_by(col(Message.id)).limit(limit + 1 - len(rows)))
    items = rows[:limit]
    next_cursor = encode_cursor([items[-1].due_at, items[-1].id]) if len(rows) > limit else None
    return items, next_cursor


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest("cursor 无效") from exc


def _datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest("cursor 无效") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parked_items(*, session: Session, limit: int = 100) -> list[IntakeItem]:
    """Queue items the pipeline gave up on, with their errors (the dead letters)."""
    return list(
        session.exec(
            select(IntakeItem)
            .where(IntakeItem.state == IntakeState.parked)
            .order_by(col(IntakeItem.id))
            .limit(limit)
        )
    )


def retry_parked(*, session: Session, actor: Principal, item_id: int) -> IntakeItem:
    """Puts a parked item back in the queue with a fresh try count."""
    actor.require(Role.admin)
    item = session.get(IntakeItem, item_id)
    if item is None or item.state != IntakeState.parked:
        raise NotFound(f"搁置项 {item_id} 不存在")
    now = clock.now()
    item.state, item.attempts, item.available_at, item.updated_at = IntakeState.pending, 0, now, now
    session.add(item)
    record(
        session=session,
        actor=actor,
        action="pipeline.retry",
        entity_type="inbound_item",
        entity_id=item_id,
        note=item.last_error,
    )
    session.commit()
    return item
