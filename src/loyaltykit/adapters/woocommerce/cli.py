"""``loyaltykit woocommerce sync | push``: the adapter from the command line.

The main CLI mounts :data:`app` as its ``woocommerce`` group. Credentials come from
``LOYALTYKIT_WOO_URL`` / ``LOYALTYKIT_WOO_KEY`` / ``LOYALTYKIT_WOO_SECRET`` or a YAML config
file (a ``woocommerce:`` section), never from command-line options, which end up in shell
history and the process list.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, closing
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from loyaltykit.adapters import cli_common
from loyaltykit.adapters.cli_common import open_ledger  # by name: the seam tests replace
from loyaltykit.adapters.woocommerce import incremental
from loyaltykit.adapters.woocommerce.client import BATCH_LIMIT, WooClient
from loyaltykit.adapters.woocommerce.config import load_settings
from loyaltykit.adapters.woocommerce.push import Pusher
from loyaltykit.clock import SystemClock
from loyaltykit.errors import ConfigurationError

app = typer.Typer(
    name="woocommerce", no_args_is_help=True,
    help="Sync customers and orders from a WooCommerce store and push rewards back to it.")

Config = Annotated[Path | None, cli_common.config_option(
    "woocommerce", "url, key, secret, webhook_secret, customer_role", "LOYALTYKIT_WOO_*")]


@app.command()
def sync(
    db: cli_common.Db, config: Config = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Sync only this resource: customers or orders (repeatable).")] = None,
    overlap: Annotated[int, typer.Option(
        "--overlap-minutes", min=0, help="Re-read this much before the last sync.")] = 5,
) -> None:
    """Bring customers and orders up to date (run it periodically: it reconciles webhooks)."""
    with cli_common.errors_reported(), _client(config) as client, _ledger(db) as ledger:
        unknown = sorted(set(only or ()) - set(incremental.RESOURCES))
        if unknown:
            raise ConfigurationError(f"--only {', '.join(unknown)}: choose customers or orders")
        report = incremental.sync(client, ledger, clock=SystemClock(),
                                  resources=only or incremental.RESOURCES,
                                  overlap=timedelta(minutes=overlap))
    cli_common.echo_sync_report(report)


@app.command()
def push(
    db: cli_common.Db, config: Config = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the writes that would be sent (customers are still read); "
                          "send and mark nothing.")] = False,
    limit: Annotated[int, typer.Option(
        "--limit", min=1, max=BATCH_LIMIT, help="Outbox items per batch.")] = BATCH_LIMIT,
) -> None:
    """Deliver pending coupons and customer meta (tier, points, segment, tags) from the outbox."""
    with cli_common.errors_reported(), _client(config) as client, _ledger(db) as ledger:
        report = Pusher(client, ledger, batch=limit, dry_run=dry_run).run()
    if dry_run:
        for call in report.calls:
            typer.echo(json.dumps({"method": call.method, "endpoint": call.endpoint,
                                   "outbox_items": list(call.items), "body": call.body},
                                  ensure_ascii=False, sort_keys=True))
        for item_id, error in report.failed:
            typer.echo(f"  item {item_id} cannot be sent: {error}", err=True)
        typer.echo(f"{len(report.calls)} call(s) planned; nothing sent")
        return
    typer.echo(f"sent {report.sent}, failed {len(report.failed)}, "
               f"to retry {len(report.retriable)}")
    for item_id, error in report.failed + report.retriable:
        typer.echo(f"  item {item_id}: {error}", err=True)
    if report.stopped:
        typer.echo(f"stopped early: {report.stopped}", err=True)
    if report.failed or report.stopped:
        raise typer.Exit(code=1)


def _client(config: Path | None) -> closing[WooClient]:
    return closing(WooClient(load_settings(config)))


def _ledger(db: str) -> AbstractContextManager[cli_common.Ledger]:
    return cli_common.closing_ledger(open_ledger(db))
