"""coverage: season plans, extension/radiated area reports, national targets; the indexes the coverage
queries need (catalog.seasons, catalog.targets, catalog.coverage)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('season_plan',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('season', sa.String(length=32), nullable=False),
    sa.Column('plots_expected', sa.Integer(), nullable=False),
    sa.Column('area_expected_m2', sa.Float(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['county_code'], ['division.code'], name=op.f('fk_season_plan_county_code_division')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_season_plan')),
    sa.UniqueConstraint('county_code', 'season', name='uq_season_plan_county_season')
    )
    with op.batch_alter_table('season_plan', schema=None) as batch_op:
        batch_op.create_index('ix_season_plan_season_county', ['season', 'county_code'], unique=False)

    op.create_table('extension_report',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('season', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('crop', sa.String(length=32), nullable=True),
    sa.Column('land_scenario', sa.String(length=16), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('attachment_sha256', sa.String(length=64), nullable=True),
    sa.Column('reported_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['county_code'], ['division.code'],
                            name=op.f('fk_extension_report_county_code_division')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extension_report'))
    )
    with op.batch_alter_table('extension_report', schema=None) as batch_op:
        batch_op.create_index('ix_extension_report_season_county', ['season', 'county_code'], unique=False)

    op.create_table('national_target',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('name_zh', sa.String(length=128), nullable=False),
    sa.Column('name_en', sa.String(length=256), nullable=False),
    sa.Column('target_value', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('accumulate', sa.String(length=16), nullable=False),
    sa.Column('by_year', sa.Integer(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', catalog.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_national_target'))
    )

    # The coverage queries: a season's plots by county, a plot's measurements by review state and level,
    # control plots, a site's intents by state.
    with op.batch_alter_table('demo_plot', schema=None) as batch_op:
        batch_op.create_index('ix_demo_plot_season_county', ['season', 'county_code'], unique=False)
        batch_op.create_index('ix_demo_plot_control_plot_id', ['control_plot_id'], unique=False)
    with op.batch_alter_table('yield_measurement', schema=None) as batch_op:
        batch_op.create_index('ix_yield_measurement_plot_review', ['plot_id', 'review_state', 'level'],
                              unique=False)
    with op.batch_alter_table('intent', schema=None) as batch_op:
        batch_op.create_index('ix_intent_site_state', ['site_id', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('intent', schema=None) as batch_op:
        batch_op.drop_index('ix_intent_site_state')
    with op.batch_alter_table('yield_measurement', schema=None) as batch_op:
        batch_op.drop_index('ix_yield_measurement_plot_review')
    with op.batch_alter_table('demo_plot', schema=None) as batch_op:
        batch_op.drop_index('ix_demo_plot_control_plot_id')
        batch_op.drop_index('ix_demo_plot_season_county')
    op.drop_table('national_target')
    with op.batch_alter_table('extension_report', schema=None) as batch_op:
        batch_op.drop_index('ix_extension_report_season_county')
    op.drop_table('extension_report')
    with op.batch_alter_table('season_plan', schema=None) as batch_op:
        batch_op.drop_index('ix_season_plan_season_county')
    op.drop_table('season_plan')
