"""report aggregates: each message's reply time in working days and hours, stored with its first reply

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel import Session

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The texts of app.messages.models REPORT_COLUMNS and OTHER_LIMIT_SQL (a migration does not import the
# models' constants: it keeps describing this revision after they change).
REPORT_COLUMNS = [
    "received_at",
    "unit_code",
    "account_id",
    "platform",
    "status",
    "first_replied_at",
    "due_at",
    "closed_at",
    "out_of_scope",
    "transfer_count",
    "escalation_level",
    "reply_working_days",
    "reply_working_hours",
]
OTHER_LIMIT = "working_days <> 5"
OPEN = "status IN ('received', 'open', 'drafting', 'in_review', 'approved', 'publishing')"
WAITING = f"{OPEN} AND first_replied_at IS NULL"
WAITING_SQLITE = f"+{WAITING}"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_working_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reply_working_hours", sa.Float(), nullable=True))
        batch_op.create_index("ix_messages_report", REPORT_COLUMNS, unique=False)
        batch_op.create_index(
            "ix_messages_other_limit",
            ["received_at", "unit_code", "working_days"],
            unique=False,
            sqlite_where=sa.text(OTHER_LIMIT),
            postgresql_where=sa.text(OTHER_LIMIT),
        )
        batch_op.create_index(
            "ix_messages_waiting_due",
            ["due_at", "unit_code", "id"],
            unique=False,
            sqlite_where=sa.text(WAITING_SQLITE),
            postgresql_where=sa.text(WAITING),
        )
    # Messages answered before this revision get their reply time measured now, under the calendar and
    # working hours in force (what the reports used to measure on every request).
    from app.sla.service import fill_reply_times

    with Session(bind=op.get_bind()) as session:
        fill_reply_times(session=session)
        session.flush()


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_waiting_due")
        batch_op.drop_index("ix_messages_other_limit")
        batch_op.drop_index("ix_messages_report")
        batch_op.drop_column("reply_working_hours")
        batch_op.drop_column("reply_working_days")
