"""Test kit for the Shopify adapter: an in-memory ledger (EventSink + OutboxSource), a fake
clock whose sleeps cost no time, a client factory pointed at the local fake Shopify, and
builders for Shopify customers and orders in GraphQL shape."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import tenacity
from fake_shopify import API_PATH, TOKEN, FakeShopify

from loyaltykit.adapters.base import IngestResult, OutboxItem
from loyaltykit.adapters.http import CostBucket, HttpTransport, RetryPolicy
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.shopify.config import ShopifySettings
from loyaltykit.commands import Command
from loyaltykit.events import Event

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shopify"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)

# Worked webhook example from docs/platform-apis.md A.5 (cross-checked there with openssl).
SECRET = "hush-shopify-app-secret"
BODY = (b'{"id":820982911946154508,"email":"jon@example.com",'
        b'"total_price":"199.00","currency":"USD"}')
SIGNATURE = "y3NVLG9/ZkDjigixNiQeZ7RFaYN9xAN45/F06ZXKPv8="

class FakeTime:
    """sleep() advances monotonic() instead of waiting; every wait is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def make_client(shop: FakeShopify, fake_time: FakeTime, *, token: str = TOKEN,
                attempts: int = 4, timeout: float = 5.0) -> ShopifyClient:
    settings = ShopifySettings(shop="teststore", token=token, api_url=shop.url + API_PATH)
    return ShopifyClient(
        settings,
        retry=RetryPolicy(attempts=attempts, sleep=fake_time.sleep,
                          backoff=tenacity.wait_fixed(0.5)),
        transport=HttpTransport(timeout=timeout, redactor=settings.redactor()),
        bucket=CostBucket(monotonic=fake_time.monotonic, sleep=fake_time.sleep))


class SinkFailure(RuntimeError):
    pass


@dataclass
class _Entry:
    item: OutboxItem
    state: str = "pending"  # pending | sent | retry | failed
    detail: str = ""


@dataclass
class MemoryLedger:
    """EventSink + OutboxSource in memory. ``fail_on_call`` makes that ingest call raise
    before storing anything, like a transaction that rolls back."""

    fail_on_call: int | None = None
    events: dict[str, Event] = field(default_factory=dict)
    delivered: list[str] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    outbox: dict[int, _Entry] = field(default_factory=dict)

    def ingest(self, events: Iterable[Event], *, cursor: tuple[str, str] | None = None,
               sources: Sequence[str | None] | None = None) -> IngestResult:
        self.calls += 1
        batch = list(events)
        if self.calls == self.fail_on_call:
            raise SinkFailure("simulated crash while writing")
        new = 0
        for event in batch:
            self.delivered.append(event.key)
            if event.key not in self.events:
                self.events[event.key] = event
                new += 1
        if cursor is not None:
            self.cursors[cursor[0]] = cursor[1]
        return IngestResult(new=new, duplicate=len(batch) - new)

    def cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    def add_commands(self, commands: Sequence[Command]) -> None:
        for command in commands:
            item_id = len(self.outbox) + 1
            self.outbox[item_id] = _Entry(OutboxItem(item_id, command, 0, NOW))

    def pending_commands(self, *, limit: int = 100, kinds: Sequence[str] | None = None
                         ) -> list[OutboxItem]:
        return [e.item for e in self.outbox.values() if e.state in ("pending", "retry")][:limit]

    def mark_sent(self, item_id: int, *, detail: str = "") -> None:
        self.outbox[item_id].state, self.outbox[item_id].detail = "sent", detail

    def mark_failed(self, item_id: int, error: str, *, retriable: bool) -> None:
        entry = self.outbox[item_id]
        entry.state, entry.detail = ("retry" if retriable else "failed"), error

    def states(self) -> dict[int, str]:
        return {i: e.state for i, e in self.outbox.items()}

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events.values() if e.kind == kind]


def money(amount: str, currency: str = "USD") -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": currency},
            "presentmentMoney": {"amount": amount, "currencyCode": currency}}


def customer(n: int, updated: str, *, email: str | None = None, tags: Sequence[str] = ()
             ) -> dict[str, Any]:
    return {"id": f"gid://shopify/Customer/{n}", "updatedAt": updated,
            "createdAt": "2023-01-01T00:00:00Z", "email": email or f"c{n}@example.com",
            "phone": None, "firstName": f"First{n}", "lastName": None, "tags": list(tags),
            "defaultAddress": {"address1": "1 Main St", "address2": None, "city": "Springfield",
                               "provinceCode": "IL", "zip": "62701", "countryCodeV2": "US"},
            "amountSpent": {"amount": "0.0", "currencyCode": "USD"}}


def order(n: int, updated: str, *, customer_id: int | None = 1, status: str = "PAID",
          total: str = "100.00", current_total: str | None = None,
          refunds: Sequence[tuple[int, str, str]] = (), cancelled: str | None = None,
          lines: Sequence[tuple[str, str, int, str]] = (), test: bool = False,
          processed: str = "2024-05-01T10:00:00Z") -> dict[str, Any]:
    """``refunds``: (id, createdAt, amount); ``lines``: (sku, amount, quantity, productType)."""
    return {
        "id": f"gid://shopify/Order/{n}", "name": f"#{1000 + n}", "updatedAt": updated,
        "processedAt": processed, "cancelledAt": cancelled, "displayFinancialStatus": status,
        "test": test,
        "customer": {"id": f"gid://shopify/Customer/{customer_id}"} if customer_id else None,
        "totalPriceSet": money(total),
        "currentTotalPriceSet": money(current_total or total),
        "refunds": [{"id": f"gid://shopify/Refund/{rid}", "createdAt": at, "updatedAt": at,
                     "totalRefundedSet": money(amount)} for rid, at, amount in refunds],
        "lineItems": {"nodes": [
            {"id": f"gid://shopify/LineItem/{n * 100 + i}", "sku": sku, "name": sku,
             "quantity": qty, "discountedTotalSet": money(amount),
             "product": {"productType": ptype}}
            for i, (sku, amount, qty, ptype) in enumerate(lines)],
            "pageInfo": {"hasNextPage": False}},
    }


def put(shop: FakeShopify, *records: dict[str, Any]) -> None:
    for record in records:
        target = shop.customers if "/Customer/" in record["id"] else shop.orders
        target[record["id"]] = record
