"""merge: classification (0002), lists (0003), needs (0004) and events (0005), each built on 0001

Revision ID: 0006
Revises: 0002, 0003, 0004, 0005
"""
from __future__ import annotations

revision = '0006'
down_revision = ('0002', '0003', '0004', '0005')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # the branches' tables are independent: nothing to reconcile


def downgrade() -> None:
    pass
