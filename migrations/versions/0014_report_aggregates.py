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


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_working_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reply_working_hours", sa.Float(), nullable=True))
    # Messages answered before this revision get their reply time measured now, under the calendar and
    # working hours in force (what the reports used to measure on every request).
    from app.sla.service import fill_reply_times

    with Session(bind=op.get_bind()) as session:
        fill_reply_times(session=session)
        session.flush()


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("reply_working_hours")
        batch_op.drop_column("reply_working_days")
