"""search: keep each result's text vector inline (PostgreSQL). Ranking a query's hits reads every hit's ``tsv``;
stored out of line (TOAST, the default for values over ~2 kB) each read is a probe of the TOAST table, which made
ranking a two-character query's ~2,000 hits twice as slow (bench/catalog_search.py). ``MAIN`` compresses first and
moves a value out of line only when the row still does not fit. Existing rows are rewritten once (their vectors are
generated again from the same tokens). SQLite: nothing to do.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE result_text ALTER COLUMN tsv SET STORAGE MAIN")
    op.execute("UPDATE result_text SET body_tokens = body_tokens")  # regenerates tsv under the new storage


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE result_text ALTER COLUMN tsv SET STORAGE EXTENDED")
