"""``loyaltykit shopify sync | backfill | push``: the adapter from the command line.

The main CLI mounts :data:`app` as its ``shopify`` group. Credentials come from
``LOYALTYKIT_SHOPIFY_SHOP`` / ``LOYALTYKIT_SHOPIFY_TOKEN`` or a YAML config file, never from
command-line options (which end up in shell history and the process list).
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, closing
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from loyaltykit.adapters import cli_common
from loyaltykit.adapters.cli_common import open_ledger  # by name: the seam tests replace
from loyaltykit.adapters.shopify import incremental
from loyaltykit.adapters.shopify.bulk import Backfill
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.shopify.config import load_settings
from loyaltykit.adapters.shopify.push import Pusher, plan
from loyaltykit.clock import SystemClock
from loyaltykit.commands import command_payload
from loyaltykit.errors import LoyaltyKitError

app = typer.Typer(
    name="shopify", no_args_is_help=True,
    help="Sync customers and orders from a Shopify shop and push rewards back to it.")

Config = Annotated[Path | None, cli_common.config_option(
    "shopify", "shop, token, api_version, webhook_secret", "LOYALTYKIT_SHOPIFY_*")]


@app.command()
def sync(
    db: cli_common.Db, config: Config = None,
    lines: Annotated[bool, typer.Option(
        "--lines", help="Fetch order line items (for category or product rules).")] = False,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Sync only this resource: customers or orders (repeatable).")] = None,
    overlap: Annotated[int, typer.Option(
        "--overlap-minutes", min=0, help="Re-read this much before the last sync.")] = 5,
) -> None:
    """Bring customers and orders up to date (run it periodically: it reconciles webhooks)."""
    with cli_common.errors_reported(), _client(config) as client, _ledger(db) as ledger:
        report = incremental.sync(
            client, ledger, clock=SystemClock(), include_lines=lines,
            resources=only or incremental.RESOURCES, overlap=timedelta(minutes=overlap))
    cli_common.echo_sync_report(report)


@app.command()
def backfill(
    db: cli_common.Db, config: Config = None,
    restart: Annotated[bool, typer.Option(
        "--restart", help="Start over instead of resuming or skipping a finished backfill.")
    ] = False,
    poll_interval: Annotated[float, typer.Option(
        "--poll-interval", min=1.0, help="Seconds between status checks.")] = 5.0,
) -> None:
    """Load all history with bulk operations; resumable, then hands over to `sync`."""
    with cli_common.errors_reported(), _client(config) as client, _ledger(db) as ledger:
        report = Backfill(client, ledger, clock=SystemClock(),
                          poll_interval=poll_interval).run(restart=restart)
    if report.already_done:
        typer.echo("backfill already finished; use --restart to run it again")
        return
    counts = ", ".join(f"{n} {name}" for name, n in report.objects.items())
    typer.echo(f"backfill done: {counts or 'nothing'}; {report.new} new events, "
               f"{report.duplicate} already known")


@app.command()
def push(
    db: cli_common.Db, config: Config = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the calls that would be sent; send and mark nothing.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Outbox items per batch.")] = 100,
) -> None:
    """Deliver pending discount codes, tags and profile metafields from the outbox."""
    if dry_run:
        with cli_common.errors_reported(), _ledger(db) as ledger:
            items = ledger.pending_commands(limit=limit)
            for item in items:
                typer.echo(json.dumps(_dry_run_entry(item.id, item.command), default=str,
                                      ensure_ascii=False, sort_keys=True))
        typer.echo(f"{len(items)} pending item(s); nothing sent")
        return
    with cli_common.errors_reported(), _client(config) as client, _ledger(db) as ledger:
        report = Pusher(client, ledger, batch=limit).run()
    typer.echo(f"sent {report.sent}, failed {len(report.failed)}")
    for item_id, error in report.failed:
        typer.echo(f"  item {item_id}: {error}", err=True)
    if report.stopped:
        typer.echo(f"stopped early: {report.stopped}", err=True)
    if report.failed:
        raise typer.Exit(code=1)


def _dry_run_entry(item_id: int, command: Any) -> dict[str, Any]:
    try:
        calls: Any = [{"call": op.name, "variables": op.variables} for op in plan(command)]
    except LoyaltyKitError as exc:
        calls = f"cannot be sent: {exc}"
    return {"item": item_id, "kind": command.kind, "command": command_payload(command),
            "calls": calls}


def _client(config: Path | None) -> closing[ShopifyClient]:
    return closing(ShopifyClient(load_settings(config)))


def _ledger(db: str) -> AbstractContextManager[cli_common.Ledger]:
    return cli_common.closing_ledger(open_ledger(db))
