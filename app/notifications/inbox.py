"""The inbox of a user: every notice the service records, scoped to the user's units and role, with
read/unread per user. It reads the notice records themselves, so a notice is in the inbox from the
moment it is recorded — whether or not a group robot is configured and whatever the delivery state —
and a new kind of notice recorded through the same tables arrives without changes here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlmodel import Session, col

from app import clock
from app.accounts.models import Account
from app.auth import Principal
from app.errors import Invalid, NotFound
from app.notifications.models import InboxItem, InboxPage, InboxRead, NoticeSource, SlaNotification
from app.notifications.records import bulk_insert
from app.registry.models import AccountCheck
from app.reports.models import TopicAlert
from app.users.models import Role

# Operators and reviewers get the notices addressed to their unit's desk; leaders and above also get
# the ones for leaders and supervising offices, hot topics included.
DESK_ROLES = frozenset({Role.operator, Role.reviewer})
READS = InboxRead.__table__  # type: ignore[attr-defined]
ZOMBIE_TITLE = "账号长期未更新（僵尸账号检查）"


def _is_read(source: NoticeSource, item_id: Any, user_id: int, since: Any = None) -> Any:
    condition = and_(
        col(InboxRead.user_id) == user_id,
        col(InboxRead.source) == source.value,
        col(InboxRead.item_id) == item_id,
    )
    if since is not None:  # a zombie flag raised again after it was read is new again
        condition = and_(condition, col(InboxRead.read_at) >= since)
    return exists().where(condition)


def _sla_query(principal: Principal) -> Any:
    query = select(SlaNotification)
    if principal.units is not None:
        query = query.where(col(SlaNotification.unit_code).in_(principal.units))
    if principal.role in DESK_ROLES:
        query = query.where(col(SlaNotification.target) == "unit")
    return query


def _topic_query(principal: Principal) -> Any | None:
    if principal.role in DESK_ROLES:
        return None
    query = select(TopicAlert)
    if principal.units is not None:
        query = query.where(col(TopicAlert.unit_code).in_(principal.units))
    return query


def _zombie_query(principal: Principal) -> Any:
    query = (
        select(AccountCheck, col(Account.name), col(Account.unit_code), col(Account.platform))
        .join(Account, col(Account.id) == col(AccountCheck.account_id))
        .where(col(AccountCheck.zombie).is_(True), col(AccountCheck.flagged_since).is_not(None))
    )
    if principal.units is not None:
        query = query.where(col(Account.unit_code).in_(principal.units))
    return query


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
    if source in (None, NoticeSource.sla):
        read = _is_read(NoticeSource.sla, SlaNotification.id, user_id)
        order: tuple[Any, ...] = (col(SlaNotification.created_at).desc(), col(SlaNotification.id).desc())
        rows = _newest(session, _sla_query(principal), read, order, unread_only=unread_only, limit=want)
        items += [_sla_item(row[0], bool(row[-1])) for row in rows]
    topic = _topic_query(principal)
    if topic is not None and source in (None, NoticeSource.topic):
        read = _is_read(NoticeSource.topic, TopicAlert.id, user_id)
        order = (col(TopicAlert.created_at).desc(), col(TopicAlert.id).desc())
        rows = _newest(session, topic, read, order, unread_only=unread_only, limit=want)
        items += [_topic_item(row[0], bool(row[-1])) for row in rows]
    if source in (None, NoticeSource.zombie):
        read = _is_read(NoticeSource.zombie, AccountCheck.account_id, user_id, AccountCheck.flagged_since)
        order = (col(AccountCheck.flagged_since).desc(),)
        rows = _newest(session, _zombie_query(principal), read, order, unread_only=unread_only, limit=want)
        items += [_zombie_item(row[0], row[1], row[2], bool(row[-1])) for row in rows]
    items.sort(key=lambda item: (item.created_at, item.key), reverse=True)
    page = items[offset : offset + limit]
    return InboxPage(
        items=page,
        unread=unread_count(session=session, principal=principal),
        next_offset=offset + limit if len(items) > offset + limit else None,
    )


def _newest(
    session: Session, query: Any, read: Any, order: tuple[Any, ...], *, unread_only: bool, limit: int
) -> list[Any]:
    """The newest rows of one source, each with its read flag as the last column."""
    if unread_only:
        query = query.where(~read)
    return list(session.execute(query.add_columns(read).order_by(*order).limit(limit)).all())


def unread_count(*, session: Session, principal: Principal) -> int:
    user_id = principal.user_id or 0
    total = session.execute(
        _sla_query(principal)
        .with_only_columns(func.count())
        .where(~_is_read(NoticeSource.sla, SlaNotification.id, user_id))
    ).scalar_one()
    topic = _topic_query(principal)
    if topic is not None:
        total += session.execute(
            topic.with_only_columns(func.count()).where(~_is_read(NoticeSource.topic, TopicAlert.id, user_id))
        ).scalar_one()
    zombie = _zombie_query(principal).where(
        ~_is_read(NoticeSource.zombie, AccountCheck.account_id, user_id, AccountCheck.flagged_since)
    )
    total += session.execute(select(func.count()).select_from(zombie.subquery())).scalar_one()
    return int(total)


def _sla_item(row: SlaNotification, read: bool) -> InboxItem:
    assert row.id is not None
    return InboxItem(
        key=f"sla:{row.id}",
        source=NoticeSource.sla,
        kind=row.step,
        title=row.title,
        text=row.text,
        unit_code=row.unit_code,
        message_id=row.message_id,
        urgent=row.urgent,
        delivery=row.state,
        created_at=row.created_at,
        read=read,
    )


def _topic_item(row: TopicAlert, read: bool) -> InboxItem:
    assert row.id is not None
    return InboxItem(
        key=f"topic:{row.id}",
        source=NoticeSource.topic,
        kind="hot_topic",
        title=f"热点话题：{row.label}",
        text=row.text,
        unit_code=row.unit_code,
        urgent=True,
        delivery=row.state,
        created_at=row.created_at,
        read=read,
    )


def _zombie_item(row: AccountCheck, name: str, unit_code: str, read: bool) -> InboxItem:
    assert row.flagged_since is not None
    days = f"已 {row.days_since_post} 天未更新" if row.days_since_post is not None else "从未发布内容"
    return InboxItem(
        key=f"zombie:{row.account_id}",
        source=NoticeSource.zombie,
        kind="zombie",
        title=f"{ZOMBIE_TITLE}：{name}",
        text=f"账号「{name}」{days}。" + "；".join(row.reasons),
        unit_code=unit_code,
        urgent=False,
        delivery="inbox",
        created_at=row.flagged_since,
        read=read,
    )


def _parse_key(key: str) -> tuple[NoticeSource, int]:
    source, _, number = key.partition(":")
    try:
        return NoticeSource(source), int(number)
    except ValueError as exc:
        raise Invalid(f"提醒编号格式错误：{key[:40]}（应为 来源:编号，如 sla:12）") from exc


def _visible(session: Session, principal: Principal, source: NoticeSource, item_id: int) -> bool:
    if source is NoticeSource.sla:
        query = _sla_query(principal).where(col(SlaNotification.id) == item_id)
    elif source is NoticeSource.topic:
        query = _topic_query(principal)
        if query is None:
            return False
        query = query.where(col(TopicAlert.id) == item_id)
    else:
        query = _zombie_query(principal).where(col(AccountCheck.account_id) == item_id)
    return session.execute(query.limit(1)).first() is not None


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
    # A zombie flag read before it was raised again: refresh the time (delete, then insert).
    zombies = [i for s, i in targets if s is NoticeSource.zombie]
    if zombies:
        session.execute(
            READS.delete().where(
                READS.c.user_id == principal.user_id,
                READS.c.source == NoticeSource.zombie.value,
                READS.c.item_id.in_(zombies),
            )
        )
    bulk_insert(session, READS, rows, ignore_duplicates=True)
    session.commit()
    return unread_count(session=session, principal=principal)


def _all_unread(session: Session, principal: Principal) -> list[InboxItem]:
    page = list_inbox(session=session, principal=principal, unread_only=True, limit=10_000)
    return page.items
