"""The inbox of a user: every notice the service records, scoped to the user's units and role, with
read/unread per user. It reads the notice records themselves, so a notice is in the inbox from the
moment it is recorded — whether or not a group robot is configured and whatever the delivery state —
and a new kind of notice recorded through the same tables arrives without changes here.

Its own source is the notification records (`sla_notifications`). The other notices live in the domains
that raise them (hot-topic alerts in reports, zombie-account checks in the registry); each domain declares
a `NoticeFeed` for them, and the start-up wiring (`app.wiring.install`) registers it with `register_feed`.
Listing, the unread count, visibility and read marks all go through the feeds alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlmodel import Session, col

from app import clock
from app.auth import Principal
from app.errors import Invalid, NotFound
from app.notifications.models import InboxItem, InboxPage, InboxRead, NoticeSource, SlaNotification
from app.notifications.records import bulk_insert
from app.users.models import Role

# Operators and reviewers get the notices addressed to their unit's desk; leaders and above also get
# the ones for leaders and supervising offices, hot topics included.
DESK_ROLES = frozenset({Role.operator, Role.reviewer})
READS = InboxRead.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NoticeFeed:
    """One source of inbox notices, declared by the domain that records them.

    `query(principal)`: a select of the rows the principal may see (None: none of this source for them);
    `item_id`: the column whose value is the notice's number (`source:number`, and the read marks);
    `raised_since`: a column with the time the item was (re-)raised — a read mark older than it no longer
    counts, and marking it read again refreshes the mark; `order`: newest first; `item(row, read)`: the
    inbox view of one row of `query` (its columns in order)."""

    source: NoticeSource
    query: Callable[[Principal], Any | None]
    item_id: Any
    order: tuple[Any, ...]
    item: Callable[[Sequence[Any], bool], InboxItem]
    raised_since: Any | None = None


def _sla_query(principal: Principal) -> Any:
    query = select(SlaNotification)
    if principal.units is not None:
        query = query.where(col(SlaNotification.unit_code).in_(principal.units))
    if principal.role in DESK_ROLES:
        query = query.where(col(SlaNotification.target) == "unit")
    return query


def _sla_item(row: Sequence[Any], read: bool) -> InboxItem:
    record: SlaNotification = row[0]
    assert record.id is not None
    return InboxItem(
        key=f"sla:{record.id}",
        source=NoticeSource.sla,
        kind=record.step,
        title=record.title,
        text=record.text,
        unit_code=record.unit_code,
        message_id=record.message_id,
        urgent=record.urgent,
        delivery=record.state,
        created_at=record.created_at,
        read=read,
    )


SLA_FEED = NoticeFeed(
    source=NoticeSource.sla,
    query=_sla_query,
    item_id=col(SlaNotification.id),
    order=(col(SlaNotification.created_at).desc(), col(SlaNotification.id).desc()),
    item=_sla_item,
)

_feeds: dict[NoticeSource, NoticeFeed] = {NoticeSource.sla: SLA_FEED}


def register_feed(feed: NoticeFeed) -> None:
    """Adds a domain's notices to the inbox (once per source: registering again replaces, never doubles)."""
    _feeds[feed.source] = feed


def feeds() -> list[NoticeFeed]:
    """The feeds in force, the inbox's own first."""
    return list(_feeds.values())


def _is_read(feed: NoticeFeed, user_id: int) -> Any:
    condition = and_(
        col(InboxRead.user_id) == user_id,
        col(InboxRead.source) == feed.source.value,
        col(InboxRead.item_id) == feed.item_id,
    )
    if feed.raised_since is not None:  # an item raised again after it was read is new again
        condition = and_(condition, col(InboxRead.read_at) >= feed.raised_since)
    return exists().where(condition)


def list_inbox(
    *,
    session: Session,
    principal: Principal,
    unread_only: bool = False,
    source: NoticeSource | None = None,
    offset: int = 0,
    limit: int = 50,
) -> InboxPage:
    """The newest notices the principal may see, with read flags and the unread total."""
    user_id = principal.user_id or 0
    want = offset + limit + 1
    items: list[InboxItem] = []
    for feed in feeds():
        if source not in (None, feed.source):
            continue
        query = feed.query(principal)
        if query is None:
            continue
        read = _is_read(feed, user_id)
        if unread_only:
            query = query.where(~read)
        rows = session.execute(query.add_columns(read).order_by(*feed.order).limit(want)).all()
        items += [feed.item(tuple(row[:-1]), bool(row[-1])) for row in rows]
    items.sort(key=lambda item: (item.created_at, item.key), reverse=True)
    page = items[offset : offset + limit]
    return InboxPage(
        items=page,
        unread=unread_count(session=session, principal=principal),
        next_offset=offset + limit if len(items) > offset + limit else None,
    )


def unread_count(*, session: Session, principal: Principal) -> int:
    user_id = principal.user_id or 0
    total = 0
    for feed in feeds():
        query = feed.query(principal)
        if query is None:
            continue
        unread = query.where(~_is_read(feed, user_id))
        total += session.execute(select(func.count()).select_from(unread.subquery())).scalar_one()
    return int(total)


def _parse_key(key: str) -> tuple[NoticeSource, int]:
    source, _, number = key.partition(":")
    try:
        return NoticeSource(source), int(number)
    except ValueError as exc:
        raise Invalid(f"提醒编号格式错误：{key[:40]}（应为 来源:编号，如 sla:12）") from exc


def _visible(session: Session, principal: Principal, source: NoticeSource, item_id: int) -> bool:
    feed = _feeds.get(source)
    query = feed.query(principal) if feed is not None else None
    if feed is None or query is None:
        return False
    return session.execute(query.where(feed.item_id == item_id).limit(1)).first() is not None


def mark_read(*, session: Session, principal: Principal, keys: list[str], now: datetime | None = None) -> int:
    """Marks the given notices (or, with no keys, every visible one) read for this user; idempotent.
    A key the user may not see is reported as not found. Returns the unread count after."""
    if principal.user_id is None:
        raise Invalid("系统身份没有收件箱")
    now = now or clock.now()
    if keys:
        targets = [_parse_key(key) for key in dict.fromkeys(keys)]
        for source, item_id in targets:
            if not _visible(session, principal, source, item_id):
                raise NotFound(f"提醒 {source.value}:{item_id} 不存在")
    else:
        targets = [(item.source, int(item.key.split(":")[1])) for item in _all_unread(session, principal)]
    rows = [
        {"user_id": principal.user_id, "source": s.value, "item_id": i, "read_at": now} for s, i in targets
    ]
    # An item read before it was raised again: refresh the time (delete, then insert).
    for feed in feeds():
        if feed.raised_since is None:
            continue
        again = [i for s, i in targets if s is feed.source]
        if again:
            session.execute(
                READS.delete().where(
                    READS.c.user_id == principal.user_id,
                    READS.c.source == feed.source.value,
                    READS.c.item_id.in_(again),
                )
            )
    bulk_insert(session, READS, rows, ignore_duplicates=True)
    session.commit()
    return unread_count(session=session, principal=principal)


def _all_unread(session: Session, principal: Principal) -> list[InboxItem]:
    page = list_inbox(session=session, principal=principal, unread_only=True, limit=10_000)
    return page.items
