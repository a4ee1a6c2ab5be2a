"""plot figures: each plot's highest approved yield measurement, one row per plot (catalog.plot_figures), filled
from the measurements

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The rows the flush hook of catalog.plot_figures keeps; here computed once for the measurements already stored.
FILL = """
INSERT INTO plot_figure (plot_id, measurements, approved, level, method, yield_kg_per_mu, gain_pct, baseline_type,
                         measured_on, first_on)
SELECT c.plot_id, c.n, c.n_approved, r.level, r.method, r.yield_kg_per_mu, r.gain_pct, r.baseline_type,
       r.measured_on, c.first_on
FROM (SELECT plot_id, count(*) AS n,
             coalesce(sum(CASE WHEN review_state = 'approved' THEN 1 ELSE 0 END), 0) AS n_approved,
             min(CASE WHEN review_state = 'approved' THEN measured_on END) AS first_on
      FROM yield_measurement WHERE deleted = :no GROUP BY plot_id) AS c
LEFT OUTER JOIN (
      SELECT plot_id, level, method, yield_kg_per_mu, gain_pct, baseline_type, measured_on,
             row_number() OVER (PARTITION BY plot_id ORDER BY
                 CASE level WHEN 'county' THEN 0 WHEN 'city' THEN 1 WHEN 'province' THEN 2 WHEN 'ministry' THEN 3
                            ELSE -1 END DESC,
                 CASE WHEN method = 'harvest' THEN 1 ELSE 0 END DESC, measured_on DESC, id) AS rn
      FROM yield_measurement WHERE deleted = :no AND review_state = 'approved') AS r
  ON r.plot_id = c.plot_id AND r.rn = 1
"""


def upgrade() -> None:
    op.create_table('plot_figure',
    sa.Column('plot_id', sa.String(length=36), nullable=False),
    sa.Column('measurements', sa.Integer(), nullable=False),
    sa.Column('approved', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=True),
    sa.Column('yield_kg_per_mu', sa.Float(), nullable=True),
    sa.Column('gain_pct', sa.Float(), nullable=True),
    sa.Column('baseline_type', sa.String(length=16), nullable=True),
    sa.Column('measured_on', sa.Date(), nullable=True),
    sa.Column('first_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('plot_id', name=op.f('pk_plot_figure'))
    )
    op.get_bind().execute(sa.text(FILL), {"no": False})


def downgrade() -> None:
    op.drop_table('plot_figure')
