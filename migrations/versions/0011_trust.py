"""trust: the replay cache of WeChat plain-mode pushes (push_nonces)

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "push_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("body_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seen_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "timestamp", "nonce", name="uq_push_nonces_account_timestamp_nonce"),
    )
    with op.batch_alter_table("push_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_nonces_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_nonces_seen_at"))
    op.drop_table("push_nonces")
