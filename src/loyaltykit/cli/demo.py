"""``loyaltykit demo``: the whole path on bundled data, in one command.

It installs the bundled program, imports a bundled two-year shop history, replays it into a
fresh SQLite file and prints the report, so a new user sees real output first. The default
history is a Taobao seller-center export (GBK, the real header layout, synthetic people):
the path most of the shops we serve take; ``--source canonical`` uses the generic CSV files.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from importlib.resources import as_file, files
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loyaltykit.adapters.taobao import ImportOptions, import_files, read_categories
from loyaltykit.canonical import read_shop_files
from loyaltykit.cli.options import advance, progress_bar
from loyaltykit.cli.render import print_report
from loyaltykit.ledger import Ledger, open_ledger
from loyaltykit.rules.loader import load_program
from loyaltykit.rules.program import Program

SAMPLES = files("loyaltykit") / "samples"
DEMO_AS_OF = "2026-11-01T00:00:00+08:00"

out = Console()


class Source(str, Enum):
    taobao = "taobao"
    canonical = "canonical"


def demo(
    db: Annotated[Path, typer.Option(help="SQLite file to create (replaced if it exists)")]
    = Path("loyaltykit-demo.db"),
    source: Annotated[Source, typer.Option(help="taobao: a seller-center export (GBK); "
                                           "canonical: the generic CSV files")]
    = Source.taobao,
) -> None:
    """Replay a bundled two-year shop history under the bundled program and print the report."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with as_file(SAMPLES / "program.yaml") as program_path:
        program = load_program(program_path)
    out.print(f"program {program.label}: {program.name} ({program.currency}, {program.timezone})")
    with open_ledger(db, program) as ledger:
        if source is Source.taobao:
            new, origin = _import_taobao(ledger, program)
        else:
            new, origin = _import_canonical(ledger, program)
        as_of = datetime.fromisoformat(DEMO_AS_OF)
        with progress_bar("replaying", new) as bar:
            result = ledger.run(as_of, progress=advance(bar))
        out.print(f"imported {new} events from {origin}; processed {result.events} events "
                  f"({result.rejected} rejected) and {result.timers} timers into {db}: "
                  f"{result.entries} ledger entries")
        print_report(out, ledger.report(as_of=as_of))
    out.print(f"\nNext: loyaltykit customer <id> --db {db}   |   loyaltykit report --db {db} "
              f"--json   |   loyaltykit explain --customer <id> --db {db}")


def _import_taobao(ledger: Ledger, program: Program) -> tuple[int, str]:
    with as_file(SAMPLES / "taobao") as folder_path:
        folder = Path(folder_path)
        inputs = [p for p in sorted(folder.iterdir()) if p.name != "categories.csv"]
        report = import_files(ledger, inputs, options=ImportOptions(
            timezone=program.timezone, currency=program.currency,
            categories=read_categories(folder / "categories.csv")))
        return report.new, "a Taobao seller-center export: " + ", ".join(p.name for p in inputs)


def _import_canonical(ledger: Ledger, program: Program) -> tuple[int, str]:
    with as_file(SAMPLES / "shop") as shop:
        shop_files = read_shop_files(Path(shop), currency=program.currency, known=ledger.known())
        with progress_bar("importing", sum(shop_files.counts.values())) as bar:
            ingested = ledger.ingest_sourced(
                ((s.event, s.source) for s in shop_files.events()), progress=advance(bar))
        return ingested.new, f"canonical CSV files in {shop}"
