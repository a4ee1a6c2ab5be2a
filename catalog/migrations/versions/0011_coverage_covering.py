"""coverage: covering indexes — a season's plots with every column the coverage figures read, and each plot's
figure (catalog.coverage; the grouped queries read the indexes alone, not the plots' rows with their flags and
notes). The new plot index starts with (season, county_code), so it replaces ix_demo_plot_season_county.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:20:00
"""
from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

PLOT_COLUMNS = ['season', 'county_code', 'demo_type', 'crop', 'deleted', 'id', 'area_m2', 'site_id',
                'land_scenario', 'variety']
FIGURE_COLUMNS = ['plot_id', 'approved', 'measurements', 'level', 'baseline_type', 'gain_pct', 'yield_kg_per_mu',
                  'first_on']


def upgrade() -> None:
    with op.batch_alter_table('demo_plot', schema=None) as batch_op:
        batch_op.create_index('ix_demo_plot_coverage', PLOT_COLUMNS, unique=False)
        batch_op.drop_index('ix_demo_plot_season_county')
    with op.batch_alter_table('plot_figure', schema=None) as batch_op:
        batch_op.create_index('ix_plot_figure_coverage', FIGURE_COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('plot_figure', schema=None) as batch_op:
        batch_op.drop_index('ix_plot_figure_coverage')
    with op.batch_alter_table('demo_plot', schema=None) as batch_op:
        batch_op.create_index('ix_demo_plot_season_county', ['season', 'county_code'], unique=False)
        batch_op.drop_index('ix_demo_plot_coverage')
