"""WooCommerce adapter: REST API v3 (via the ``woocommerce`` package) -> events; outbox -> store.

- :func:`sync`: customers (full scan, content-hashed) and orders (by ``modified_after``),
  resumable page by page; also the reconcile path for missed webhooks;
- :class:`Pusher`: personal coupons and customer meta from the outbox;
- :class:`WebhookHandler`: verified, deduplicated webhook deliveries -> events;
- :data:`app`: the ``loyaltykit woocommerce`` command group.

Everything reaches the ledger only through :mod:`loyaltykit.adapters.base`.
"""

from loyaltykit.adapters.http import RecentDeliveries, WebhookOutcome
from loyaltykit.adapters.woocommerce.cli import app
from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.adapters.woocommerce.config import WooSettings, load_settings
from loyaltykit.adapters.woocommerce.incremental import sync
from loyaltykit.adapters.woocommerce.push import Pusher, PushReport
from loyaltykit.adapters.woocommerce.webhooks import WebhookHandler, verify_signature

__all__ = [
    "PushReport",
    "Pusher",
    "RecentDeliveries",
    "WebhookHandler",
    "WebhookOutcome",
    "WooClient",
    "WooSettings",
    "app",
    "load_settings",
    "sync",
    "verify_signature",
]
