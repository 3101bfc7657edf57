"""topic term sums: a number for every topic term, each counted day's messages per term of each unit
(`topic_day_units`), and each summed week's or month's over all units (`topic_spans.sums`), as arrays of
(term number, count) pairs

Hot topics add these arrays up (numpy) instead of grouping the per-term rows of `topic_day_terms` and
`topic_span_terms` in SQL. The terms and arrays of the days and spans counted before this revision are
made here from those rows; the topic-alert job writes them from now on.

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


def _encode(counts: list[tuple[str, int]], ids: dict[str, int]) -> bytes:
    return np.array(sorted((ids[term], int(n)) for term, n in counts if n), dtype=PAIRS).tobytes()


def _fill_spans(ids: dict[str, int]) -> None:
    """Sets `sums` on every summed span from its rows in topic_span_terms (one statement per span)."""
    conn = op.get_bind()
    spans = sa.table("topic_spans", sa.column("kind"), sa.column("start"), sa.column("sums", sa.LargeBinary))
    terms = sa.table(
        "topic_span_terms", sa.column("kind"), sa.column("start"), sa.column("term"), sa.column("count")
    )
    for kind, start in conn.execute(sa.select(spans.c.kind, spans.c.start)).all():
        counts = conn.execute(
            sa.select(terms.c.term, terms.c["count"]).where(terms.c.kind == kind, terms.c.start == start)
        ).all()
        conn.execute(
            sa.update(spans)
            .where(spans.c.kind == kind, spans.c.start == start)
            .values(sums=_encode([(t, n) for t, n in counts], ids))
        )


def _fill_days(ids: dict[str, int]) -> None:
    """One row per counted day and unit from topic_day_terms (one statement per day)."""
    conn = op.get_bind()
    days = sa.table("topic_days", sa.column("day"))
    terms = sa.table(
        "topic_day_terms", sa.column("day"), sa.column("unit_code"), sa.column("term"), sa.column("count")
    )
    target = sa.table("topic_day_units", sa.column("day"), sa.column("unit_code"), sa.column("sums"))
    for (day,) in conn.execute(sa.select(days.c.day)).all():
        per_unit: dict[str, list[tuple[str, int]]] = {}
        for code, term, n in conn.execute(
            sa.select(terms.c.unit_code, terms.c.term, terms.c["count"]).where(terms.c.day == day)
        ):
            per_unit.setdefault(code, []).append((term, n))
        if per_unit:
            conn.execute(
                sa.insert(target),
                [{"day": day, "unit_code": code, "sums": _encode(c, ids)} for code, c in per_unit.items()],
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
    op.create_table(
        "topic_day_units",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("sums", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("day", "unit_code"),
    )
    _fill_days(ids)
    with op.batch_alter_table("topic_spans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sums", sa.LargeBinary(), nullable=True))
    _fill_spans(ids)
    with op.batch_alter_table("topic_spans", schema=None) as batch_op:
        batch_op.alter_column("sums", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("topic_spans", schema=None) as batch_op:
        batch_op.drop_column("sums")
    op.drop_table("topic_day_units")
    op.drop_table("topic_term_ids")
