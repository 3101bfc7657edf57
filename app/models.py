"""Imports every table so that `SQLModel.metadata` knows the whole schema (migrations, tests)."""

from sqlmodel import SQLModel

from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.calendar.models import CalendarDay, CalendarVersion, CalendarYear  # noqa: F401
from app.channels.models import ChannelEcho, ChannelHealth, ChannelToken, PollTarget, PushNonce  # noqa: F401
from app.knowledge.models import KnowledgeEntry, KnowledgeEntryVersion, KnowledgeState  # noqa: F401
from app.messages.followups import MessageThread  # noqa: F401
from app.messages.models import IntakeItem, Message
from app.messages.search import MessageSearch  # noqa: F401
from app.moderation.models import AuthorOffence, LexiconState, ModerationTerm  # noqa: F401
from app.notifications.models import InboxRead, NotificationChannel, SlaNotification  # noqa: F401
from app.registry.models import AccountCheck, Registration, RegistryEvent  # noqa: F401
from app.replies.models import Reply, ReplyReview  # noqa: F401
from app.reports.models import MessageTerms, TopicAlert  # noqa: F401
from app.routing.models import (  # noqa: F401
    MessageTransfer,
    RoutingConfig,
    RoutingExample,
    RoutingModelRow,
    RoutingRuleRow,
    RoutingVersion,
)
from app.sla.models import SlaConfig  # noqa: F401
from app.supervision.models import (  # noqa: F401
    DeadlineExtension,
    Inspection,
    Rectification,
    SupervisionNotice,
)
from app.units.models import Unit
from app.users.models import ApiToken, User, UserSession  # noqa: F401

metadata = SQLModel.metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Schema comparison filter: SQLite's FTS5 search table (and its shadow tables) are made by the
    migration, not by the models."""
    return not (type_ == "table" and name is not None and name.startswith("message_fts"))


__all__ = ["Account", "ApiToken", "AuditEvent", "IntakeItem", "Message", "Unit", "User", "metadata"]
