"""What the platform adapters' command lines share, so each CLI holds only its own commands.

- the ``--db`` and ``--config`` options, worded alike for every platform;
- the settings of a platform from its section of the YAML config file, overridden by the
  environment (credentials never come from options, which end up in shell history and the
  process list);
- known errors reported as one line on stderr with the exit code a script can act on;
- the ledger opened for one command and closed after it, however the command ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Protocol

import typer
import yaml

from loyaltykit.adapters.base import EventSink, OutboxSource
from loyaltykit.adapters.sync import SyncStats
from loyaltykit.errors import ConfigurationError, LoyaltyKitError

__all__ = [
    "Db", "Ledger", "closing_ledger", "config_option", "echo_sync_report", "errors_reported",
    "open_ledger", "settings_values",
]

Db = Annotated[str, typer.Option(
    "--db", envvar="LOYALTYKIT_DB", help="The ledger: a SQLite file path or a database URL.")]


def config_option(section: str, keys: str, variables: str) -> Any:
    """The ``--config`` option of a platform whose settings are ``keys`` under ``section``."""
    return typer.Option(
        "--config", "-c", envvar="LOYALTYKIT_CONFIG", dir_okay=False,
        help=f"YAML file with a '{section}:' section ({keys}). {variables} environment "
             "variables override it.")


# --------------------------------------------------------------------------- settings


def settings_values(
    config_file: Path | None, *, section: str, env: Mapping[str, str], required: Sequence[str],
    platform: str, environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The settings under ``section`` of the config file, each overridden by its environment
    variable in ``env`` (setting -> variable); every missing ``required`` one is named with
    both ways to set it."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if config_file is not None:
        values = _read_section(config_file, section, env, required)
    for name, variable in env.items():
        if environ.get(variable):
            values[name] = environ[variable]
    missing = [name for name in required if not values.get(name)]
    if missing:
        where = ", ".join(f"{env[m]} (or {section}.{m} in the config file)" for m in missing)
        raise ConfigurationError(f"{platform} settings incomplete: set {where}")
    return {key: str(value) for key, value in values.items() if value is not None}


def _read_section(path: Path, section: str, allowed: Mapping[str, str],
                  required: Sequence[str]) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML ({exc})") from None
    values = document.get(section) if isinstance(document, dict) else None
    if not isinstance(values, dict):
        *first, last = required
        needs = f"{', '.join(first)} and {last}" if first else last
        raise ConfigurationError(f"{path}: expected a '{section}:' section with {needs}")
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ConfigurationError(
            f"{path}: unknown key(s) {', '.join(f'{section}.{u}' for u in unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}")
    return dict(values)


# --------------------------------------------------------------------------- commands


class Ledger(EventSink, OutboxSource, Protocol):
    """What the adapters' commands need of :func:`loyaltykit.open_ledger`'s result."""


def open_ledger(db: str) -> Ledger:
    """:func:`loyaltykit.open_ledger`, imported late: adapters do not depend on the ledger
    (whose package imports the adapters' base), only the command line joins them."""
    from loyaltykit import open_ledger as open_any_ledger

    return open_any_ledger(db)


@contextmanager
def closing_ledger(ledger: Ledger) -> Iterator[Ledger]:
    """Close the ledger after the command, also when it fails (an in-memory one has no close)."""
    try:
        yield ledger
    finally:
        close = getattr(ledger, "close", None)
        if callable(close):
            close()


@contextmanager
def errors_reported() -> Iterator[None]:
    """Known errors as one line on stderr (already free of secrets), not a traceback: exit 2
    for a configuration to fix, 1 for anything else."""
    try:
        yield
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except LoyaltyKitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None


def echo_sync_report(report: Mapping[str, SyncStats]) -> None:
    for name, stats in report.items():
        typer.echo(f"{name}: {stats.records} read in {stats.pages} pages, "
                   f"{stats.new} new events, {stats.duplicate} already known")
