"""Incremental sync of Shopify customers and orders by ``updated_at``.

Each resource is a :class:`~loyaltykit.adapters.sync.Stream` over a cursor-paginated
GraphQL connection sorted by ``UPDATED_AT`` and filtered with Shopify search syntax
(``updated_at:>='…' AND updated_at:<'…'``); the shared driver in
:mod:`loyaltykit.adapters.sync` handles windows, checkpoints and boundary dedup. Running
:func:`sync` periodically is also the reconcile path for webhooks, which Shopify does not
guarantee to deliver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone

from loyaltykit.adapters.base import EventSink
from loyaltykit.adapters.shopify import documents
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.shopify.mapping import (
    Node,
    customer_events,
    numeric_id,
    order_events,
    parse_time,
)
from loyaltykit.adapters.sync import Page, SyncStats, Window, sync_stream
from loyaltykit.clock import Clock
from loyaltykit.errors import PermanentPlatformError
from loyaltykit.events import Event

log = logging.getLogger(__name__)

#: Shopify's maximum page size.
PAGE_SIZE = 250
#: Orders with up to 100 line items each cost far more per page; start smaller.
PAGE_SIZE_WITH_LINES = 25
#: Shopify refuses to page deeper than 25,000 objects on one cursor; restart well before.
MAX_WINDOW_OBJECTS = 20_000
RESOURCES = ("customers", "orders")


class GraphQLStream:
    """One connection read page by page; halves its page size if a page costs too much."""

    def __init__(
        self, client: ShopifyClient, *, cursor_name: str, document: str, connection: str,
        to_events: Callable[[Node], Iterable[Event]], page_size: int = PAGE_SIZE,
    ) -> None:
        self.cursor_name = cursor_name
        self.page_size = page_size
        self._client = client
        self._document = document
        self._connection = connection
        self._to_events = to_events

    def fetch(self, window: Window) -> Page[Node]:
        while True:
            variables = {"first": self.page_size, "after": window.after,
                         "query": search_query(window)}
            try:
                data = self._client.execute(self._document, variables)
            except PermanentPlatformError as exc:
                if exc.code != "MAX_COST_EXCEEDED" or self.page_size == 1:
                    raise
                self.page_size = max(1, self.page_size // 2)
                log.info("%s: page too costly for Shopify, retrying with %d per page",
                         self.cursor_name, self.page_size)
                continue
            connection = data[self._connection]
            info = connection["pageInfo"]
            return Page(records=connection["nodes"],
                        next_token=info["endCursor"] if info["hasNextPage"] else None)

    def identity(self, record: Node) -> tuple[str, datetime]:
        return numeric_id(record["id"]), parse_time(record["updatedAt"])

    def events(self, record: Node) -> Iterable[Event]:
        return self._to_events(record)


def search_query(window: Window) -> str:
    """Shopify search syntax for ``since <= updated_at < until`` (quoted ISO times, UTC)."""
    terms = []
    if window.since is not None:
        terms.append(f"updated_at:>='{_utc(window.since)}'")
    terms.append(f"updated_at:<'{_utc(window.until)}'")
    return " AND ".join(terms)


def cursor_name(shop_key: str, resource: str) -> str:
    return f"shopify:{shop_key}:{resource}"


def streams(client: ShopifyClient, *, include_lines: bool = False,
            include_test: bool = False) -> dict[str, GraphQLStream]:
    shop = client.settings.shop_key
    orders_document = documents.ORDERS_PAGE_WITH_LINES if include_lines else documents.ORDERS_PAGE
    return {
        "customers": GraphQLStream(
            client, cursor_name=cursor_name(shop, "customers"),
            document=documents.CUSTOMERS_PAGE, connection="customers",
            to_events=customer_events),
        "orders": GraphQLStream(
            client, cursor_name=cursor_name(shop, "orders"), document=orders_document,
            connection="orders",
            to_events=lambda node: order_events(node, include_test=include_test),
            page_size=PAGE_SIZE_WITH_LINES if include_lines else PAGE_SIZE),
    }


def sync(
    client: ShopifyClient, sink: EventSink, *, clock: Clock,
    resources: Sequence[str] = RESOURCES, overlap: timedelta = timedelta(minutes=5),
    start: datetime | None = None, include_lines: bool = False, include_test: bool = False,
    page_size: int | None = None,
) -> dict[str, SyncStats]:
    """Bring customers, then orders, up to date; safe to interrupt and run again.

    ``start`` bounds the very first sync (without it, the first sync reads all history; for
    years of orders run :class:`~loyaltykit.adapters.shopify.bulk.Backfill` first).
    ``page_size`` lowers the page size (at most 250) when pages cost too much.
    """
    unknown = sorted(set(resources) - set(RESOURCES))
    if unknown:
        raise ValueError(f"unknown Shopify resource(s) {unknown}; choose from {RESOURCES}")
    available = streams(client, include_lines=include_lines, include_test=include_test)
    if page_size is not None:
        for stream in available.values():
            stream.page_size = min(page_size, PAGE_SIZE)
    now = clock.now()
    report: dict[str, SyncStats] = {}
    for name in RESOURCES:
        if name in resources:
            stream = available[name]
            report[name] = sync_stream(
                stream, sink, now=now, overlap=overlap, start=start,
                max_window_pages=max(1, MAX_WINDOW_OBJECTS // stream.page_size))
    return report


def _utc(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
