"""topic counts: daily per-term counts of hot topics (per local day, unit and term, with the ids)

The tables start empty: the topic-alert job counts the days, newest first, a bounded number a run
(app.reports.topics.MAX_DAYS_PER_RUN); until a day is counted, hot topics count it message by message.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topic_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "topic_day_terms",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day", "unit_code", "term"),
    )
    with op.batch_alter_table("topic_day_terms", schema=None) as batch_op:
        batch_op.create_index("ix_topic_day_terms_term_day", ["term", "day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("topic_day_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_topic_day_terms_term_day")
    op.drop_table("topic_day_terms")
    op.drop_table("topic_days")
