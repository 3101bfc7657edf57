"""connectors tables: channel_tokens (shared platform tokens), poll_targets (durable cursors),
channel_health (per-account polling health), channel_echoes (the account's own replies seen again)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channel_tokens',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('token_encrypted', sa.Text(), nullable=True),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('lease_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('channel_echoes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('reply_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('matched_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('received_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'external_id', name='uq_channel_echoes_account_external')
    )
    with op.batch_alter_table('channel_echoes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_echoes_reply_id'), ['reply_id'], unique=False)

    op.create_table('channel_health',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('polling_enabled', sa.Boolean(), nullable=False),
    sa.Column('poll_interval_seconds', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_poll_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('rate_limited_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('needs_attention', sa.Boolean(), nullable=False),
    sa.Column('last_item_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_push_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('account_id')
    )
    with op.batch_alter_table('channel_health', schema=None) as batch_op:
        batch_op.create_index('ix_channel_health_due', ['polling_enabled', 'next_poll_at'], unique=False)

    op.create_table('poll_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('cursor', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('items_taken', sa.Integer(), nullable=False),
    sa.Column('echoes_seen', sa.Integer(), nullable=False),
    sa.Column('last_polled_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('scan_started_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'target', name='uq_poll_targets_account_target')
    )
    with op.batch_alter_table('poll_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_targets_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('poll_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_targets_account_id'))
    op.drop_table('poll_targets')
    with op.batch_alter_table('channel_health', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_health_due')
    op.drop_table('channel_health')
    with op.batch_alter_table('channel_echoes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_echoes_reply_id'))
    op.drop_table('channel_echoes')
    op.drop_table('channel_tokens')
