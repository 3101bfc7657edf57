"""Zombie-account flags in the in-app inbox: the feed the registry declares for it (registered at start-up
by `app.wiring.install`). An account flagged as not updated is one notice, numbered by the account; when
the flag is raised again after someone read it, it is unread for them again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.accounts.models import Account
from app.auth import Principal
from app.notifications.inbox import NoticeFeed
from app.notifications.models import InboxItem, NoticeSource
from app.registry.models import AccountCheck

ZOMBIE_TITLE = "账号长期未更新（僵尸账号检查）"


def _query(principal: Principal) -> Any:
    query = (
        select(AccountCheck, col(Account.name), col(Account.unit_code), col(Account.platform))
        .join(Account, col(Account.id) == col(AccountCheck.account_id))
        .where(col(AccountCheck.zombie).is_(True), col(AccountCheck.flagged_since).is_not(None))
    )
    if principal.units is not None:
        query = query.where(col(Account.unit_code).in_(principal.units))
    return query


def _item(row: Sequence[Any], read: bool) -> InboxItem:
    check: AccountCheck = row[0]
    name: str = row[1]
    assert check.flagged_since is not None
    days = f"已 {check.days_since_post} 天未更新" if check.days_since_post is not None else "从未发布内容"
    return InboxItem(
        key=f"zombie:{check.account_id}",
        source=NoticeSource.zombie,
        kind="zombie",
        title=f"{ZOMBIE_TITLE}：{name}",
        text=f"账号「{name}」{days}。" + "；".join(check.reasons),
        unit_code=row[2],
        urgent=False,
        delivery="inbox",
        created_at=check.flagged_since,
        read=read,
    )


ZOMBIE_FEED = NoticeFeed(
    source=NoticeSource.zombie,
    query=_query,
    item_id=col(AccountCheck.account_id),
    order=(col(AccountCheck.flagged_since).desc(),),
    item=_item,
    raised_since=col(AccountCheck.flagged_since),
)
