"""Imports every table so that `SQLModel.metadata` knows the whole schema (migrations, tests)."""

from sqlmodel import SQLModel

from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.messages.models import InboundItem, Message
from app.replies.models import Reply, ReplyReview  # noqa: F401
from app.units.models import Unit
from app.users.models import ApiToken, User

metadata = SQLModel.metadata

__all__ = ["Account", "ApiToken", "AuditEvent", "InboundItem", "Message", "Unit", "User", "metadata"]
