"""scale: indexes for the deadline sort of messages and the reply queue (keyset pages, NULLS LAST)

Revision ID: 0008_i19
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_i19"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The texts app.messages.models.status_in_sql gives (a migration does not import the models: it keeps
# describing this revision after the models change).
QUEUE = "status IN ('open', 'drafting', 'in_review', 'approved', 'publishing')"
QUEUE_SQLITE = "+" + QUEUE
OPEN = "status IN ('received', 'open', 'drafting', 'in_review', 'approved', 'publishing')"
OPEN_SQLITE = "+" + OPEN


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_unit_due")
        batch_op.create_index("ix_messages_due_id", ["due_at", "id"], unique=False)
        batch_op.create_index("ix_messages_unit_due_id", ["unit_code", "due_at", "id"], unique=False)
        batch_op.create_index(
            "ix_messages_queue_due_id",
            ["due_at", "id"],
            unique=False,
            sqlite_where=sa.text(QUEUE_SQLITE),
            postgresql_where=sa.text(QUEUE),
        )
        batch_op.create_index(
            "ix_messages_queue_unit_due_id",
            ["unit_code", "due_at", "id"],
            unique=False,
            sqlite_where=sa.text(QUEUE_SQLITE),
            postgresql_where=sa.text(QUEUE),
        )
        batch_op.create_index(
            "ix_messages_open_sla",
            ["sla_state", "status"],
            unique=False,
            sqlite_where=sa.text(OPEN_SQLITE),
            postgresql_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_open_sla")
        batch_op.drop_index("ix_messages_queue_unit_due_id")
        batch_op.drop_index("ix_messages_queue_due_id")
        batch_op.drop_index("ix_messages_unit_due_id")
        batch_op.drop_index("ix_messages_due_id")
        batch_op.create_index("ix_messages_unit_due", ["unit_code", "due_at"], unique=False)
