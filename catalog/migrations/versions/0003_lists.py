"""lists: the national and local result lists, their numbered issues and entries

Revision ID: 0003
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.db

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('result_list',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=True),
    sa.Column('name_zh', sa.String(length=128), nullable=False),
    sa.Column('name_en', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['province_code'], ['division.code'], name=op.f('fk_result_list_province_code_division')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_list'))
    )
    op.create_table('list_issue',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('list_id', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('published_at', catalog.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['result_list.id'], name=op.f('fk_list_issue_list_id_result_list')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_issue')),
    sa.UniqueConstraint('list_id', 'year', 'number', name=op.f('uq_list_issue_list_id'))
    )
    with op.batch_alter_table('list_issue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_list_issue_list_id'), ['list_id'], unique=False)

    op.create_table('list_entry',
    sa.Column('issue_id', sa.String(length=36), nullable=False),
    sa.Column('result_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['list_issue.id'], name=op.f('fk_list_entry_issue_id_list_issue'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['result_id'], ['result.id'], name=op.f('fk_list_entry_result_id_result')),
    sa.PrimaryKeyConstraint('issue_id', 'result_id', name=op.f('pk_list_entry'))
    )
    with op.batch_alter_table('list_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_list_entry_result_id'), ['result_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('list_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_list_entry_result_id'))
    op.drop_table('list_entry')
    with op.batch_alter_table('list_issue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_list_issue_list_id'))
    op.drop_table('list_issue')
    op.drop_table('result_list')
