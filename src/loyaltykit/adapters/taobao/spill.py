"""A scratch SQLite file that joins the reports of one import in constant memory.

Item lines and refunds arrive in their own files, in any order, and a million-row export
does not fit in a dict comfortably. They are written here during the checking pass and
looked up by order number while events are built. The file lives in a temporary directory
and is deleted when the import ends.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from loyaltykit.adapters.taobao.items import ItemRecord
from loyaltykit.adapters.taobao.orders import OrderRecord
from loyaltykit.adapters.taobao.refunds import RefundRecord

_SCHEMA = """
CREATE TABLE items (order_id TEXT, seq INTEGER, sku TEXT, amount TEXT, quantity INTEGER);
CREATE INDEX items_order ON items (order_id, seq);
CREATE TABLE refunds (refund_id TEXT PRIMARY KEY, order_id TEXT, amount TEXT,
                      completed_at INTEGER, source TEXT);
CREATE INDEX refunds_order ON refunds (order_id, completed_at, refund_id);
CREATE TABLE totals (order_id TEXT, amount TEXT, cents INTEGER, as_of INTEGER, source TEXT);
CREATE TABLE customers (buyer TEXT PRIMARY KEY, first_at INTEGER, last_at INTEGER,
                        source TEXT, phone TEXT, phone_at INTEGER, address TEXT,
                        address_at INTEGER, email TEXT, email_at INTEGER, alipay TEXT,
                        alipay_at INTEGER);
"""
_FLUSH = 5000


def _newest(column: str) -> str:
    """SET clause keeping the newest non-empty value (SET expressions see the old row)."""
    newer = (f"excluded.{column} IS NOT NULL AND ({column} IS NULL"
             f" OR excluded.{column}_at >= {column}_at)")
    return (f"{column} = CASE WHEN {newer} THEN excluded.{column} ELSE {column} END,"
            f" {column}_at = CASE WHEN {newer} THEN excluded.{column}_at ELSE {column}_at END")


_UPSERT_CUSTOMER = (
    "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (buyer) DO UPDATE SET first_at = min(first_at, excluded.first_at),"
    " source = CASE WHEN excluded.last_at >= last_at THEN excluded.source ELSE source END,"
    " last_at = max(last_at, excluded.last_at), "
    + ", ".join(_newest(c) for c in ("phone", "address", "email", "alipay")))


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """A buyer as all orders of an import describe them."""

    buyer: str
    first_order_at: datetime
    phone: str | None
    address: str | None
    email: str | None
    alipay_account: str | None


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


class Spill:
    """Scratch tables; ``add_*`` calls are buffered and flushed in batches."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="loyaltykit-taobao-")
        self._db = sqlite3.connect(Path(self._dir.name) / "spill.sqlite3")
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        self._pending: dict[str, list[tuple[Any, ...]]] = {}
        self._seq = 0

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _add(self, sql: str, row: tuple[Any, ...]) -> None:
        rows = self._pending.setdefault(sql, [])
        rows.append(row)
        if len(rows) >= _FLUSH:
            self.flush()

    def flush(self) -> None:
        for sql, rows in self._pending.items():
            self._db.executemany(sql, rows)
            rows.clear()
        self._db.commit()

    def add_item(self, item: ItemRecord) -> None:
        self._seq += 1
        self._add("INSERT INTO items VALUES (?, ?, ?, ?, ?)",
                  (item.order_id, self._seq, item.sku, str(item.amount), item.quantity))

    def add_refund(self, refund: RefundRecord, source: str) -> None:
        assert refund.completed_at is not None
        self._add("INSERT OR IGNORE INTO refunds VALUES (?, ?, ?, ?, ?)",
                  (refund.refund_id, refund.order_id, str(refund.amount),
                   _ts(refund.completed_at), source))

    def add_total(self, order_id: str, amount: Decimal, as_of: datetime, source: str) -> None:
        """An order report's cumulative 退款金额 for one order, seen at ``as_of``."""
        cents = int(amount.scaleb(2))
        self._add("INSERT INTO totals VALUES (?, ?, ?, ?, ?)",
                  (order_id, str(amount), cents, _ts(as_of), source))

    def add_customer(self, order: OrderRecord, source: str) -> None:
        """Fold one order's buyer details into the buyer's profile: the newest non-empty
        phone, address and account win, and the profile dates from the first order."""
        at = _ts(order.created_at)
        self._add(_UPSERT_CUSTOMER, (
            order.buyer, at, at, source, order.phone, at, order.address, at, order.email, at,
            order.alipay_account, at))

    def customers(self, tz: tzinfo) -> Iterator[tuple[CustomerProfile, str]]:
        rows = self._db.execute(
            "SELECT buyer, first_at, phone, address, email, alipay, source FROM customers"
            " ORDER BY buyer")
        for buyer, first_at, phone, address, email, alipay, source in rows:
            yield CustomerProfile(buyer, datetime.fromtimestamp(first_at, tz), phone, address,
                                  email, alipay), source

    def lines(self, order_id: str) -> list[tuple[str, Decimal, int]]:
        rows = self._db.execute(
            "SELECT sku, amount, quantity FROM items WHERE order_id = ? ORDER BY seq",
            (order_id,))
        return [(sku, Decimal(amount), quantity) for sku, amount, quantity in rows]

    def count_items(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM items").fetchone()[0])

    def last_refund_at(self, order_id: str, tz: tzinfo) -> datetime | None:
        row = self._db.execute("SELECT max(completed_at) FROM refunds WHERE order_id = ?",
                               (order_id,)).fetchone()
        return None if row[0] is None else datetime.fromtimestamp(row[0], tz)

    def first_order_at(self, buyer: str, tz: tzinfo) -> datetime | None:
        row = self._db.execute("SELECT first_at FROM customers WHERE buyer = ?",
                               (buyer,)).fetchone()
        return None if row is None else datetime.fromtimestamp(row[0], tz)

    def refunds_by_order(
        self, tz: tzinfo
    ) -> Iterator[tuple[str, Sequence[tuple[str, Decimal, datetime, str]]]]:
        """Successful refunds grouped by order, oldest first within an order."""
        rows = self._db.execute(
            "SELECT order_id, refund_id, amount, completed_at, source FROM refunds"
            " ORDER BY order_id, completed_at, refund_id")
        yield from _grouped(
            (order, (refund_id, Decimal(amount), datetime.fromtimestamp(at, tz), source))
            for order, refund_id, amount, at, source in rows)

    def largest_totals(self, tz: tzinfo) -> Iterator[tuple[str, Decimal, datetime, str]]:
        """Per order, the largest cumulative refund seen, with the earliest export showing it."""
        rows = self._db.execute(
            "SELECT order_id, amount, as_of, source FROM (SELECT *, row_number() OVER"
            " (PARTITION BY order_id ORDER BY cents DESC, as_of, rowid) AS pick FROM totals)"
            " WHERE pick = 1 ORDER BY order_id")
        for order_id, amount, as_of, source in rows:
            yield order_id, Decimal(amount), datetime.fromtimestamp(as_of, tz), source


def _grouped(
    pairs: Iterator[tuple[str, tuple[str, Decimal, datetime, str]]],
) -> Iterator[tuple[str, list[tuple[str, Decimal, datetime, str]]]]:
    current: str | None = None
    group: list[tuple[str, Decimal, datetime, str]] = []
    for key, value in pairs:
        if key != current and current is not None:
            yield current, group
            group = []
        current = key
        group.append(value)
    if current is not None:
        yield current, group
