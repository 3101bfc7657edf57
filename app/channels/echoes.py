"""Echoes: the account's own replies coming back through a poll or a push. They are never taken in as
new messages; each is stored once and linked to the reply it is — by the platform's id for the reply
when the outbox recorded one, else by the same text in the same thread."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from app.audit.service import record
from app.channels.models import ChannelEcho
from app.channels.store import ChannelAccount, platform_actor
from app.messages.models import Message
from app.replies.models import Reply
from app.replies.service import confirm_by_echo
from connectors.base import InboundItem

# Replies whose text may be on the platform (the rest were never sent).
_SENT_STATES = ("publishing", "published", "held", "approved", "undeliverable")
_CANDIDATES = 200


def record_echo(*, session: Session, account: ChannelAccount, item: InboundItem, now: datetime) -> bool:
    """Stores the echo once, linked to its reply when one matches; True if it was new. No commit."""
    reply_id, message_id, matched_by = _match(session, account, item)
    values = {
        "account_id": account.id,
        "external_id": item.external_id[:128],
        "content": item.content,
        "reply_id": reply_id,
        "message_id": message_id,
        "matched_by": matched_by,
        "received_at": item.received_at,
        "created_at": now,
    }
    table = ChannelEcho.__table__  # type: ignore[attr-defined]
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
    inserted = session.execute(
        insert.values(**values)
        .on_conflict_do_nothing(index_elements=["account_id", "external_id"])
        .returning(table.c.id)
    ).first()
    if inserted is None:  # seen before
        return False
    if reply_id is not None:
        # A reply held after an unknown outcome is on the platform after all.
        confirm_by_echo(session=session, reply_id=reply_id, platform_reply_id=item.external_id, at=now)
    record(
        session=session,
        actor=platform_actor(account.platform),
        action="channel.echo",
        entity_type="reply" if reply_id else "account",
        entity_id=reply_id or account.id,
        unit_code=account.unit_code,
        after={
            "account_id": account.id,
            "external_id": item.external_id,
            "reply_id": reply_id,
            "message_id": message_id,
            "matched_by": matched_by,
        },
        note="平台回传的本账号答复，未作为新留言入库",
        at=now,
    )
    return True


def _match(
    session: Session, account: ChannelAccount, item: InboundItem
) -> tuple[int | None, int | None, str | None]:
    """(reply id, message id, how) of the reply this echo is, or Nones."""
    joined = col(Message.id) == col(Reply.message_id)
    by_id = session.execute(
        select(col(Reply.id), col(Reply.message_id))
        .join(Message, joined)
        .where(col(Message.account_id) == account.id, col(Reply.platform_reply_id) == item.external_id)
        .limit(1)
    ).first()
    if by_id is not None:
        return by_id[0], by_id[1], "platform_reply_id"
    text = _squash(item.content)
    if not text:
        return None, None, None
    candidates = session.execute(
        select(
            col(Reply.id),
            col(Reply.message_id),
            col(Reply.text),
            col(Message.external_id),
            col(Message.author_id),
            col(Message.thread_ref),
        )
        .join(Message, joined)
        .where(col(Message.account_id) == account.id, col(Reply.state).in_(_SENT_STATES))
        .order_by(col(Reply.id).desc())
        .limit(_CANDIDATES)
    ).all()
    for reply_id, message_id, reply_text, external_id, author_id, thread_ref in candidates:
        if not same_thread(
            item.thread_ref, external_id=external_id, author_id=author_id, ref=thread_ref or {}
        ):
            continue
        ours = _squash(reply_text)
        # Weibo shows a reply as "回复@name:text"; compare the ending.
        if ours and (text == ours or text.endswith(ours)):
            return reply_id, message_id, "text"
    return None, None, None


def same_thread(
    echo: Mapping[str, str], *, external_id: str, author_id: str, ref: Mapping[str, object]
) -> bool:
    """Whether the echo answers the message with this external id, author and thread_ref."""
    if echo.get("reply_to_cid"):  # Weibo: our comment names the comment it answers
        return echo["reply_to_cid"] == external_id
    if echo.get("to_user_id"):  # Douyin private: the citizen the account wrote to
        same_conversation = bool(echo.get("conversation_id")) and echo["conversation_id"] == ref.get(
            "conversation_id"
        )
        return same_conversation or echo["to_user_id"] == author_id
    if echo.get("item_id"):  # Douyin comment: the same video
        return echo["item_id"] == ref.get("item_id")
    if echo.get("status_id"):  # Weibo comment without a parent: the same post
        return echo["status_id"] == ref.get("status_id")
    return False


def _squash(text: str) -> str:
    return "".join(text.split())
