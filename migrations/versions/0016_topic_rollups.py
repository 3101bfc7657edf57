"""topic roll-ups: per-term counts of whole local weeks and months over all units

Summed from the daily counts (topic_day_terms) by the topic-alert job, a bounded number of spans a run
(app.reports.topics.MAX_SPANS_PER_RUN); the tables start empty, and until a span is summed, requests
read its days' counts as before.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topic_spans",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "start"),
    )
    op.create_table(
        "topic_span_terms",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "start", "term"),
    )


def downgrade() -> None:
    op.drop_table("topic_span_terms")
    op.drop_table("topic_spans")
