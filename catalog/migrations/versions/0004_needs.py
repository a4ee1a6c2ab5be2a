"""needs: what parks and counties post (catalog.needs)

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-01 22:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.db

revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('need',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('site_id', sa.String(length=32), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=True),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('crops', sa.JSON(), nullable=False),
    sa.Column('industry_types', sa.JSON(), nullable=False),
    sa.Column('scenarios', sa.JSON(), nullable=False),
    sa.Column('land_scenarios', sa.JSON(), nullable=False),
    sa.Column('season', sa.String(length=32), nullable=True),
    sa.Column('area_m2', sa.Float(), nullable=True),
    sa.Column('scale_text', sa.String(length=256), nullable=True),
    sa.Column('contact', sa.String(length=128), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('matched_result_id', sa.String(length=36), nullable=True),
    sa.Column('state_comment', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['matched_result_id'], ['result.id'], name=op.f('fk_need_matched_result_id_result')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_need_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_need'))
    )
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.create_index('ix_need_site_state', ['site_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_need_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_need_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_need_state'))
        batch_op.drop_index(batch_op.f('ix_need_province_code'))
        batch_op.drop_index('ix_need_site_state')
    op.drop_table('need')
