"""Many workers: outbox claims, profiles owed by unfinished runs, byte-order identifiers.

Revision ID: 0002
Revises: 0001

``claimed_by`` / ``claimed_until`` let pushers claim commands (``Ledger.claim_commands``) so
no two deliver the same one. ``lk_profiles_due`` keeps the customers a run has touched until
its last transaction publishes their profiles, so a run killed half-way owes nothing the
next run does not pay. ``ix_lots_expiry`` keeps only open lots, so finding the lots due to
expire no longer reads past every lot that ever expired. On PostgreSQL the identifier
columns get the "C" collation, so ties between events and lots are ordered as on SQLite
whatever the database's locale (see ``loyaltykit.ledger.schema.Key``); the indexes on them
are rebuilt. SQLite compares bytes already.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

IDENTIFIERS: dict[str, list[tuple[str, int]]] = {
    "lk_meta": [("key", 64)],
    "lk_programs": [("program_id", 64), ("digest", 64)],
    "lk_inbox": [("event_key", 200), ("kind", 32), ("customer_id", 100), ("order_id", 100),
                 ("status", 16)],
    "lk_customers": [("customer_id", 100), ("birthday", 10), ("referral_code", 100),
                     ("tier", 64), ("first_paid_order_id", 100)],
    "lk_orders": [("order_id", 100), ("customer_id", 100), ("status", 16)],
    "lk_lots": [("lot_key", 240), ("customer_id", 100)],
    "lk_entries": [("entry_key", 240), ("customer_id", 100), ("kind", 16), ("rule_id", 100),
                   ("program_id", 64), ("source_event", 200), ("order_id", 100),
                   ("lot_key", 240)],
    "lk_tier_changes": [("change_key", 240), ("customer_id", 100), ("from_tier", 64),
                        ("to_tier", 64)],
    "lk_referrals": [("referee_id", 100), ("referrer_id", 100), ("code", 100), ("status", 16),
                     ("order_id", 100)],
    "lk_cursors": [("name", 100)],
    "lk_outbox": [("command_key", 240), ("kind", 40), ("customer_id", 100), ("status", 16)],
}


def _collate(collation: str | None) -> None:
    for table, columns in IDENTIFIERS.items():
        clause = "" if collation is None else f' COLLATE "{collation}"'
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {name} TYPE VARCHAR({length}){clause}"
            for name, length in columns))


def upgrade() -> None:
    key = sa.String(100).with_variant(sa.String(100, collation="C"), "postgresql")
    op.add_column("lk_outbox", sa.Column("claimed_by", key))
    op.add_column("lk_outbox", sa.Column("claimed_until", sa.DateTime(timezone=True)))
    op.create_table(
        "lk_profiles_due",
        sa.Column("customer_id", key, primary_key=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False))
    op.drop_index("ix_lots_expiry", "lk_lots")
    op.create_index("ix_lots_expiry", "lk_lots", ["expires_at"],
                    sqlite_where=sa.text("remaining > 0"),
                    postgresql_where=sa.text("remaining > 0"))
    if op.get_bind().dialect.name == "postgresql":
        _collate("C")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _collate("default")
    op.drop_table("lk_profiles_due")
    op.drop_index("ix_lots_expiry", "lk_lots")
    op.create_index("ix_lots_expiry", "lk_lots", ["expires_at"])
    with op.batch_alter_table("lk_outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
