"""supervision (issue 17): closing time of messages closed without a reply; the registry's filing,
approval and effective dates and the 登记表's remaining fields

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("closed_at", app.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("account_registrations") as batch:
        batch.add_column(
            sa.Column(
                "maintainer", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False, server_default=""
            )
        )
        batch.add_column(
            sa.Column(
                "verification", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=""
            )
        )
    with op.batch_alter_table("account_registrations") as batch:
        batch.alter_column("maintainer", server_default=None)
        batch.alter_column("verification", server_default=None)
    with op.batch_alter_table("registry_events") as batch:
        batch.add_column(sa.Column("filed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("decided_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("applied_at", app.db.UTCDateTime(timezone=True), nullable=True))
    # Events approved before this revision took effect at approval.
    op.execute("UPDATE registry_events SET applied_at = decided_at WHERE status = 'approved'")

    with op.batch_alter_table("account_checks") as batch:
        batch.add_column(sa.Column("warning", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("unresponsive", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("account_checks") as batch:
        batch.alter_column("warning", server_default=None)
        batch.alter_column("unresponsive", server_default=None)
    op.create_table(
        "supervision_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deliveries", sa.JSON(), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_supervision_notices_state_next", "supervision_notices", ["state", "next_attempt_at"])
    op.create_index("ix_supervision_notices_unit_code", "supervision_notices", ["unit_code"])
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("period_key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("sampled", sa.JSON(), nullable=False),
        sa.Column("sent_to", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inspections_created_at", "inspections", ["created_at"])
    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("opened_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rectified_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rectified_note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("escalated_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspections.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rectifications_account_id", "rectifications", ["account_id"])
    op.create_index("ix_rectifications_inspection_id", "rectifications", ["inspection_id"])
    op.create_index("ix_rectifications_source_state", "rectifications", ["source", "state"])
    op.create_index("ix_rectifications_unit_code", "rectifications", ["unit_code"])
    op.create_table(
        "deadline_extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requested_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("decided_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("old_due_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("new_due_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deadline_extensions_message_id", "deadline_extensions", ["message_id"])
    op.create_index("ix_deadline_extensions_unit_code", "deadline_extensions", ["unit_code"])


def downgrade() -> None:
    op.drop_table("deadline_extensions")
    op.drop_table("rectifications")
    op.drop_table("inspections")
    op.drop_table("supervision_notices")
    with op.batch_alter_table("account_checks") as batch:
        batch.drop_column("unresponsive")
        batch.drop_column("warning")
    with op.batch_alter_table("registry_events") as batch:
        batch.drop_column("applied_at")
        batch.drop_column("decided_on")
        batch.drop_column("filed_on")
    with op.batch_alter_table("account_registrations") as batch:
        batch.drop_column("verification")
        batch.drop_column("maintainer")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("closed_at")
