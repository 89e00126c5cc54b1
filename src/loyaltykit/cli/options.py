"""Options shared by the commands that open a ledger."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from loyaltykit.ledger import Ledger, open_ledger
from loyaltykit.rules.loader import load_programs

Db = Annotated[str, typer.Option(
    "--db", envvar="LOYALTYKIT_DB",
    help="SQLite file or SQLAlchemy URL of the ledger [env: LOYALTYKIT_DB]")]
ProgramFiles = Annotated[list[Path] | None, typer.Option(
    "--program", "-p", exists=True, dir_okay=False,
    help="Program version(s) to install before the command (repeatable)")]
AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="ISO 8601 instant with offset, or 'now' (default: where the ledger is)")]

DEFAULT_DB = "loyaltykit.db"


def parse_instant(text: str) -> datetime:
    if text == "now":
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 instant; write e.g. 2026-01-31T00:00:00+08:00"
        ) from None
    if value.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no offset; add one such as +08:00 or Z")
    return value


@contextmanager
def ledger_from(db: str, programs: list[Path] | None) -> Iterator[Ledger]:
    ledger = open_ledger(db, load_programs(programs) if programs else None)
    try:
        yield ledger
    finally:
        ledger.close()


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Progress]:
    """A progress bar on stderr that stays out of the way of piped output."""
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), transient=True)
    with bar:
        bar.add_task(label, total=total)
        yield bar


def advance(bar: Progress):  # type: ignore[no-untyped-def]
    task = bar.tasks[0].id
    return lambda n: bar.advance(task, n)
