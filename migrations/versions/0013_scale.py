"""scale: indexes for the deadline sort of messages and the reply queue (keyset pages, NULLS LAST)

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The texts app.messages.models.status_in_sql gives (a migration does not import the models: it keeps
# describing this revision after the models change).
QUEUE = "status IN ('open', 'drafting', 'in_review', 'approved', 'publishing')"
QUEUE_SQLITE = "+" + QUEUE
OPEN = "status IN ('received', 'open', 'drafting', 'in_review', 'approved', 'publishing')"
OPEN_SQLITE = "+" + OPEN


# The partial indexes: (name, columns, condition on PostgreSQL, condition on SQLite).
PARTIAL = (
    ("ix_messages_queue_due_id", ["due_at", "id"], QUEUE, QUEUE_SQLITE),
    ("ix_messages_queue_unit_due_id", ["unit_code", "due_at", "id"], QUEUE, QUEUE_SQLITE),
    ("ix_messages_open_sla", ["sla_state", "status"], OPEN, OPEN_SQLITE),
)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_unit_due")
        batch_op.create_index("ix_messages_due_id", ["due_at", "id"], unique=False)
        batch_op.create_index("ix_messages_unit_due_id", ["unit_code", "due_at", "id"], unique=False)
        for name, columns, pg_where, sqlite_where in PARTIAL:
            batch_op.create_index(
                name,
                columns,
                unique=False,
                sqlite_where=sa.text(sqlite_where),
                postgresql_where=sa.text(pg_where),
            )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        for name, *_ in reversed(PARTIAL):
            batch_op.drop_index(name)
        batch_op.drop_index("ix_messages_unit_due_id")
        batch_op.drop_index("ix_messages_due_id")
        batch_op.create_index("ix_messages_unit_due", ["unit_code", "due_at"], unique=False)
