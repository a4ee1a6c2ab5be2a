"""county gains kept for the coverage views (catalog.county_gains): each (season, county, park, demo type, crop,
baseline type)'s plots with an approved measurement — the review level their best one stands on, the yield and
gain weighted by area, and completeness against the county's plan — recomputed when a county's plots, figures or
plan change instead of joining every measured plot of the season with its figure and plan for each view; computed
here once from what is stored

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 19:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# What catalog.county_gains.gains_query computes.
FILL = """
INSERT INTO county_gain (season, county_code, site_id, demo_type, crop, baseline_type, plots, level_county,
                         level_city, level_province, level_ministry, gain_plots, gain_area_m2, gain_weighted,
                         yield_weighted, yield_area_m2, planned, on_time, late)
SELECT p.season, p.county_code, p.site_id, p.demo_type, p.crop, f.baseline_type, count(*),
       coalesce(sum(CASE WHEN f.level = 'county' THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN f.level = 'city' THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN f.level = 'province' THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN f.level = 'ministry' THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN f.gain_pct IS NOT NULL THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN f.gain_pct IS NOT NULL THEN coalesce(p.area_m2, 0.0) ELSE 0.0 END), 0.0),
       coalesce(sum(CASE WHEN f.gain_pct IS NOT NULL THEN coalesce(p.area_m2, 0.0) * f.gain_pct ELSE 0.0 END), 0.0),
       coalesce(sum(CASE WHEN f.yield_kg_per_mu IS NOT NULL THEN coalesce(p.area_m2, 0.0) * f.yield_kg_per_mu
                    ELSE 0.0 END), 0.0),
       coalesce(sum(CASE WHEN f.yield_kg_per_mu IS NOT NULL THEN coalesce(p.area_m2, 0.0) ELSE 0.0 END), 0.0),
       coalesce(sum(CASE WHEN s.id IS NOT NULL THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN s.deadline IS NOT NULL AND f.first_on <= s.deadline THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN s.deadline IS NOT NULL AND (f.first_on IS NULL OR f.first_on > s.deadline)
                    THEN 1 ELSE 0 END), 0)
FROM plot_figure AS f JOIN demo_plot AS p ON p.id = f.plot_id
     LEFT OUTER JOIN season_plan AS s ON s.county_code = p.county_code AND s.season = p.season
WHERE f.approved > 0 AND p.deleted = :no
  AND p.id NOT IN (SELECT c.control_plot_id FROM demo_plot AS c WHERE c.control_plot_id IS NOT NULL AND c.deleted = :no)
GROUP BY p.season, p.county_code, p.site_id, p.demo_type, p.crop, f.baseline_type
"""


def upgrade() -> None:
    op.create_table('county_gain',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('season', sa.String(length=32), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('site_id', sa.String(length=32), nullable=True),
    sa.Column('demo_type', sa.String(length=16), nullable=False),
    sa.Column('crop', sa.String(length=32), nullable=False),
    sa.Column('baseline_type', sa.String(length=16), nullable=True),
    sa.Column('plots', sa.Integer(), nullable=False),
    sa.Column('level_county', sa.Integer(), nullable=False),
    sa.Column('level_city', sa.Integer(), nullable=False),
    sa.Column('level_province', sa.Integer(), nullable=False),
    sa.Column('level_ministry', sa.Integer(), nullable=False),
    sa.Column('gain_plots', sa.Integer(), nullable=False),
    sa.Column('gain_area_m2', sa.Float(), nullable=False),
    sa.Column('gain_weighted', sa.Float(), nullable=False),
    sa.Column('yield_weighted', sa.Float(), nullable=False),
    sa.Column('yield_area_m2', sa.Float(), nullable=False),
    sa.Column('planned', sa.Integer(), nullable=False),
    sa.Column('on_time', sa.Integer(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_county_gain'))
    )
    with op.batch_alter_table('county_gain', schema=None) as batch_op:
        batch_op.create_index('ix_county_gain_season_county', ['season', 'county_code'], unique=False)
    op.get_bind().execute(sa.text(FILL), {"no": False})


def downgrade() -> None:
    with op.batch_alter_table('county_gain', schema=None) as batch_op:
        batch_op.drop_index('ix_county_gain_season_county')
    op.drop_table('county_gain')
