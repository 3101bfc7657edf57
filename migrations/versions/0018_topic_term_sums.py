"""topic term sums: a number for every topic term, and each counted day's and each summed week's or
month's messages per term over all units as one array on its row

Hot topics without a unit scope (the supervising office, the board) add these arrays up (numpy) instead
of grouping the per-term rows of `topic_day_terms` and `topic_span_terms` in SQL. The terms and arrays of
the days and spans counted before this revision are made here from those rows; the topic-alert job
writes them from now on.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of app.reports.stats.HISTOGRAM / encode_counts as they are at this revision.
PAIRS = np.dtype([("v", "<i4"), ("n", "<i4")])


def _fill(table: str, terms_table: str, keys: tuple[str, ...], ids: dict[str, int]) -> None:
    """Sets `sums` on every row of `table` from its rows in `terms_table` (one statement per row)."""
    conn = op.get_bind()
    target = sa.table(table, *(sa.column(k) for k in keys), sa.column("sums", sa.LargeBinary))
    source = sa.table(terms_table, *(sa.column(k) for k in keys), sa.column("term"), sa.column("count"))
    for row in conn.execute(sa.select(*(target.c[k] for k in keys))).all():
        match = [source.c[k] == value for k, value in zip(keys, row, strict=True)]
        sums = conn.execute(
            sa.select(source.c.term, sa.func.sum(source.c["count"])).where(*match).group_by(source.c.term)
        ).all()
        pairs = sorted((ids[term], int(n)) for term, n in sums if n)
        conn.execute(
            sa.update(target)
            .where(*(target.c[k] == value for k, value in zip(keys, row, strict=True)))
            .values(sums=np.array(pairs, dtype=PAIRS).tobytes())
        )


def upgrade() -> None:
    op.create_table(
        "topic_term_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("term", name="uq_topic_term_ids_term"),
    )
    conn = op.get_bind()
    names = sa.table("topic_term_ids", sa.column("id"), sa.column("term"))
    counted = sa.union(
        sa.select(sa.column("term")).select_from(sa.table("topic_day_terms")),
        sa.select(sa.column("term")).select_from(sa.table("topic_span_terms")),
    ).subquery()
    terms = sorted(conn.execute(sa.select(counted.c.term)).scalars())
    if terms:
        conn.execute(sa.insert(names), [{"term": term} for term in terms])
    ids = {term: term_id for term_id, term in conn.execute(sa.select(names.c.id, names.c.term))}
    for table, terms_table, keys in (
        ("topic_days", "topic_day_terms", ("day",)),
        ("topic_spans", "topic_span_terms", ("kind", "start")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("sums", sa.LargeBinary(), nullable=True))
        _fill(table, terms_table, keys, ids)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("sums", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    for table in ("topic_spans", "topic_days"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("sums")
    op.drop_table("topic_term_ids")
