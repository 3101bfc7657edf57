"""channels: capability status per account, and removals of citizens' messages from their platforms

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_capabilities",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("token_expires_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refresh_expires_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("secrets_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("checked_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expiry_alerted_for", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_index(
        op.f("ix_channel_capabilities_next_check_at"), "channel_capabilities", ["next_check_at"], unique=False
    )
    op.create_table(
        "platform_removals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_platform_removals_message_id"), "platform_removals", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_platform_removals_message_id"), table_name="platform_removals")
    op.drop_table("platform_removals")
    op.drop_index(op.f("ix_channel_capabilities_next_check_at"), table_name="channel_capabilities")
    op.drop_table("channel_capabilities")
