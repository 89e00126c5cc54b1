"""Commands that work on a ledger: import, run, customer, report, export, redeem, demo."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loyaltykit.canonical import read_shop_files
from loyaltykit.cli.options import (
    DEFAULT_DB,
    AsOf,
    Db,
    ProgramFiles,
    advance,
    ledger_from,
    parse_instant,
    progress_bar,
)
from loyaltykit.cli.render import print_customer, print_report
from loyaltykit.commands import command_payload

out = Console()
export_app = typer.Typer(help="Export ledger data for other tools.", no_args_is_help=True)


class Format(str, Enum):
    csv = "csv"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("import")(import_files)
    app.command()(run)
    app.command()(customer)
    app.command()(report)
    app.command()(redeem)
    app.command()(outbox)
    app.add_typer(export_app, name="export")
    export_app.command("customers")(export_customers)
    from loyaltykit.cli.demo import demo

    app.command()(demo)


def import_files(
    directory: Annotated[Path, typer.Argument(help="Folder with customers.csv, orders.csv, "
                                              "refunds.csv, order_lines.csv", exists=True,
                                              file_okay=False)],
    db: Db = DEFAULT_DB,
    program: ProgramFiles = None,
) -> None:
    """Import canonical CSV files into the ledger's inbox (all-or-nothing per import)."""
    with ledger_from(db, program) as ledger:
        files = read_shop_files(directory, currency=ledger.programs.first.currency,
                                known=ledger.known())
        total = sum(files.counts.values())
        with progress_bar("importing", total) as bar:
            result = ledger.ingest_sourced(((s.event, s.source) for s in files.events()),
                                           progress=advance(bar))
    out.print(f"{result.new} new events, {result.duplicate} already known, from "
              f"{', '.join(f'{k}: {v} rows' for k, v in files.counts.items())}")


def run(
    as_of: Annotated[str, typer.Option("--as-of", help="ISO 8601 instant with offset, or now")],
    db: Db = DEFAULT_DB,
    program: ProgramFiles = None,
) -> None:
    """Process every pending event and due timer (expiry, delayed rewards) up to --as-of."""
    instant = parse_instant(as_of)
    with ledger_from(db, program) as ledger, progress_bar("processing", None) as bar:
        result = ledger.run(instant, progress=advance(bar))
    out.print(f"processed {result.events} events ({result.rejected} rejected) and "
              f"{result.timers} timers up to {instant.isoformat()}: {result.entries} entries")


def customer(
    customer_id: Annotated[str, typer.Argument(help="Customer id")],
    db: Db = DEFAULT_DB,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """A customer's balance, tier, progress, segment and every ledger entry with its reason."""
    with ledger_from(db, None) as ledger:
        view = ledger.customer(customer_id, as_of=parse_instant(as_of) if as_of else None)
    if as_json:
        data = dataclasses.asdict(view)
        data["progress"] = str(view.progress) if view.progress else None
        data["explanation"] = view.explain()
        typer.echo(json.dumps(data, default=str, indent=2))
    else:
        print_customer(out, view)


def report(
    db: Db = DEFAULT_DB,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Tiers, segments, points liability, earned/reversed/expired, referrers and flags."""
    with ledger_from(db, None) as ledger:
        result = ledger.report(as_of=parse_instant(as_of) if as_of else None)
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
    else:
        print_report(out, result)


def export_customers(
    as_of: Annotated[str, typer.Option("--as-of", help="ISO 8601 instant with offset")],
    db: Db = DEFAULT_DB,
    fmt: Annotated[Format, typer.Option("--format", help="csv or json")] = Format.csv,
    output: Annotated[Path | None, typer.Option(help="File to write (default stdout)")] = None,
) -> None:
    """One row per customer as of an instant: balance, tier, lifetime points, referrals, segment."""
    with ledger_from(db, None) as ledger:
        rows = [dataclasses.asdict(r) for r in ledger.export_customers(
            as_of=parse_instant(as_of))]
    stream = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt is Format.json:
            json.dump(rows, stream, indent=2)
            stream.write("\n")
        else:
            fields = [f.name for f in dataclasses.fields(
                __import__("loyaltykit.ledger.queries", fromlist=["CustomerRow"]).CustomerRow)]
            writer = csv.DictWriter(stream, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if output:
            stream.close()


def redeem(
    customer_id: Annotated[str, typer.Argument(help="Customer id")],
    reward_id: Annotated[str, typer.Argument(help="Reward id from the program")],
    redemption_id: Annotated[str, typer.Option("--id", help="Your unique id for this "
                                               "redemption (makes retries safe)")],
    at: Annotated[str, typer.Option("--at", help="ISO 8601 instant, or now")] = "now",
    db: Db = DEFAULT_DB,
) -> None:
    """Spend points on a reward: a debit now and a discount code in the outbox."""
    with ledger_from(db, None) as ledger:
        entry = ledger.redeem(customer_id, reward_id, at=parse_instant(at),
                              redemption_id=redemption_id)
    out.print(f"{customer_id}: {entry.points:+,} points for {reward_id}; balance "
              f"{entry.balance_after:,}")


def outbox(
    db: Db = DEFAULT_DB,
    limit: Annotated[int, typer.Option(help="How many commands to show")] = 20,
) -> None:
    """Commands waiting to be pushed to the shop platform."""
    with ledger_from(db, None) as ledger:
        items = ledger.pending_commands(limit=limit)
    for item in items:
        typer.echo(json.dumps({"id": item.id, "kind": item.command.kind,
                               "attempts": item.attempts,
                               **command_payload(item.command)}, ensure_ascii=False))
