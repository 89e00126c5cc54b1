"""Shopify adapter: Admin GraphQL API (pinned to :data:`API_VERSION`) -> events; outbox -> shop.

- :func:`sync`: incremental sync of customers and orders by ``updated_at`` (also the
  reconcile path for missed webhooks);
- :class:`Backfill`: full history through bulk operations, resumable;
- :class:`Pusher`: discount codes, customer tags and profile metafields from the outbox;
- :class:`WebhookHandler`: verified, deduplicated webhook deliveries -> events;
- :data:`app`: the ``loyaltykit shopify`` command group.

Everything reaches the ledger only through :mod:`loyaltykit.adapters.base`.
"""

from loyaltykit.adapters.http import RecentDeliveries, WebhookOutcome
from loyaltykit.adapters.shopify.bulk import Backfill, BackfillReport
from loyaltykit.adapters.shopify.cli import app
from loyaltykit.adapters.shopify.client import SCOPES, ShopifyClient
from loyaltykit.adapters.shopify.config import API_VERSION, ShopifySettings, load_settings
from loyaltykit.adapters.shopify.incremental import sync
from loyaltykit.adapters.shopify.push import Pusher, PushReport, plan
from loyaltykit.adapters.shopify.webhooks import WebhookHandler

__all__ = [
    "API_VERSION",
    "SCOPES",
    "Backfill",
    "BackfillReport",
    "PushReport",
    "Pusher",
    "RecentDeliveries",
    "ShopifyClient",
    "ShopifySettings",
    "WebhookHandler",
    "WebhookOutcome",
    "app",
    "load_settings",
    "plan",
    "sync",
]
