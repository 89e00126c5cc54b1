"""The schema of loyaltykit 0.1.0, the first release (before migrations existed).

Revision ID: 0001
Revises: none

A ledger created by 0.1.0 has exactly these tables and no version table; ``loyaltykit db
upgrade`` recognizes it and records this revision before applying the later ones.
The tables are spelled out here, not taken from :mod:`loyaltykit.ledger.schema`, because a
revision must keep creating the same tables when the schema module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ENTRY_KINDS = ("earn", "bonus", "referral", "reversal", "expiry", "redemption", "adjustment")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lk_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False))
    op.create_table(
        "lk_programs",
        sa.Column("program_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("effective_from", _when(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("installed_at", _when(), nullable=False))
    op.create_table(
        "lk_inbox",
        sa.Column("seq", _serial(), primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("occurred_at", _when(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(100)),
        sa.Column("order_id", sa.String(100)),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("received_at", _when(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'done', 'rejected')", name="ck_inbox_status"))
    op.create_index("ix_inbox_pending", "lk_inbox",
                    ["status", "occurred_at", "priority", "event_key"])
    op.create_index("ix_inbox_customer", "lk_inbox", ["customer_id"])
    op.create_index("ix_inbox_order", "lk_inbox", ["order_id"])
    op.create_table(
        "lk_customers",
        sa.Column("customer_id", sa.String(100), primary_key=True),
        sa.Column("email", sa.Text()),
        sa.Column("phone", sa.Text()),
        sa.Column("address", sa.Text()),
        sa.Column("birthday", sa.String(10)),
        sa.Column("referral_code", sa.String(100)),
        sa.Column("attributes", sa.JSON()),
        sa.Column("first_seen_at", _when()),
        sa.Column("tier", sa.String(64)),
        sa.Column("tier_since", _when()),
        sa.Column("below_since", _when()),
        sa.Column("review_at", _when()),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("lifetime_earned", sa.BigInteger(), nullable=False),
        sa.Column("first_paid_order_id", sa.String(100)),
        sa.Column("last_paid_at", _when()),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.CheckConstraint("balance >= 0", name="ck_customer_balance"))
    op.create_index("ix_customers_code", "lk_customers", ["referral_code"])
    op.create_index("ix_customers_review", "lk_customers", ["review_at"])
    op.create_table(
        "lk_orders",
        sa.Column("order_id", sa.String(100), primary_key=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("placed_at", _when(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancelled_at", _when()),
        sa.Column("program_version", sa.Integer()),
        sa.Column("earned", sa.BigInteger(), nullable=False),
        sa.Column("reversed", sa.BigInteger(), nullable=False),
        sa.Column("bonuses", sa.JSON(), nullable=False),
        sa.Column("in_window", sa.Boolean(), nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name="ck_order_amount"),
        sa.CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor",
                           name="ck_order_refunded"),
        sa.CheckConstraint("reversed >= 0 AND reversed <= earned", name="ck_order_reversed"),
        sa.CheckConstraint("status IN ('paid', 'cancelled')", name="ck_order_status"))
    op.create_index("ix_orders_customer", "lk_orders", ["customer_id", "placed_at"])
    op.create_table(
        "lk_lots",
        sa.Column("lot_key", sa.String(240), primary_key=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("credited_at", _when(), nullable=False),
        sa.Column("expires_at", _when()),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("points > 0", name="ck_lot_points"),
        sa.CheckConstraint("remaining >= 0 AND remaining <= points", name="ck_lot_remaining"))
    op.create_index("ix_lots_open", "lk_lots", ["customer_id", "remaining"])
    op.create_index("ix_lots_expiry", "lk_lots", ["expires_at"])
    op.create_table(
        "lk_entries",
        sa.Column("seq", _serial(), primary_key=True, autoincrement=True),
        sa.Column("entry_key", sa.String(240), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("forgiven", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("effective_at", _when(), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        sa.Column("source_event", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(100)),
        sa.Column("lot_key", sa.String(240)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("balance_after >= 0", name="ck_entry_balance"),
        sa.CheckConstraint("forgiven >= 0", name="ck_entry_forgiven"),
        sa.CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in ENTRY_KINDS) + ")",
                           name="ck_entry_kind"),
        sa.CheckConstraint(
            "(kind IN ('earn', 'bonus', 'referral') AND points > 0) OR "
            "(kind IN ('reversal', 'expiry', 'redemption') AND points <= 0) OR "
            "kind = 'adjustment'", name="ck_entry_sign"))
    op.create_index("ix_entries_customer", "lk_entries", ["customer_id", "effective_at"])
    op.create_table(
        "lk_tier_changes",
        sa.Column("seq", _serial(), primary_key=True, autoincrement=True),
        sa.Column("change_key", sa.String(240), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("changed_at", _when(), nullable=False),
        sa.Column("from_tier", sa.String(64)),
        sa.Column("to_tier", sa.String(64), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False))
    op.create_index("ix_tier_changes_customer", "lk_tier_changes",
                    ["customer_id", "changed_at"])
    op.create_table(
        "lk_referrals",
        sa.Column("referee_id", sa.String(100), primary_key=True),
        sa.Column("referrer_id", sa.String(100)),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("recorded_at", _when(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("order_id", sa.String(100)),
        sa.Column("due_at", _when()),
        sa.Column("decided_at", _when()),
        sa.CheckConstraint(
            "status IN ('pending', 'qualified', 'rewarded', 'flagged', 'void')",
            name="ck_referral_status"))
    op.create_index("ix_referrals_due", "lk_referrals", ["status", "due_at"])
    op.create_index("ix_referrals_referrer", "lk_referrals", ["referrer_id"])
    op.create_table(
        "lk_cursors",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False))
    op.create_table(
        "lk_outbox",
        sa.Column("id", _serial(), primary_key=True, autoincrement=True),
        sa.Column("command_key", sa.String(240), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("sent_at", _when()),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_outbox_status"))
    op.create_index("ix_outbox_pending", "lk_outbox", ["status", "id"])


def downgrade() -> None:
    for table in ("lk_outbox", "lk_cursors", "lk_referrals", "lk_tier_changes", "lk_entries",
                  "lk_lots", "lk_orders", "lk_customers", "lk_inbox", "lk_programs", "lk_meta"):
        op.drop_table(table)
