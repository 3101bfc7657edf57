"""The one state machine of replies and of the message they answer: which moves are legal, and what
status the message shows for its reply's state. Every other module asks here; an illegal move is 409."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from app.errors import Conflict
from app.messages.models import Message, MessageStatus


class ReplyState(StrEnum):
    drafting = "drafting"
    in_review = "in_review"  # first-level review (a reviewer of the unit)
    leader_review = "leader_review"  # second-level review of a sensitive message (a leader of the unit)
    approved = "approved"  # in the outbox, waiting for its next attempt
    publishing = "publishing"  # handed to the platform; the outcome is not recorded yet
    published = "published"
    held = "held"  # outcome unknown and not checkable: a person must confirm or retry
    undeliverable = "undeliverable"  # refused by the platform (or gave up): reason + alternative shown
    withdrawn = "withdrawn"  # discarded before approval (withdrawn, or the message was closed)


LABELS = MappingProxyType(
    {
        ReplyState.drafting: "起草中",
        ReplyState.in_review: "待审核",
        ReplyState.leader_review: "待领导复核",
        ReplyState.approved: "已审核待发布",
        ReplyState.publishing: "发布中",
        ReplyState.published: "已发布",
        ReplyState.held: "待人工确认",
        ReplyState.undeliverable: "无法送达",
        ReplyState.withdrawn: "已撤回",
    }
)

MESSAGE_LABELS = MappingProxyType(
    {
        MessageStatus.received: "待分办",
        MessageStatus.open: "待答复",
        MessageStatus.drafting: "起草中",
        MessageStatus.in_review: "审核中",
        MessageStatus.approved: "待发布",
        MessageStatus.publishing: "发布中",
        MessageStatus.published: "已答复",
        MessageStatus.closed: "已关闭",
    }
)

TRANSITIONS: MappingProxyType[ReplyState, frozenset[ReplyState]] = MappingProxyType(
    {
        ReplyState.drafting: frozenset({ReplyState.in_review, ReplyState.withdrawn}),
        ReplyState.in_review: frozenset(
            {ReplyState.leader_review, ReplyState.approved, ReplyState.drafting, ReplyState.withdrawn}
        ),
        ReplyState.leader_review: frozenset({ReplyState.approved, ReplyState.drafting, ReplyState.withdrawn}),
        ReplyState.approved: frozenset({ReplyState.publishing}),
        # publishing → approved: not sent (or to be checked), next attempt scheduled.
        ReplyState.publishing: frozenset(
            {ReplyState.published, ReplyState.approved, ReplyState.held, ReplyState.undeliverable}
        ),
        # A person decides: send again (approved) or record that it reached the citizen (published).
        ReplyState.held: frozenset({ReplyState.approved, ReplyState.published}),
        ReplyState.undeliverable: frozenset({ReplyState.approved, ReplyState.published}),
        ReplyState.published: frozenset(),
        ReplyState.withdrawn: frozenset(),
    }
)

# The replies that still stand for the message; a message has at most one.
ACTIVE = frozenset(
    {
        ReplyState.drafting,
        ReplyState.in_review,
        ReplyState.leader_review,
        ReplyState.approved,
        ReplyState.publishing,
        ReplyState.held,
    }
)
REVIEWABLE = frozenset({ReplyState.in_review, ReplyState.leader_review})

# What the message shows while its reply is in a state; None = the message is open again.
MESSAGE_STATUS: MappingProxyType[ReplyState, MessageStatus] = MappingProxyType(
    {
        ReplyState.drafting: MessageStatus.drafting,
        ReplyState.in_review: MessageStatus.in_review,
        ReplyState.leader_review: MessageStatus.in_review,
        ReplyState.approved: MessageStatus.approved,
        ReplyState.publishing: MessageStatus.publishing,
        ReplyState.held: MessageStatus.publishing,  # it may be on the platform already
        ReplyState.published: MessageStatus.published,
        ReplyState.undeliverable: MessageStatus.open,
        ReplyState.withdrawn: MessageStatus.open,
    }
)

# Message-level moves that do not go through a reply.
CAN_DRAFT = frozenset({MessageStatus.open})
CAN_MARK_OUT_OF_SCOPE = frozenset({MessageStatus.open})
CAN_CLOSE = frozenset({MessageStatus.open, MessageStatus.drafting, MessageStatus.in_review})


def conflict(current: str, action: str) -> Conflict:
    """The 409 for doing `action` to a reply in state `current`."""
    return Conflict(
        f"答复当前状态为「{LABELS[ReplyState(current)]}」，不能{action}", code="illegal_transition"
    )


def check_move(current: str, target: ReplyState, *, action: str) -> None:
    """Raises Conflict (409) unless a reply in `current` may move to `target`."""
    if target not in TRANSITIONS[ReplyState(current)]:
        raise conflict(current, action)


def require_message(message: Message, allowed: frozenset[MessageStatus], *, action: str) -> None:
    """Raises Conflict (409) unless the message's status allows `action`."""
    if message.status not in allowed:
        label = MESSAGE_LABELS.get(MessageStatus(message.status), message.status)
        raise Conflict(f"留言当前状态为「{label}」，不能{action}", code="illegal_transition")


def message_status(state: str) -> MessageStatus:
    """The status a message shows while its reply is in `state`."""
    return MESSAGE_STATUS[ReplyState(state)]


def is_active(state: str) -> bool:
    return ReplyState(state) in ACTIVE
