"""WooCommerce credentials and settings, from environment variables or a YAML config file.

The REST API key pair (``ck_...`` / ``cs_...``, WooCommerce > Settings > Advanced > REST API,
permission Read/Write) and the webhook secret are never accepted on the command line (shell
history, process list) and never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from loyaltykit.adapters.cli_common import settings_values
from loyaltykit.adapters.http import Redactor
from loyaltykit.errors import ConfigurationError

log = logging.getLogger(__name__)

ENV = {
    "url": "LOYALTYKIT_WOO_URL",
    "key": "LOYALTYKIT_WOO_KEY",
    "secret": "LOYALTYKIT_WOO_SECRET",
    "webhook_secret": "LOYALTYKIT_WOO_WEBHOOK_SECRET",
    "customer_role": "LOYALTYKIT_WOO_CUSTOMER_ROLE",
}
SECTION = "woocommerce"
#: ``GET /customers`` filters on one WordPress role; "all" also covers shoppers registered
#: with another role (a membership plugin's "subscriber"), whose orders still earn.
DEFAULT_ROLE = "all"
ROLES = ("all", "administrator", "editor", "author", "contributor", "subscriber", "customer",
         "shop_manager")


@dataclass(frozen=True)
class WooSettings:
    """What the adapter needs to reach one store.

    ``url`` is the WordPress site root (``https://shop.example.com``), not the REST path.
    Over https the key pair travels as HTTP Basic auth; over plain http (local development)
    requests are signed with OAuth 1.0a instead, so the secret is never sent.
    """

    url: str
    key: str = field(repr=False)
    secret: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    customer_role: str = DEFAULT_ROLE

    def redactor(self) -> Redactor:
        return Redactor([self.key, self.secret, self.webhook_secret])

    @property
    def shop_key(self) -> str:
        """The store's host (and path, for a WordPress in a subfolder): names its cursors."""
        parts = urlsplit(self.url)
        return (parts.netloc + parts.path.rstrip("/")).lower()


def load_settings(
    config_file: Path | None = None, *, environ: Mapping[str, str] | None = None,
) -> WooSettings:
    """Settings from ``config_file`` (a ``woocommerce:`` section), overridden by environment."""
    settings = WooSettings(**settings_values(
        config_file, section=SECTION, env=ENV, required=("url", "key", "secret"),
        platform="WooCommerce", environ=environ))
    _check(settings)
    return settings


def _check(settings: WooSettings) -> None:
    parts = urlsplit(settings.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"WooCommerce url {settings.url!r} is not a site address: use the WordPress site "
            "root, e.g. https://shop.example.com")
    if "/wp-json" in parts.path:
        raise ConfigurationError(
            f"WooCommerce url {settings.url!r} includes the REST path: give only the site "
            "root (the adapter adds /wp-json/wc/v3)")
    if settings.key.startswith("cs_") and settings.secret.startswith("ck_"):
        raise ConfigurationError(
            "the WooCommerce consumer key and secret are swapped: the key starts with ck_, "
            f"the secret with cs_ ({ENV['key']}, {ENV['secret']})")
    if settings.customer_role not in ROLES:
        raise ConfigurationError(
            f"WooCommerce customer_role {settings.customer_role!r} is not a role the REST API "
            f"filters on; choose one of {', '.join(ROLES)}")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        log.warning("WooCommerce url %s is plain http: requests are OAuth-signed, but order "
                    "and customer data travel unencrypted; use https", settings.url)
