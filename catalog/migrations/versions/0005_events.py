"""events: matchmaking events, their sites and showcased results, intents and their steps (catalog.events,
catalog.intents)

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-01 22:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.db

revision = '0005'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=256), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('place_code', sa.String(length=6), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('province_code', sa.String(length=6), nullable=True),
    sa.Column('organiser', sa.String(length=128), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['place_code'], ['division.code'], name=op.f('fk_event_place_code_division')),
    sa.ForeignKeyConstraint(['province_code'], ['division.code'], name=op.f('fk_event_province_code_division')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_starts_on'), ['starts_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_state'), ['state'], unique=False)

    op.create_table('event_result',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('result_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_result_event_id_event'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['result_id'], ['result.id'], name=op.f('fk_event_result_result_id_result')),
    sa.PrimaryKeyConstraint('event_id', 'result_id', name=op.f('pk_event_result'))
    )
    with op.batch_alter_table('event_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_result_result_id'), ['result_id'], unique=False)

    op.create_table('event_site',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('site_id', sa.String(length=32), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('contact', sa.String(length=128), nullable=True),
    sa.Column('at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_site_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_event_site_site_id_site')),
    sa.PrimaryKeyConstraint('event_id', 'site_id', name=op.f('pk_event_site'))
    )
    with op.batch_alter_table('event_site', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_site_site_id'), ['site_id'], unique=False)

    op.create_table('intent',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('site_id', sa.String(length=32), nullable=False),
    sa.Column('result_id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('province_code', sa.String(length=6), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=32), nullable=True),
    sa.Column('plot_id', sa.String(length=36), nullable=True),
    sa.Column('adopted_area_m2', sa.Float(), nullable=True),
    sa.Column('drop_reason', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_intent_event_id_event')),
    sa.ForeignKeyConstraint(['plot_id'], ['demo_plot.id'], name=op.f('fk_intent_plot_id_demo_plot')),
    sa.ForeignKeyConstraint(['result_id'], ['result.id'], name=op.f('fk_intent_result_id_result')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_intent_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intent'))
    )
    with op.batch_alter_table('intent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intent_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intent_plot_id'), ['plot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intent_result_id'), ['result_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intent_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intent_state'), ['state'], unique=False)

    op.create_table('intent_step',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('intent_id', sa.String(length=36), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('happened_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['intent_id'], ['intent.id'], name=op.f('fk_intent_step_intent_id_intent'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intent_step'))
    )
    with op.batch_alter_table('intent_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intent_step_intent_id'), ['intent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('intent_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intent_step_intent_id'))

    op.drop_table('intent_step')
    with op.batch_alter_table('intent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intent_state'))
        batch_op.drop_index(batch_op.f('ix_intent_site_id'))
        batch_op.drop_index(batch_op.f('ix_intent_result_id'))
        batch_op.drop_index(batch_op.f('ix_intent_plot_id'))
        batch_op.drop_index(batch_op.f('ix_intent_event_id'))

    op.drop_table('intent')
    with op.batch_alter_table('event_site', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_site_site_id'))

    op.drop_table('event_site')
    with op.batch_alter_table('event_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_result_result_id'))

    op.drop_table('event_result')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_state'))
        batch_op.drop_index(batch_op.f('ix_event_starts_on'))
        batch_op.drop_index(batch_op.f('ix_event_province_code'))
        batch_op.drop_index(batch_op.f('ix_event_kind'))

    op.drop_table('event')
