"""yield review: each level's measurement verifies the one below; approval state, reviewer and comment

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('yield_measurement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verifies_id', sa.String(length=36), nullable=True))
        # The server default stays: app servers of the release before this one keep writing yields (without
        # the column) during a rolling upgrade.
        batch_op.add_column(sa.Column('review_state', sa.String(length=16), nullable=False,
                                      server_default='pending'))
        batch_op.add_column(sa.Column('reviewed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', catalog.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('review_comment', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_yield_measurement_verifies_id'), ['verifies_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_yield_measurement_review_state'), ['review_state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('yield_measurement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_yield_measurement_review_state'))
        batch_op.drop_index(batch_op.f('ix_yield_measurement_verifies_id'))
        batch_op.drop_column('review_comment')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_by')
        batch_op.drop_column('review_state')
        batch_op.drop_column('verifies_id')
