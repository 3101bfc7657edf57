"""Hot-topic alerts in the in-app inbox: the feed the reports declare for it (registered at start-up by
`app.wiring.install`). Leaders and above see the alerts of their units; the desks (operators, reviewers)
do not get them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.auth import Principal
from app.notifications.inbox import DESK_ROLES, NoticeFeed
from app.notifications.models import InboxItem, NoticeSource
from app.reports.models import TopicAlert


def _query(principal: Principal) -> Any | None:
    if principal.role in DESK_ROLES:
        return None
    query = select(TopicAlert)
    if principal.units is not None:
        query = query.where(col(TopicAlert.unit_code).in_(principal.units))
    return query


def _item(row: Sequence[Any], read: bool) -> InboxItem:
    alert: TopicAlert = row[0]
    assert alert.id is not None
    return InboxItem(
        key=f"topic:{alert.id}",
        source=NoticeSource.topic,
        kind="hot_topic",
        title=f"热点话题：{alert.label}",
        text=alert.text,
        unit_code=alert.unit_code,
        urgent=True,
        delivery=alert.state,
        created_at=alert.created_at,
        read=read,
    )


TOPIC_FEED = NoticeFeed(
    source=NoticeSource.topic,
    query=_query,
    item_id=col(TopicAlert.id),
    order=(col(TopicAlert.created_at).desc(), col(TopicAlert.id).desc()),
    item=_item,
)
