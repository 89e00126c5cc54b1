"""Shopify credentials and settings, from environment variables or a YAML config file.

The access token is never accepted on the command line (it would land in shell history and
the process list) and never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from loyaltykit.adapters.cli_common import settings_values
from loyaltykit.adapters.http import Redactor

#: The Admin API version every document is written and validated against (see the docs for
#: why 2025-01 and what happens when Shopify retires it).
API_VERSION = "2025-01"

ENV = {
    "shop": "LOYALTYKIT_SHOPIFY_SHOP",
    "token": "LOYALTYKIT_SHOPIFY_TOKEN",
    "api_version": "LOYALTYKIT_SHOPIFY_API_VERSION",
    "webhook_secret": "LOYALTYKIT_SHOPIFY_WEBHOOK_SECRET",
    "api_url": "LOYALTYKIT_SHOPIFY_API_URL",
}


@dataclass(frozen=True)
class ShopifySettings:
    """What the adapter needs to reach one shop.

    ``api_url`` replaces the GraphQL endpoint derived from ``shop`` and ``api_version``; it is
    meant for an egress proxy or a local test server.
    """

    shop: str
    token: str = field(repr=False)
    api_version: str = API_VERSION
    webhook_secret: str | None = field(default=None, repr=False)
    api_url: str | None = None

    def redactor(self) -> Redactor:
        return Redactor([self.token, self.webhook_secret])

    @property
    def shop_key(self) -> str:
        """The shop's handle (``mystore``), used to name this shop's sync cursors."""
        host = self.shop.split("://", 1)[-1]
        return host.split(".", 1)[0].split("/", 1)[0].lower()


def load_settings(
    config_file: Path | None = None, *, environ: Mapping[str, str] | None = None,
) -> ShopifySettings:
    """Settings from ``config_file`` (a ``shopify:`` section), overridden by environment."""
    return ShopifySettings(**settings_values(
        config_file, section="shopify", env=ENV, required=("shop", "token"), platform="Shopify",
        environ=environ))
