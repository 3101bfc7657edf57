"""content safety: evidence of illegal and harmful content, outgoing checks on replies, new lexicon kinds

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_KINDS = ("harsh", "target", "prohibited", "rumour")


def upgrade() -> None:
    op.create_table(
        "moderation_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("moderation_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_evidence_at", ["at"], unique=False)
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checks", sa.JSON(), nullable=False, server_default="[]"))
    _seed_new_kinds()


def _seed_new_kinds() -> None:
    """A lexicon already edited lives in the database only: give it the shipped terms of the new kinds
    (an untouched lexicon reads the shipped files and needs nothing)."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM moderation_lexicon_state")).scalar():
        from app.moderation.lexicon import default_entries

        now = datetime.now(UTC)
        seen: set[tuple[str, str]] = set()
        rows = []
        for entry in default_entries():
            if entry.kind in NEW_KINDS and (entry.kind, entry.term) not in seen:
                seen.add((entry.kind, entry.term))
                rows.append(
                    {
                        "kind": entry.kind,
                        "term": entry.term,
                        "category": entry.category,
                        "created_by": "system",
                        "created_at": now,
                    }
                )
        terms = sa.table(
            "moderation_terms",
            sa.column("kind", sa.String),
            sa.column("term", sa.String),
            sa.column("category", sa.String),
            sa.column("created_by", sa.String),
            sa.column("created_at", app.db.UTCDateTime(timezone=True)),
        )
        if rows:
            op.bulk_insert(terms, rows)


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM moderation_terms WHERE kind IN ('harsh', 'target', 'prohibited', 'rumour')")
    )
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_column("checks")
    with op.batch_alter_table("moderation_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_evidence_at")
    op.drop_table("moderation_evidence")
