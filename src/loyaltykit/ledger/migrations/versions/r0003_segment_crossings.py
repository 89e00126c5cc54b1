"""Segment changes from time passing: customers by the instant of their last paid order.

Revision ID: 0003
Revises: 0002

A run publishes a profile for every customer whose lifecycle segment changed since the
previous run, including those who did nothing and simply grew older (active -> silent ...).
Finding them is a range query on ``last_paid_at`` per segment threshold, which this index
keeps to the customers crossing instead of a scan of every customer on every run.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customers_last_paid", "lk_customers", ["last_paid_at"])


def downgrade() -> None:
    op.drop_index("ix_customers_last_paid", "lk_customers")
