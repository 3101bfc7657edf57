"""What the reports count of a set of messages, as SQL aggregates: shared by the reports, which count live
rows, and the roll-up job, which counts whole days and months once (app.reports.rollups)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import col

from app.messages.models import OPEN_ORDER, OPEN_STATUSES, UNANSWERED_SQL, Message, MessageStatus, status_in

COUNT_FIELDS = (
    "received",
    "answered",
    "answered_on_time",
    "answered_late",
    "overdue_now",
    "open_now",
    "out_of_scope",
    "transferred",
    "transfers",
    "escalated",
    "closed_without_reply",
    "closed_late",
)
# Only a message waiting for its first reply can be overdue or open now (the fields that change as time
# passes without the message changing): the roll-ups count every other message and keep these two out.
NOW_FIELDS = ("overdue_now", "open_now")
ROLLED_FIELDS = tuple(name for name in COUNT_FIELDS if name not in NOW_FIELDS)


def flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def waiting() -> ColumnElement[bool]:
    """Open and not answered yet, written as the partial indexes ix_messages_waiting_due and
    ix_messages_waiting_report are made (and as the triggers of migration 0017 test a row)."""
    return and_(status_in(OPEN_ORDER), text(UNANSWERED_SQL))


def not_waiting() -> ColumnElement[bool]:
    return not_(
        and_(col(Message.status).in_([s.value for s in OPEN_ORDER]), col(Message.first_replied_at).is_(None))
    )


def count_columns(now: Any) -> list[Any]:
    replied = col(Message.first_replied_at)
    due = col(Message.due_at)
    answered = replied.is_not(None)
    open_wait = and_(replied.is_(None), col(Message.status).in_([s.value for s in OPEN_STATUSES]))
    unanswered_close = and_(replied.is_(None), col(Message.status) == MessageStatus.closed.value)
    return [
        func.count().label("received"),
        flag(answered).label("answered"),
        flag(and_(answered, due.is_not(None), replied <= due)).label("answered_on_time"),
        flag(and_(answered, due.is_not(None), replied > due)).label("answered_late"),
        flag(and_(open_wait, due < now)).label("overdue_now"),
        flag(and_(open_wait, or_(due.is_(None), due >= now))).label("open_now"),
        flag(col(Message.out_of_scope).is_(True)).label("out_of_scope"),
        flag(col(Message.transfer_count) > 0).label("transferred"),
        func.coalesce(func.sum(col(Message.transfer_count)), 0).label("transfers"),
        flag(col(Message.escalation_level) > 0).label("escalated"),
        flag(unanswered_close).label("closed_without_reply"),
        # Closed after the deadline passed: it was not answered in time, whatever the closing reason.
        flag(and_(unanswered_close, due.is_not(None), col(Message.closed_at) > due)).label("closed_late"),
    ]


def waiting_columns(now: Any) -> list[Any]:
    """`count_columns` of messages known to be waiting (open, unanswered): the others are zero."""
    zero = {"answered", "answered_on_time", "answered_late", "closed_without_reply", "closed_late"}
    return [c for c in count_columns(now) if c.name not in zero]


def rolled_columns() -> list[Any]:
    """`count_columns` without the fields that depend on the time of asking."""
    return [c for c in count_columns(datetime(1970, 1, 1, tzinfo=UTC)) if c.name not in NOW_FIELDS]


def answered_unmeasured() -> Any:
    """Answers without a stored reply time (written by another path than the first reply)."""
    return flag(
        and_(col(Message.first_replied_at).is_not(None), col(Message.reply_working_days).is_(None))
    ).label("unmeasured")


class NoIndex(ColumnElement[Any]):
    """A column that SQLite's planner may not take an index for (a unary plus). Grouped by a plain
    `unit_code`, SQLite (without statistics) would walk ix_messages_unit_due_id to skip a sort and
    look up every row, instead of reading ix_messages_report alone."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012 (SQLAlchemy's)

    def __init__(self, column: Any) -> None:
        self.column: ColumnElement[Any] = column
        self.type = column.type


@compiles(NoIndex)
def _no_index_sql(element: NoIndex, compiler: Any, **kw: Any) -> str:
    inner = compiler.process(element.column, **kw)
    return f"+{inner}" if compiler.dialect.name == "sqlite" else str(inner)
