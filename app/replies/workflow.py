"""The one state machine of replies and of the message they answer: which moves are legal, and what
status the message shows for its reply's state. Every other module asks here; an illegal move is 409."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from app.errors import Conflict, Forbidden
from app.messages.models import Message, MessageStatus
from app.users.models import Role


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

# Who may take a move: the roles that draft, the roles that review, only a leader, or only the system
# (the outbox and the platform's echoes, acting with no person behind them).
DRAFTERS = frozenset({Role.operator, Role.reviewer, Role.leader})
REVIEWERS = frozenset({Role.reviewer, Role.leader})
LEADERS = frozenset({Role.leader})
SYSTEM_ONLY: frozenset[Role] = frozenset()


@dataclass(frozen=True)
class Transition:
    """One legal move: from any of `sources` to `target`, by a person in `roles` (empty = the system)."""

    sources: frozenset[ReplyState]
    target: ReplyState
    roles: frozenset[Role]
    what: str  # the action in Chinese, for the 409 message


def _t(sources: set[ReplyState], target: ReplyState, roles: frozenset[Role], what: str) -> Transition:
    return Transition(frozenset(sources), target, roles, what)


S = ReplyState
# The one table of moves, keyed by the name `move()` is called with. Anything not here is refused: a
# move from another state is 409, by another role 403. Adding a move is adding one row.
TRANSITIONS: MappingProxyType[str, Transition] = MappingProxyType(
    {
        "submit": _t({S.drafting}, S.in_review, DRAFTERS, "提交审核"),
        "withdraw": _t({S.drafting, S.in_review, S.leader_review}, S.withdrawn, DRAFTERS, "撤回"),
        "approve": _t({S.in_review}, S.approved, REVIEWERS, "审核通过"),
        "approve_to_leader": _t({S.in_review}, S.leader_review, REVIEWERS, "审核通过"),
        # A reviewer sends any reply to the leader by hand (提请领导复核), not only flagged ones.
        "escalate": _t({S.in_review}, S.leader_review, REVIEWERS, "提请领导复核"),
        "leader_approve": _t({S.leader_review}, S.approved, LEADERS, "审核通过"),
        "reject": _t({S.in_review}, S.drafting, REVIEWERS, "退回"),
        "leader_reject": _t({S.leader_review}, S.drafting, LEADERS, "退回"),
        # The outbox.
        "claim": _t({S.approved}, S.publishing, SYSTEM_ONLY, "发布"),
        "published": _t({S.publishing}, S.published, SYSTEM_ONLY, "记为已发布"),
        "not_sent": _t({S.publishing}, S.approved, SYSTEM_ONLY, "安排重试"),
        "hold": _t({S.publishing}, S.held, SYSTEM_ONLY, "转人工确认"),
        "undeliverable": _t({S.publishing}, S.undeliverable, SYSTEM_ONLY, "记为无法送达"),
        "echo_confirmed": _t({S.held}, S.published, SYSTEM_ONLY, "确认已发布"),
        # A person settles what the outbox could not: send the approved text again, or record that it
        # reached the citizen. Only from these states, so review can never be skipped.
        "retry": _t({S.held, S.undeliverable}, S.approved, DRAFTERS, "重新发布"),
        "confirm_published": _t({S.held}, S.published, DRAFTERS, "确认已发布"),
        "deliver_manually": _t({S.held, S.undeliverable}, S.published, DRAFTERS, "登记人工送达"),
    }
)
del S

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
# States a reply reaches only after its last approval.
APPROVED_STATES = frozenset(
    {
        ReplyState.approved,
        ReplyState.publishing,
        ReplyState.published,
        ReplyState.held,
        ReplyState.undeliverable,
    }
)

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


def check_move(current: str, name: str, *, actor_role: Role | None) -> Transition:
    """The transition `name` if a reply in `current` may take it by this actor (None = the system).

    409 from a state the row does not name; 403 for a role it does not name (or a person taking a
    system move, or the system taking a person's)."""
    transition = TRANSITIONS[name]
    if ReplyState(current) not in transition.sources:
        raise conflict(current, transition.what)
    if (actor_role is None) != (not transition.roles) or (
        actor_role is not None and actor_role not in transition.roles
    ):
        raise Forbidden("当前角色无权执行此操作")
    return transition


def require_message(message: Message, allowed: frozenset[MessageStatus], *, action: str) -> None:
    """Raises Conflict (409) unless the message's status allows `action`."""
    if message.status not in allowed:
        label = MESSAGE_LABELS.get(MessageStatus(message.status), message.status)
        raise Conflict(f"留言当前状态为「{label}」，不能{action}", code="illegal_transition")


def message_status(state: str) -> MessageStatus:
    """The status a message shows while its reply is in `state`."""
    return MESSAGE_STATUS[ReplyState(state)]
