"""Pages of pending events, and the processing lock their saving takes (the generation).

The protocol is described in :mod:`loyaltykit.engine.runner`; these are its statements,
built once: every run issues them, and on a small ledger building a statement costs more
than running it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, bindparam, cast, or_, select, tuple_, type_coerce, update

from loyaltykit.ledger import indexes
from loyaltykit.ledger import schema as t
from loyaltykit.ledger.store import insert_ignore

GENERATION = "generation"

_GENERATION = select(t.meta.c.key, t.meta.c.value).where(  # and whether indexes are away
    or_(t.meta.c.key == GENERATION, t.meta.c.key == indexes.AWAY))
_TAKE_LOCK = (update(t.meta).where(t.meta.c.key == GENERATION).values(value=t.meta.c.value)
              .returning(t.meta.c.value))
_SET_GENERATION = (update(t.meta).where(t.meta.c.key == GENERATION)
                   .values(value=bindparam("generation")))
# The payload comes as text and is decoded by the runner: SQLAlchemy's JSON type wrapped
# each of a replay's million decodes in two more Python calls (4 % of the replay).
PENDING = (
    select(t.inbox.c.seq, t.inbox.c.kind, cast(t.inbox.c.payload, Text).label("payload"),
           t.inbox.c.customer_id, t.inbox.c.order_id,
           # the order key as stored, to read on after the page (see order_key())
           type_coerce(t.inbox.c.occurred_at, Text).label("at"), t.inbox.c.priority,
           t.inbox.c.event_key)
    .where(t.inbox.c.status == "pending",
           t.inbox.c.occurred_at <= bindparam("as_of", type_=t.UtcDateTime()))
    .order_by(t.inbox.c.occurred_at, t.inbox.c.priority, t.inbox.c.event_key)
    .limit(bindparam("size")))
PENDING_AFTER = PENDING.where(
    tuple_(t.inbox.c.occurred_at, t.inbox.c.priority, t.inbox.c.event_key)
    > tuple_(bindparam("at", type_=Text()), bindparam("priority"), bindparam("key")))


def pending_page(conn: Connection, as_of: datetime, size: int,
                 after: dict[str, Any] | None = None) -> Sequence[Any]:
    """The next ``size`` pending events up to ``as_of``, in processing order; with
    ``after`` (an event's :func:`order_key`), only those that come after that event."""
    if after is None:
        return conn.execute(PENDING, {"as_of": as_of, "size": size}).all()
    return conn.execute(PENDING_AFTER, {"as_of": as_of, "size": size, **after}).all()


def order_key(row: Any) -> dict[str, Any]:
    """An event's place in the processing order, from a row of :func:`pending_page`."""
    return {"at": row.at, "priority": row.priority, "key": row.event_key}


def generation(conn: Connection) -> tuple[int, bool]:
    """The generation, and whether the secondary indexes are set aside."""
    found: dict[str, str] = dict(conn.execute(_GENERATION).all())
    return int(found.get(GENERATION) or 0), indexes.AWAY in found


def lock(conn: Connection) -> int:
    """Take the processing lock (held until the transaction ends); the generation it guards.

    A no-op UPDATE rather than SELECT ... FOR UPDATE, because on SQLite only a write takes
    the lock that keeps other processes out.
    """
    value = conn.execute(_TAKE_LOCK).scalar()
    if value is None:  # the ledger's first page
        insert_ignore(conn, t.meta, [{"key": GENERATION, "value": "0"}])
        value = conn.execute(_TAKE_LOCK).scalar_one()
    return int(value)


def set_generation(conn: Connection, value: int) -> None:
    """Record a saved page, under the lock :func:`lock` took."""
    conn.execute(_SET_GENERATION, {"generation": str(value)})
