"""An index of the orders in a tier window.

Revision ID: 0004
Revises: 0003

A tier review reads the orders leaving a customer's rolling window and the first order that
stays. Through ``ix_orders_customer`` that read passed every older order of the customer's
history, each a table row to look at; the partial index holds only the orders still in a
window, so it finds exactly the leaving ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_window", "lk_orders", ["customer_id", "placed_at"],
                    sqlite_where=sa.text("in_window = 1"),
                    postgresql_where=sa.text("in_window"))


def downgrade() -> None:
    op.drop_index("ix_orders_window", "lk_orders")
