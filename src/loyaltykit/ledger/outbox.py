"""The outbox: commands waiting for adapters to deliver them to a platform.

The engine writes commands in the same transaction as the entries that caused them; this
module is how pushers read and settle them. One pusher reads with ``pending_commands``;
several pushers each claim a share with a lease (``claim_commands``), so no command is
delivered by two of them at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, update

from loyaltykit.adapters.base import OutboxItem
from loyaltykit.commands import command_from_payload
from loyaltykit.ledger import schema as t

CLAIM_LEASE = timedelta(minutes=5)


class Outbox:
    """Reading, claiming and settling the commands of one ledger database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pending_commands(self, *, limit: int = 100,
                         kinds: Sequence[str] | None = None) -> list[OutboxItem]:
        """Commands not yet delivered, oldest first, leaving out those a pusher has claimed.

        Reading does not claim: with one pusher this is all it needs. With several, use
        :meth:`claim_commands` (or ``Ledger.outbox_for``) so each command goes to one of them.
        """
        o = t.outbox.c
        with self.engine.connect() as conn:
            stmt = select(t.outbox).where(o.status == "pending", _unclaimed(_now(conn)))
            if kinds:
                stmt = stmt.where(o.kind.in_(list(kinds)))
            rows = conn.execute(stmt.order_by(o.id).limit(limit)).mappings().all()
        return [_outbox_item(r) for r in rows]

    def claim_commands(self, owner: str, *, limit: int = 100,
                       kinds: Sequence[str] | None = None,
                       lease: timedelta = CLAIM_LEASE) -> list[OutboxItem]:
        """Claim up to ``limit`` pending commands for the pusher ``owner``, oldest first.

        Nobody else is offered them until ``lease`` runs out (``owner`` itself is, so a
        pusher that asks again sees its own unfinished claims), or until they are marked.
        On PostgreSQL, concurrent claims skip each other's rows (``FOR UPDATE SKIP
        LOCKED``) instead of waiting; on SQLite the claim takes the database's write lock.
        The lease must outlast a delivery: a pusher that dies holding a claim only delays
        its commands by the lease, and a command whose delivery outlives the lease may be
        delivered again (commands are idempotent by key, so platforms see it once).
        """
        o = t.outbox.c
        with self.engine.begin() as conn:
            now = _now(conn)
            pick = select(o.id).where(o.status == "pending",
                                      or_(_unclaimed(now), o.claimed_by == owner))
            if kinds:
                pick = pick.where(o.kind.in_(list(kinds)))
            pick = pick.order_by(o.id).limit(limit).with_for_update(skip_locked=True)
            rows = conn.execute(
                update(t.outbox).where(o.id.in_(pick.scalar_subquery()))
                .values(claimed_by=owner, claimed_until=now + lease)
                .returning(o.id, o.kind, o.payload, o.attempts, o.created_at)).mappings().all()
        return sorted((_outbox_item(r) for r in rows), key=lambda item: item.id)

    def mark_sent(self, item_id: int, *, detail: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == item_id).values(
                status="sent", sent_at=datetime.now(timezone.utc), last_error=detail or None,
                attempts=t.outbox.c.attempts + 1, claimed_by=None, claimed_until=None))

    def mark_failed(self, item_id: int, error: str, *, retriable: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == item_id).values(
                status="pending" if retriable else "failed", last_error=error,
                attempts=t.outbox.c.attempts + 1, claimed_by=None, claimed_until=None))


class ClaimingOutbox:
    """An :class:`~loyaltykit.adapters.base.OutboxSource` for one of several pushers.

    ``pending_commands`` claims what it returns (:meth:`Outbox.claim_commands`), so the
    Shopify and WooCommerce pushers, unchanged, can run as many copies as wanted.
    """

    def __init__(self, outbox: Outbox, owner: str, lease: timedelta) -> None:
        self.outbox = outbox
        self.owner = owner
        self.lease = lease

    def pending_commands(self, *, limit: int = 100,
                         kinds: Sequence[str] | None = None) -> list[OutboxItem]:
        return self.outbox.claim_commands(self.owner, limit=limit, kinds=kinds,
                                          lease=self.lease)

    def mark_sent(self, item_id: int, *, detail: str = "") -> None:
        self.outbox.mark_sent(item_id, detail=detail)

    def mark_failed(self, item_id: int, error: str, *, retriable: bool) -> None:
        self.outbox.mark_failed(item_id, error, retriable=retriable)


def _now(conn: Connection) -> datetime:
    """The database's clock on a server (pushers on several hosts agree on it), else ours."""
    if conn.dialect.name == "postgresql":
        now: datetime = conn.execute(select(func.now())).scalar_one()
        return now
    return datetime.now(timezone.utc)


def _unclaimed(now: datetime) -> Any:
    o = t.outbox.c
    return or_(o.claimed_until.is_(None), o.claimed_until <= now)


def _outbox_item(row: Any) -> OutboxItem:
    return OutboxItem(row["id"], command_from_payload(row["kind"], dict(row["payload"])),
                      row["attempts"], row["created_at"])
