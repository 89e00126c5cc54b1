"""Incremental sync of WooCommerce customers and orders.

Both are :class:`~loyaltykit.adapters.sync.Stream` s for the shared driver, which commits
each page's events together with the checkpoint (window, next page, newest modification time
read, ids read at that time) in one ledger transaction.

**Orders** are read with ``modified_after`` = window start minus the overlap,
``dates_are_gmt=true`` (otherwise WooCommerce compares against site-local time),
``orderby=id&order=asc`` and ``per_page=100``, page by page until ``X-WP-TotalPages``.
WooCommerce paginates by offset, so the list must not shift under the reader: there is
deliberately no ``modified_before`` (an order edited during the sync would leave the list and
every later order would move one place up, and one would be skipped) and the order is by id
(an edited order keeps its place; one newly inside the window only pushes later ones down, to
be read twice and skipped as already seen). Orders edited after the window opened may
therefore be read early; the checkpoint is capped at the window end (``cap_at_until``) so the
next sync still re-reads from there. Refunds are fetched per refunded order, with their own
dates.

**Customers** have no modification filter in the REST API, so every sync reads them all (by
id, 100 per page; about one request per 100 customers). That is cheap and self-healing: a
customer's event key is a hash of its content, so an unchanged customer is recognised as
already known (at the boundary by the checkpoint, elsewhere by the ledger), and a change
WooCommerce did not stamp with a new ``date_modified`` is still picked up. Webhooks
(``customer.updated``) make changes visible sooner; the sync is the reconcile path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from loyaltykit.adapters.base import EventSink
from loyaltykit.adapters.sync import Page, Stream, SyncStats, Window, sync_stream
from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.adapters.woocommerce.mapping import (
    PAID,
    Obj,
    customer_events,
    gmt_text,
    modified_at,
    order_events,
)
from loyaltykit.clock import Clock
from loyaltykit.events import Event

log = logging.getLogger(__name__)

RESOURCES = ("customers", "orders")


def cursor_name(shop_key: str, resource: str) -> str:
    return f"woocommerce:{shop_key}:{resource}"


class OrderStream:
    def __init__(self, client: WooClient) -> None:
        self.client = client
        self.cursor_name = cursor_name(client.settings.shop_key, "orders")

    def fetch(self, window: Window) -> Page[Obj]:
        params: dict[str, Any] = {"orderby": "id", "order": "asc", "dates_are_gmt": True}
        if window.since is not None:
            params["modified_after"] = gmt_text(window.since)
        page = self.client.get_page("orders", params, int(window.after or 1))
        nxt = page.next_page
        return Page(records=page.records, next_token=None if nxt is None else str(nxt))

    def identity(self, record: Obj) -> tuple[str, datetime]:
        return str(record["id"]), modified_at(record)

    def events(self, record: Obj) -> Iterable[Event]:
        refunds: Sequence[Obj] | None = None
        if (record.get("refunds") and record.get("status") in PAID
                and int(record.get("customer_id") or 0)):
            refunds = list(self.client.get_all(f"orders/{record['id']}/refunds"))
        return order_events(record, refunds)


class CustomerStream:
    def __init__(self, client: WooClient) -> None:
        self.client = client
        self.cursor_name = cursor_name(client.settings.shop_key, "customers")

    def fetch(self, window: Window) -> Page[Obj]:
        params = {"orderby": "id", "order": "asc", "role": self.client.settings.customer_role}
        page = self.client.get_page("customers", params, int(window.after or 1))
        nxt = page.next_page
        return Page(records=page.records, next_token=None if nxt is None else str(nxt))

    def identity(self, record: Obj) -> tuple[str, datetime]:
        """A customer *version* (its content-hashed event key): the overlap skips a customer
        read again unchanged, never one changed without a new ``date_modified``."""
        (event,) = customer_events(record)
        return event.key, modified_at(record)

    def events(self, record: Obj) -> Iterable[Event]:
        return customer_events(record)


def sync(
    client: WooClient, sink: EventSink, *, clock: Clock,
    resources: Sequence[str] = RESOURCES, overlap: timedelta = timedelta(minutes=5),
    start: datetime | None = None,
) -> dict[str, SyncStats]:
    """Bring customers, then orders, up to date; safe to interrupt and run again.

    ``start`` bounds the first order sync (without it, the first sync reads all history).
    """
    unknown = sorted(set(resources) - set(RESOURCES))
    if unknown:
        raise ValueError(f"unknown WooCommerce resource(s) {unknown}; choose from {RESOURCES}")
    streams: dict[str, Stream[Obj]] = {"customers": CustomerStream(client),
                                       "orders": OrderStream(client)}
    now = clock.now()
    report: dict[str, SyncStats] = {}
    for name in RESOURCES:
        if name in resources:
            report[name] = sync_stream(streams[name], sink, now=now, overlap=overlap,
                                       start=start if name == "orders" else None,
                                       cap_at_until=True)
    return report
