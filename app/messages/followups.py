"""Follow-ups (追问): a citizen's new message in the same conversation — same account, same author, same
thread on the platform (the article, post or video commented on, or the private chat) — after the earlier
message was answered is linked to it and goes to the unit that answered. It is an ordinary message
otherwise: its own deadline, the same drafting and review."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, Session, SQLModel, col, select

from app.auth import Principal
from app.messages.models import Message

# The keys of `thread_ref` that name the conversation, per platform: WeChat article / private chat,
# Weibo post / private chat, Douyin video / conversation, the generic board's thread.
CONVERSATION_KEYS = (
    "msg_data_id",
    "status_id",
    "item_id",
    "conversation_id",
    "thread_id",
    "openid",
    "sender_id",
)


class MessageThread(SQLModel, table=True):
    """The conversation a message belongs to and the answered message it follows up (if any)."""

    __tablename__ = "message_threads"
    __table_args__ = (
        Index("ix_message_threads_conversation", "account_id", "conversation_key", "author_id"),
    )

    message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("messages.id"), primary_key=True, autoincrement=False)
    )
    account_id: int
    author_id: str = Field(max_length=128)
    conversation_key: str = Field(sa_column=Column(String(200), nullable=False))
    follow_up_of: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("messages.id"), nullable=True, index=True)
    )


def conversation_key(message: Message) -> str | None:
    """Where on the platform the message was said, or None when the platform gave no thread."""
    ref = message.thread_ref or {}
    for name in CONVERSATION_KEYS:
        value = ref.get(name)
        if value not in (None, ""):
            suffix = f":{ref.get('index', '0')}" if name == "msg_data_id" else ""
            return f"{message.kind}:{name}={value}{suffix}"[:200]
    if message.kind == "private":
        return "private"  # a private chat is one conversation per author and account
    return None


def link_follow_up(*, session: Session, message: Message) -> None:
    """Records the message's conversation and, when the same citizen was answered earlier in it, links
    this message to that one and sends it to the unit that answered (intake, after routing)."""
    key = conversation_key(message)
    if key is None or not message.author_id or message.id is None:
        return
    earlier = session.exec(
        select(Message)
        .join(MessageThread, col(MessageThread.message_id) == col(Message.id))
        .where(
            MessageThread.account_id == message.account_id,
            MessageThread.conversation_key == key,
            MessageThread.author_id == message.author_id,
            col(Message.id) != message.id,
            col(Message.first_replied_at).is_not(None),
            col(Message.first_replied_at) <= message.received_at,
        )
        .order_by(col(Message.received_at).desc(), col(Message.id).desc())
        .limit(1)
    ).first()
    existing = session.get(MessageThread, message.id)
    if existing is None:
        session.add(
            MessageThread(
                message_id=message.id,
                account_id=message.account_id,
                author_id=message.author_id,
                conversation_key=key,
                follow_up_of=earlier.id if earlier else None,
            )
        )
    if earlier is None:
        return
    if earlier.unit_code and not message.transfer_count:
        routing = dict(message.routing or {})
        routing["reason"] = (
            f"追问：同一网民在同一会话中对已答复的留言 #{earlier.id} 的后续留言，交原承办单位办理"
        )
        routing["unit_code"] = earlier.unit_code
        routing["follow_up_of"] = earlier.id
        message.unit_code = earlier.unit_code
        message.routing = routing
        message.out_of_scope = False


def conversation(*, session: Session, principal: Principal, message_id: int) -> list[Message]:
    """The chain the message belongs to — the answered messages it follows up and the follow-ups after it —
    oldest first, only those the principal may see."""
    chain: dict[int, Message] = {}
    # Walk back to the first message, then forward through every follow-up.
    current: int | None = message_id
    while current is not None and current not in chain:
        row = session.get(MessageThread, current)
        message = session.get(Message, current)
        if message is None:
            break
        chain[current] = message
        current = row.follow_up_of if row else None
    frontier = list(chain)
    while frontier:
        later = session.exec(
            select(MessageThread.message_id).where(col(MessageThread.follow_up_of).in_(frontier))
        ).all()
        frontier = [m for m in later if m not in chain]
        for found in frontier:
            message = session.get(Message, found)
            if message is not None:
                chain[found] = message
    visible = [m for m in chain.values() if principal.sees_unit(m.unit_code)]
    return sorted(visible, key=lambda m: (m.received_at, m.id or 0))
