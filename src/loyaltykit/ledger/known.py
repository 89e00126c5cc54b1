"""What a ledger already holds, for checking references in new input files."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, select

from loyaltykit.ledger import schema as t
from loyaltykit.money import from_minor


class KnownInLedger:
    """Customers, orders and refunds the ledger holds, processed or pending in the inbox."""

    def __init__(self, engine: Engine, currency: str) -> None:
        self.engine = engine
        self.currency = currency

    def has_customer(self, customer_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(t.customers.c.customer_id).where(
                t.customers.c.customer_id == customer_id)).first() is not None or \
                conn.execute(select(t.inbox.c.seq).where(
                    t.inbox.c.customer_id == customer_id,
                    t.inbox.c.kind == "customer_upserted").limit(1)).first() is not None

    def has_refund(self, refund_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(t.inbox.c.seq).where(
                t.inbox.c.event_key == f"refund:{refund_id}")).first() is not None

    def order_amounts(self, order_id: str) -> tuple[Decimal, Decimal] | None:
        """(paid, refunded so far) counting refunds still waiting in the inbox."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.orders.c.amount_minor, t.orders.c.refunded_minor,
                                      t.orders.c.status).where(
                t.orders.c.order_id == order_id)).first()
            events = conn.execute(select(t.inbox.c.kind, t.inbox.c.payload).where(
                t.inbox.c.order_id == order_id, t.inbox.c.status == "pending")).all()
        paid = from_minor(row.amount_minor, self.currency) if row else None
        refunded = from_minor(row.refunded_minor, self.currency) if row else Decimal(0)
        for kind, payload in events:
            if kind == "order_paid" and paid is None:
                paid = Decimal(payload["amount"])
            elif kind == "order_refunded":
                refunded += Decimal(payload["amount"])
        return None if paid is None else (paid, refunded)
