"""report roll-ups: counts and reply-time histograms of whole local days, weeks and months, the triggers
that log changes voiding them, an index of the messages waiting for a first reply, and out_of_scope in
ix_messages_other_limit

`report_spans` / `report_cells` start empty: the report roll-up job (app.reports.rollups) builds them. The
triggers on `messages` log, in the writer's transaction, the receipt time of every message the roll-ups
count (every one not waiting for its first reply) that is inserted, deleted, or updated in a column the
reports read, so that a report never reads a roll-up whose range changed since it was built.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of app.messages.models.REPORT_COLUMNS and OPEN_ORDER as they are at this revision
# (tests/reports/test_rollups.py checks the triggers' behaviour against the models).
REPORT_COLUMNS = (
    "received_at",
    "unit_code",
    "account_id",
    "platform",
    "status",
    "first_replied_at",
    "due_at",
    "closed_at",
    "out_of_scope",
    "transfer_count",
    "escalation_level",
    "reply_working_days",
    "reply_working_hours",
)
OTHER_LIMIT = "working_days <> 5"
OPEN = "'received', 'open', 'drafting', 'in_review', 'approved', 'publishing'"
COUNT_COLUMNS = (
    "received",
    "answered",
    "answered_on_time",
    "answered_late",
    "out_of_scope",
    "transferred",
    "transfers",
    "escalated",
    "closed_without_reply",
    "closed_late",
)


def upgrade() -> None:
    op.create_table(
        "report_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_changes_received_at", "report_changes", ["received_at"], unique=False)
    op.create_table(
        "report_spans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_report_spans_live",
        "report_spans",
        ["zone", "kind", "start"],
        unique=True,
        sqlite_where=sa.text("retired_at IS NULL"),
        postgresql_where=sa.text("retired_at IS NULL"),
    )
    op.create_index("ix_report_spans_start_at", "report_spans", ["start_at"], unique=False)
    op.create_table(
        "report_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("span_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNT_COLUMNS),
        sa.Column("days_hist", sa.LargeBinary(), nullable=False),
        sa.Column("hours_hist", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["span_id"], ["report_spans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_cells_span_id", "report_cells", ["span_id"], unique=False)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_waiting_report",
            list(REPORT_COLUMNS),
            unique=False,
            sqlite_where=sa.text(f"+status IN ({OPEN}) AND first_replied_at IS NULL"),
            postgresql_where=sa.text(f"status IN ({OPEN}) AND first_replied_at IS NULL"),
        )
        # The note on deadlines computed with another limit skips out-of-scope messages: from the index alone.
        batch_op.drop_index("ix_messages_other_limit")
        batch_op.create_index(
            "ix_messages_other_limit",
            ["received_at", "unit_code", "working_days", "out_of_scope"],
            unique=False,
            sqlite_where=sa.text(OTHER_LIMIT),
            postgresql_where=sa.text(OTHER_LIMIT),
        )
    dialect = op.get_bind().dialect.name
    for statement in trigger_statements(dialect):
        op.execute(statement)


def trigger_statements(dialect: str) -> list[str]:
    """The triggers that log report changes, as this revision makes them (SQLite, PostgreSQL)."""

    def waiting(row: str) -> str:
        return f"({row}.status IN ({OPEN}) AND {row}.first_replied_at IS NULL)"

    changed = " OR ".join(
        f"OLD.{c} IS {'NOT' if dialect == 'sqlite' else 'DISTINCT FROM'} NEW.{c}" for c in REPORT_COLUMNS
    )
    moved = f"NEW.received_at IS {'NOT' if dialect == 'sqlite' else 'DISTINCT FROM'} OLD.received_at"
    update_when = f"(NOT {waiting('OLD')} OR NOT {waiting('NEW')}) AND ({changed})"
    if dialect == "sqlite":
        return [
            f"""CREATE TRIGGER tr_messages_report_insert AFTER INSERT ON messages
WHEN NOT {waiting("NEW")}
BEGIN INSERT INTO report_changes (received_at) VALUES (NEW.received_at); END""",  # noqa: S608 (this revision's constants)
            f"""CREATE TRIGGER tr_messages_report_delete AFTER DELETE ON messages
WHEN NOT {waiting("OLD")}
BEGIN INSERT INTO report_changes (received_at) VALUES (OLD.received_at); END""",  # noqa: S608 (this revision's constants)
            f"""CREATE TRIGGER tr_messages_report_update AFTER UPDATE ON messages
WHEN {update_when}
BEGIN
INSERT INTO report_changes (received_at) SELECT OLD.received_at WHERE NOT {waiting("OLD")};
INSERT INTO report_changes (received_at) SELECT NEW.received_at
WHERE NOT {waiting("NEW")} AND ({waiting("OLD")} OR {moved});
END""",  # noqa: S608 (this revision's constants)
        ]
    return [
        f"""CREATE FUNCTION report_change_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO report_changes (received_at) VALUES (NEW.received_at);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO report_changes (received_at) VALUES (OLD.received_at);
  ELSE
    IF NOT {waiting("OLD")} THEN
      INSERT INTO report_changes (received_at) VALUES (OLD.received_at);
    END IF;
    IF NOT {waiting("NEW")} AND ({waiting("OLD")} OR {moved}) THEN
      INSERT INTO report_changes (received_at) VALUES (NEW.received_at);
    END IF;
  END IF;
  RETURN NULL;
END
$$""",  # noqa: S608 (this revision's constants)
        f"""CREATE TRIGGER tr_messages_report_insert AFTER INSERT ON messages
FOR EACH ROW WHEN (NOT {waiting("NEW")}) EXECUTE FUNCTION report_change_logged()""",
        f"""CREATE TRIGGER tr_messages_report_delete AFTER DELETE ON messages
FOR EACH ROW WHEN (NOT {waiting("OLD")}) EXECUTE FUNCTION report_change_logged()""",
        f"""CREATE TRIGGER tr_messages_report_update AFTER UPDATE ON messages
FOR EACH ROW WHEN ({update_when}) EXECUTE FUNCTION report_change_logged()""",
    ]


def downgrade() -> None:
    bind = op.get_bind()
    for name in ("insert", "delete", "update"):
        on = " ON messages" if bind.dialect.name == "postgresql" else ""
        op.execute(f"DROP TRIGGER IF EXISTS tr_messages_report_{name}{on}")
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS report_change_logged()")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_waiting_report")
        batch_op.drop_index("ix_messages_other_limit")
        batch_op.create_index(
            "ix_messages_other_limit",
            ["received_at", "unit_code", "working_days"],
            unique=False,
            sqlite_where=sa.text(OTHER_LIMIT),
            postgresql_where=sa.text(OTHER_LIMIT),
        )
    op.drop_index("ix_report_cells_span_id", table_name="report_cells")
    op.drop_table("report_cells")
    op.drop_index("ix_report_spans_start_at", table_name="report_spans")
    op.drop_index("ux_report_spans_live", table_name="report_spans")
    op.drop_table("report_spans")
    op.drop_index("ix_report_changes_received_at", table_name="report_changes")
    op.drop_table("report_changes")
