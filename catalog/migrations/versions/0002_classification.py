"""classification: keyword rules, stored models, reviewers' decisions (catalog.classify, catalog.classify_rules)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('classify_rule',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('created_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classify_rule'))
    )
    with op.batch_alter_table('classify_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_classify_rule_dimension'), ['dimension'], unique=False)

    op.create_table('classify_model',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('trained_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('trained_by', sa.String(length=64), nullable=False),
    sa.Column('examples', sa.Integer(), nullable=False),
    sa.Column('decisions', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classify_model'))
    )
    with op.batch_alter_table('classify_model', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_classify_model_trained_at'), ['trained_at'], unique=False)

    op.create_table('classify_decision',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('result_id', sa.String(length=36), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('suggested', sa.JSON(), nullable=False),
    sa.Column('proposed', sa.JSON(), nullable=False),
    sa.Column('chosen', sa.JSON(), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('model_id', sa.String(length=36), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['result_id'], ['result.id'], name=op.f('fk_classify_decision_result_id_result'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classify_decision'))
    )
    with op.batch_alter_table('classify_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_classify_decision_result_id'), ['result_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('classify_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_classify_decision_result_id'))
    op.drop_table('classify_decision')
    with op.batch_alter_table('classify_model', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_classify_model_trained_at'))
    op.drop_table('classify_model')
    with op.batch_alter_table('classify_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_classify_rule_dimension'))
    op.drop_table('classify_rule')
