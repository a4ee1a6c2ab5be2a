"""yield review queue: pending measurements of one level in one area (catalog.review.queue_query)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:55:00
"""
from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('yield_measurement', schema=None) as batch_op:
        batch_op.create_index('ix_yield_measurement_review_queue', ['review_state', 'level', 'county_code'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('yield_measurement', schema=None) as batch_op:
        batch_op.drop_index('ix_yield_measurement_review_queue')
