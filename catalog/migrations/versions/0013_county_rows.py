"""county rows kept for the coverage views (catalog.county_refresh): each (season, county, park)'s plot totals
(catalog.county_totals) and the implausible yields, the plots outside their county's far-out fences for the crop
(catalog.yield_outliers) — recomputed when a county's plots or figures change instead of joining every plot of the
season with its figure, and sorting them, for each view; computed here once from the plots and figures stored

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# What catalog.yield_outliers.outlier_query computes (MIN_FOR_FENCES 8, FENCE_K 3): NTILE(4) quartiles of the best
# approved yields of each (season, county, crop) of variety demo plots, not deleted, not serving as a control plot.
FILL = """
WITH ranked AS (
  SELECT f.plot_id, f.yield_kg_per_mu AS y, p.season, p.county_code AS county, p.crop,
         ntile(4) OVER (PARTITION BY p.season, p.county_code, p.crop ORDER BY f.yield_kg_per_mu) AS quarter,
         count(*) OVER (PARTITION BY p.season, p.county_code, p.crop) AS n
  FROM plot_figure AS f JOIN demo_plot AS p ON p.id = f.plot_id
  WHERE f.approved > 0 AND f.yield_kg_per_mu IS NOT NULL AND p.demo_type = 'variety' AND p.deleted = :no
    AND p.id NOT IN (SELECT c.control_plot_id FROM demo_plot AS c
                     WHERE c.control_plot_id IS NOT NULL AND c.deleted = :no)
), fences AS (
  SELECT season, county, crop, max(CASE WHEN quarter = 1 THEN y END) AS q1, max(CASE WHEN quarter = 3 THEN y END) AS q3
  FROM ranked WHERE n >= 8 GROUP BY season, county, crop
)
INSERT INTO implausible_yield (plot_id, season, county_code, crop, yield_kg_per_mu, low, high)
SELECT r.plot_id, r.season, r.county, r.crop, r.y, fc.q1 - 3.0 * (fc.q3 - fc.q1), fc.q3 + 3.0 * (fc.q3 - fc.q1)
FROM ranked AS r JOIN fences AS fc ON fc.season = r.season AND fc.county = r.county AND fc.crop = r.crop
WHERE r.y < fc.q1 - 3.0 * (fc.q3 - fc.q1) OR r.y > fc.q3 + 3.0 * (fc.q3 - fc.q1)
"""

# What catalog.county_totals.totals_query computes.
FILL_TOTALS = """
INSERT INTO county_total (season, county_code, site_id, plots, area_m2, land_plots, land_area_m2, variety_area_m2,
                          measurements, approved, figured)
SELECT p.season, p.county_code, p.site_id, count(*), coalesce(sum(p.area_m2), 0.0),
       coalesce(sum(CASE WHEN p.demo_type = 'land_quality' THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN p.demo_type = 'land_quality' THEN p.area_m2 ELSE 0.0 END), 0.0),
       coalesce(sum(CASE WHEN p.demo_type = 'land_quality' THEN 0.0 ELSE p.area_m2 END), 0.0),
       coalesce(sum(f.measurements), 0), coalesce(sum(f.approved), 0),
       coalesce(sum(CASE WHEN f.approved > 0 THEN 1 ELSE 0 END), 0)
FROM demo_plot AS p LEFT OUTER JOIN plot_figure AS f ON f.plot_id = p.id
WHERE p.deleted = :no AND p.id NOT IN (SELECT c.control_plot_id FROM demo_plot AS c
                                       WHERE c.control_plot_id IS NOT NULL AND c.deleted = :no)
GROUP BY p.season, p.county_code, p.site_id
"""


def upgrade() -> None:
    op.create_table('county_total',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('season', sa.String(length=32), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('site_id', sa.String(length=32), nullable=True),
    sa.Column('plots', sa.Integer(), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('land_plots', sa.Integer(), nullable=False),
    sa.Column('land_area_m2', sa.Float(), nullable=False),
    sa.Column('variety_area_m2', sa.Float(), nullable=False),
    sa.Column('measurements', sa.Integer(), nullable=False),
    sa.Column('approved', sa.Integer(), nullable=False),
    sa.Column('figured', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_county_total'))
    )
    with op.batch_alter_table('county_total', schema=None) as batch_op:
        batch_op.create_index('ix_county_total_season_county', ['season', 'county_code'], unique=False)
    op.create_table('implausible_yield',
    sa.Column('plot_id', sa.String(length=36), nullable=False),
    sa.Column('season', sa.String(length=32), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('crop', sa.String(length=32), nullable=False),
    sa.Column('yield_kg_per_mu', sa.Float(), nullable=False),
    sa.Column('low', sa.Float(), nullable=False),
    sa.Column('high', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('plot_id', name=op.f('pk_implausible_yield'))
    )
    with op.batch_alter_table('implausible_yield', schema=None) as batch_op:
        batch_op.create_index('ix_implausible_yield_season_county', ['season', 'county_code'], unique=False)
    op.get_bind().execute(sa.text(FILL), {"no": False})
    op.get_bind().execute(sa.text(FILL_TOTALS), {"no": False})


def downgrade() -> None:
    with op.batch_alter_table('implausible_yield', schema=None) as batch_op:
        batch_op.drop_index('ix_implausible_yield_season_county')
    op.drop_table('implausible_yield')
    with op.batch_alter_table('county_total', schema=None) as batch_op:
        batch_op.drop_index('ix_county_total_season_county')
    op.drop_table('county_total')
