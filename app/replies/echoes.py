"""Which reply an echo is: the account's own reply coming back through a poll or a push is matched by
the platform's id for the reply when the outbox recorded one, else by the same text in the same thread.
Lent to the channels (`app/channels/echoes.py`) through `LINKS`, installed by `app/wiring.py`."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlmodel import Session, col

from app.channels.echoes import ReplyLinks
from app.messages.models import Message
from app.replies.models import Reply
from app.replies.service import confirm_by_echo
from connectors.base import InboundItem

# Replies whose text may be on the platform (the rest were never sent).
_SENT_STATES = ("publishing", "published", "held", "approved", "undeliverable")
_CANDIDATES = 200


def match_echo(
    *, session: Session, account_id: int, item: InboundItem
) -> tuple[int | None, int | None, str | None]:
    """(reply id, message id, how) of the reply this echo of the account is, or Nones."""
    joined = col(Message.id) == col(Reply.message_id)
    by_id = session.execute(
        select(col(Reply.id), col(Reply.message_id))
        .join(Message, joined)
        .where(col(Message.account_id) == account_id, col(Reply.platform_reply_id) == item.external_id)
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
        .where(col(Message.account_id) == account_id, col(Reply.state).in_(_SENT_STATES))
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


LINKS = ReplyLinks(match=match_echo, confirm=confirm_by_echo)
