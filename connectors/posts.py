"""What the post-list functions of the platform modules return: the account's own published posts, so
that the service knows when the account last updated (the zombie check) and which posts to watch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# How many of the newest posts one call asks for: enough to see the latest update and new videos.
POST_PAGE_SIZE = 20


@dataclass(frozen=True)
class Post:
    """One post the account published on the platform."""

    external_id: str  # WeChat article_id, Weibo status id, Douyin item_id
    posted_at: datetime  # aware UTC
    title: str = ""
    url: str = ""
