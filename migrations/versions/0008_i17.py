"""supervision (issue 17): closing time of messages closed without a reply; the registry's filing,
approval and effective dates and the 登记表's remaining fields

Revision ID: 0008_i17
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0008_i17"
down_revision: str | None = "0007"
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


def downgrade() -> None:
    with op.batch_alter_table("registry_events") as batch:
        batch.drop_column("applied_at")
        batch.drop_column("decided_on")
        batch.drop_column("filed_on")
    with op.batch_alter_table("account_registrations") as batch:
        batch.drop_column("verification")
        batch.drop_column("maintainer")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("closed_at")
