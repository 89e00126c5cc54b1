"""Segment changes from time passing; CHECK constraints without IN lists.

Revision ID: 0003
Revises: 0002

A run publishes a profile for every customer whose lifecycle segment changed since the
previous run, including those who did nothing and simply grew older (active -> silent ...).
Finding them is a range query on ``last_paid_at`` per segment threshold, which the new index
keeps to the customers crossing instead of a scan of every customer on every run.

SQLite builds the list of a CHECK's ``IN (...)`` into a temporary table again for every row
written, which was more than half the cost of inserting a ledger entry; the constraints
become chains of ``=`` with the same meaning. SQLite cannot alter a constraint, so its
tables are copied (batch mode); PostgreSQL drops and adds each constraint.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, constraint, condition before, condition after); written out, not imported, so
# the revision stays what it was whatever the schema module becomes.
CHECKS = [
    ("lk_inbox", "ck_inbox_status", "status IN ('pending', 'done', 'rejected')",
     "(status = 'pending' OR status = 'done' OR status = 'rejected')"),
    ("lk_orders", "ck_order_status", "status IN ('paid', 'cancelled')",
     "(status = 'paid' OR status = 'cancelled')"),
    ("lk_entries", "ck_entry_kind",
     "kind IN ('earn', 'bonus', 'referral', 'reversal', 'expiry', 'redemption', 'adjustment')",
     "(kind = 'earn' OR kind = 'bonus' OR kind = 'referral' OR kind = 'reversal' OR "
     "kind = 'expiry' OR kind = 'redemption' OR kind = 'adjustment')"),
    ("lk_entries", "ck_entry_sign",
     "(kind IN ('earn', 'bonus', 'referral') AND points > 0) OR "
     "(kind IN ('reversal', 'expiry', 'redemption') AND points <= 0) OR kind = 'adjustment'",
     "((kind = 'earn' OR kind = 'bonus' OR kind = 'referral') AND points > 0) OR "
     "((kind = 'reversal' OR kind = 'expiry' OR kind = 'redemption') AND points <= 0) OR "
     "kind = 'adjustment'"),
    ("lk_referrals", "ck_referral_status",
     "status IN ('pending', 'qualified', 'rewarded', 'flagged', 'void')",
     "(status = 'pending' OR status = 'qualified' OR status = 'rewarded' OR "
     "status = 'flagged' OR status = 'void')"),
    ("lk_outbox", "ck_outbox_status", "status IN ('pending', 'sent', 'failed')",
     "(status = 'pending' OR status = 'sent' OR status = 'failed')"),
]


def _replace_checks(*, upgrading: bool) -> None:
    for table in dict.fromkeys(table for table, *_ in CHECKS):
        with op.batch_alter_table(table) as batch:
            for _, name, before, after in (c for c in CHECKS if c[0] == table):
                batch.drop_constraint(name, type_="check")
                batch.create_check_constraint(name, after if upgrading else before)


def upgrade() -> None:
    op.create_index("ix_customers_last_paid", "lk_customers", ["last_paid_at"])
    _replace_checks(upgrading=True)


def downgrade() -> None:
    _replace_checks(upgrading=False)
    op.drop_index("ix_customers_last_paid", "lk_customers")
