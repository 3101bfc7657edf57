"""The accounts' own posts from the platforms: each connector's post list (WeChat 已发布列表, Weibo user
timeline, Douyin video list) or a website/app's signed `post` event moves `last_post_at` (the zombie
check's input); new Douyin videos become comment-poll targets."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.auth import SYSTEM
from app.channels import targets, webhooks
from app.channels.context import account_context
from app.channels.models import PollTarget, PollTargetCreate
from app.registry.zombie import record_post
from connectors import douyin, wechat, weibo
from connectors.base import AccountContext, PlatformError, RateLimited, TokenExpired
from connectors.posts import Post

log = logging.getLogger(__name__)

POST_LISTS: dict[str, Callable[..., list[Post]]] = {
    "wechat": wechat.list_posts,
    "weibo": weibo.list_posts,
    "douyin": douyin.list_posts,
}
# Platforms whose posts are comment-poll targets by their own id. WeChat's comment API wants the
# article's msg_data_id, which the published list does not give; Weibo polls the whole inbox.
POST_TARGET_PLATFORMS = frozenset({"douyin"})
ACCOUNTS_PER_RUN = 50


def record_posts(*, session: Session, account: Account, posts: Sequence[Post], now: datetime) -> int:
    """Moves the account's `last_post_at` to its newest post (never back) and registers new videos as
    poll targets; returns how many targets were added."""
    assert account.id is not None
    if not posts:
        return 0
    newest = max(post.posted_at for post in posts)
    if newest <= now:
        record_post(session=session, actor=SYSTEM, account_id=account.id, posted_at=newest)
    if account.platform not in POST_TARGET_PLATFORMS:
        return 0
    known = set(session.exec(select(PollTarget.target).where(PollTarget.account_id == account.id)))
    added = 0
    for post in posts:
        if post.external_id in known:
            continue
        targets.add(
            session=session,
            actor=SYSTEM,
            account_id=account.id,
            data=PollTargetCreate(target=post.external_id, label=(post.title or "视频")[:100]),
        )
        known.add(post.external_id)
        added += 1
    return added


def poll_posts(
    *, session: Session, account_id: int, now: datetime, context: AccountContext | None = None
) -> list[Post]:
    """Fetches the account's newest posts from its platform and records them. No transaction is held
    across the platform call. Raises the connector's RateLimited / TokenExpired / PlatformError."""
    account = session.get(Account, account_id)
    if account is None or account.platform not in POST_LISTS:
        return []
    fetch = POST_LISTS[account.platform]
    ctx = context or account_context(session=session, account=account)
    session.commit()
    posts = fetch(ctx, now=now)
    account = session.get(Account, account_id)
    assert account is not None
    record_posts(session=session, account=account, posts=posts, now=now)
    session.commit()
    return posts


def run(*, session: Session, now: datetime) -> int:
    """The job: every active account on a platform with a post list, one call each; returns how many
    accounts answered. A failing account is logged and left for the next run."""
    ids = list(
        session.exec(
            select(Account.id)
            .where(col(Account.active).is_(True), col(Account.platform).in_(list(POST_LISTS)))
            # The accounts seen posting longest ago first, so that every account gets its turn.
            .order_by(col(Account.last_post_at).is_not(None), col(Account.last_post_at), col(Account.id))
            .limit(ACCOUNTS_PER_RUN)
        )
    )
    session.commit()
    answered = 0
    for account_id in ids:
        assert account_id is not None
        try:
            poll_posts(session=session, account_id=account_id, now=now)
        except (RateLimited, TokenExpired, PlatformError) as exc:
            log.warning("post list of account %s failed: %s", account_id, exc)
            session.rollback()
            continue
        answered += 1
    return answered


def record_pushed(
    *, session: Session, account_id: int, headers: Mapping[str, str], body: bytes, now: datetime
) -> Account:
    """A website/app account's signed `post` event, verified and recorded; returns the account."""
    post = webhooks.receive_post(
        session=session, platform="generic", account_id=account_id, headers=headers, body=body, now=now
    )
    account = session.get(Account, account_id)
    assert account is not None  # the webhook found it
    record_posts(session=session, account=account, posts=[post], now=now)
    return account
