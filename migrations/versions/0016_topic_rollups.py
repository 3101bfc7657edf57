"""topic roll-ups: per-term counts of whole local weeks and months over all units, and an index for
checking counts against their messages

Summed from the daily counts (topic_day_terms) by the topic-alert job, a bounded number of spans a run
(app.reports.topics.MAX_SPANS_PER_RUN); the tables start empty, and until a span is summed, requests
read its days' counts as before. ix_messages_received_unit_id lets hot topics fingerprint a range of
messages (per unit: how many, the sum of their ids) from the index alone.

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
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_received_unit_id", ["received_at", "unit_code", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_received_unit_id")
    op.drop_table("topic_span_terms")
    op.drop_table("topic_spans")
