"""Tables of the ledger, in SQLAlchemy Core so SQLite and PostgreSQL share one definition.

The database guards the invariants that matter most, whatever code writes to it: unique
idempotency keys (an event or entry can exist once), non-negative balances and lot
remainders, and known kinds. Timestamps are stored in UTC; identifiers sort byte by byte
on every backend (see :func:`Key`).

This is the schema at revision :data:`SCHEMA_REVISION`. A change to it needs a new Alembic
revision in :mod:`loyaltykit.ledger.migrations` (a test compares the two).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    literal_column,
    text,
)

#: The Alembic revision this module describes; ``loyaltykit db upgrade`` brings a database here.
SCHEMA_REVISION = "0004"


def one_of(column: str, *values: str) -> str:
    """``(status = 'a' OR status = 'b')``: a CHECK without an IN list, which SQLite builds
    into a temporary table again for every row written (an entry insert took 72-76 us with
    the IN lists and 27-34 us without, on this project's machine)."""
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def Key(length: int) -> String:
    """A short identifier (id, key, kind, status) that sorts byte by byte on every backend.

    SQLite compares text by bytes; PostgreSQL by the database's collation, where en_US puts
    ``b`` before ``C``. The runner breaks ties between events by key and spends lots in
    (credited_at, lot_key) order, so a locale collation would make the same events give a
    different ledger on PostgreSQL. The "C" collation keeps the order of SQLite (and of
    Python's ``sorted``), and is the cheaper one to compare.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no timezone type, so values are normalized to UTC before they are stored;
    a naive datetime is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        utc = value.astimezone(timezone.utc)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)  # type: ignore[no-any-return]
        return value.astimezone(timezone.utc)  # type: ignore[no-any-return]


metadata = MetaData()

ENTRY_KINDS = ("earn", "bonus", "referral", "reversal", "expiry", "redemption", "adjustment")

meta = Table(
    "lk_meta", metadata,
    Column("key", Key(64), primary_key=True),
    Column("value", Text, nullable=False),
)

programs = Table(
    "lk_programs", metadata,
    Column("program_id", Key(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("effective_from", UtcDateTime, nullable=False),
    Column("source", Text, nullable=False),
    Column("digest", Key(64), nullable=False),
    Column("installed_at", UtcDateTime, nullable=False),
)

inbox = Table(
    "lk_inbox", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("event_key", Key(200), nullable=False, unique=True),
    Column("kind", Key(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("customer_id", Key(100)),
    Column("order_id", Key(100)),
    Column("payload", JSON, nullable=False),
    Column("source", Text),
    Column("status", Key(16), nullable=False, default="pending"),
    Column("note", Text),
    Column("received_at", UtcDateTime, nullable=False),
    CheckConstraint(one_of("status", "pending", "done", "rejected"), name="ck_inbox_status"),
)
Index("ix_inbox_pending", inbox.c.status, inbox.c.occurred_at, inbox.c.priority,
      inbox.c.event_key)
Index("ix_inbox_customer", inbox.c.customer_id)
Index("ix_inbox_order", inbox.c.order_id)

customers = Table(
    "lk_customers", metadata,
    Column("customer_id", Key(100), primary_key=True),
    Column("email", Text),
    Column("phone", Text),
    Column("address", Text),
    Column("birthday", Key(10)),
    Column("referral_code", Key(100)),
    Column("attributes", JSON),
    Column("first_seen_at", UtcDateTime),
    Column("tier", Key(64)),
    Column("tier_since", UtcDateTime),
    Column("below_since", UtcDateTime),
    Column("review_at", UtcDateTime),
    Column("balance", BigInteger, nullable=False, default=0),
    Column("lifetime_earned", BigInteger, nullable=False, default=0),
    Column("first_paid_order_id", Key(100)),
    Column("last_paid_at", UtcDateTime),
    Column("counters", JSON, nullable=False),
    CheckConstraint("balance >= 0", name="ck_customer_balance"),
)
Index("ix_customers_code", customers.c.referral_code)
Index("ix_customers_review", customers.c.review_at)
Index("ix_customers_last_paid", customers.c.last_paid_at)

orders = Table(
    "lk_orders", metadata,
    Column("order_id", Key(100), primary_key=True),
    Column("customer_id", Key(100), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False, default=0),
    Column("status", Key(16), nullable=False),
    Column("cancelled_at", UtcDateTime),
    Column("program_version", Integer),
    Column("earned", BigInteger, nullable=False, default=0),
    Column("reversed", BigInteger, nullable=False, default=0),
    Column("bonuses", JSON, nullable=False),
    Column("in_window", Boolean, nullable=False, default=False),
    CheckConstraint("amount_minor >= 0", name="ck_order_amount"),
    CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor",
                    name="ck_order_refunded"),
    CheckConstraint("reversed >= 0 AND reversed <= earned", name="ck_order_reversed"),
    CheckConstraint(one_of("status", "paid", "cancelled"), name="ck_order_status"),
)
Index("ix_orders_customer", orders.c.customer_id, orders.c.placed_at)
# Only orders in a tier window: a tier review reads the orders leaving a customer's window
# and the first that stays, and through ix_orders_customer it read past every older order
# of the customer's history (85 us a review at 1M orders). Each condition is written as
# that dialect renders ``orders.c.in_window`` in a query: SQLite uses a partial index only
# for a query that states its condition literally.
Index("ix_orders_window", orders.c.customer_id, orders.c.placed_at,
      sqlite_where=text("in_window = 1"), postgresql_where=text("in_window"))

lots = Table(
    "lk_lots", metadata,
    Column("lot_key", Key(240), primary_key=True),
    Column("customer_id", Key(100), nullable=False),
    Column("credited_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("points", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("program_version", Integer, nullable=False),
    CheckConstraint("points > 0", name="ck_lot_points"),
    CheckConstraint("remaining >= 0 AND remaining <= points", name="ck_lot_remaining"),
)
#: The condition of an open lot, as SQL text rather than a bound parameter, so that queries
#: state the partial index's condition literally: PostgreSQL's generic plan of a prepared
#: statement cannot use the index otherwise, and SQLite re-prepares the statement with the
#: value bound to prove it can (62 -> 25 us for the expiry query on a 100k-order ledger).
OPEN_LOT = lots.c.remaining > literal_column("0")
Index("ix_lots_open", lots.c.customer_id, lots.c.remaining)
# Only open lots: a run looks for lots due to expire, and expired (or spent) lots would
# otherwise fill this index with years of history that every run reads past.
Index("ix_lots_expiry", lots.c.expires_at, sqlite_where=OPEN_LOT, postgresql_where=OPEN_LOT)

entries = Table(
    "lk_entries", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("entry_key", Key(240), nullable=False, unique=True),
    Column("customer_id", Key(100), nullable=False),
    Column("kind", Key(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("forgiven", BigInteger, nullable=False, default=0),
    Column("balance_after", BigInteger, nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("rule_id", Key(100), nullable=False),
    Column("program_id", Key(64), nullable=False),
    Column("program_version", Integer, nullable=False),
    Column("source_event", Key(200), nullable=False),
    Column("order_id", Key(100)),
    Column("lot_key", Key(240)),
    Column("reason", Text, nullable=False),
    CheckConstraint("balance_after >= 0", name="ck_entry_balance"),
    CheckConstraint("forgiven >= 0", name="ck_entry_forgiven"),
    CheckConstraint(one_of("kind", *ENTRY_KINDS), name="ck_entry_kind"),
    CheckConstraint(
        f"({one_of('kind', 'earn', 'bonus', 'referral')} AND points > 0) OR "
        f"({one_of('kind', 'reversal', 'expiry', 'redemption')} AND points <= 0) OR "
        "kind = 'adjustment'",
        name="ck_entry_sign"),
)
Index("ix_entries_customer", entries.c.customer_id, entries.c.effective_at)

tier_changes = Table(
    "lk_tier_changes", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("change_key", Key(240), nullable=False, unique=True),
    Column("customer_id", Key(100), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("from_tier", Key(64)),
    Column("to_tier", Key(64), nullable=False),
    Column("program_version", Integer, nullable=False),
    Column("reason", Text, nullable=False),
)
Index("ix_tier_changes_customer", tier_changes.c.customer_id, tier_changes.c.changed_at)

referrals = Table(
    "lk_referrals", metadata,
    Column("referee_id", Key(100), primary_key=True),
    Column("referrer_id", Key(100)),
    Column("code", Key(100), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("status", Key(16), nullable=False),
    Column("reason", Text),
    Column("order_id", Key(100)),
    Column("due_at", UtcDateTime),
    Column("decided_at", UtcDateTime),
    CheckConstraint(
        one_of("status", "pending", "qualified", "rewarded", "flagged", "void"),
        name="ck_referral_status"),
)
Index("ix_referrals_due", referrals.c.status, referrals.c.due_at)
Index("ix_referrals_referrer", referrals.c.referrer_id)

cursors = Table(
    "lk_cursors", metadata,
    Column("name", Key(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Customers a run has touched, whose profile command it owes: the run's last transaction
# publishes them all and empties the table. A run killed half-way leaves its customers
# here, so the next run publishes them too, as if the first had finished.
profiles_due = Table(
    "lk_profiles_due", metadata,
    Column("customer_id", Key(100), primary_key=True),
    Column("as_of", UtcDateTime, nullable=False),
)

outbox = Table(
    "lk_outbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("command_key", Key(240), nullable=False, unique=True),
    Column("kind", Key(40), nullable=False),
    Column("customer_id", Key(100), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", Key(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    # A pusher's claim (Ledger.claim_commands): nobody else is offered the command until
    # claimed_until, so several pushers never deliver it twice; a crashed pusher's claim
    # simply runs out.
    Column("claimed_by", Key(100)),
    Column("claimed_until", UtcDateTime),
    CheckConstraint(one_of("status", "pending", "sent", "failed"), name="ck_outbox_status"),
)
Index("ix_outbox_pending", outbox.c.status, outbox.c.id)

