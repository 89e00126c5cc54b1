"""``loyaltykit db``: the ledger's database schema, created and upgraded by revision.

An upgrade is a deployment step on PostgreSQL: run ``loyaltykit db upgrade`` once, before
starting workers of the new version (they refuse an older schema and say so). A SQLite
ledger is also upgraded when it is opened, with a copy of the file kept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from loyaltykit.cli.options import DEFAULT_DB, Db
from loyaltykit.errors import ConfigurationError, NotFoundError
from loyaltykit.ledger import migrations
from loyaltykit.ledger.ledger import engine_for

out = Console()
T = TypeVar("T")
db_app = typer.Typer(help="The ledger's database schema: see its revision, upgrade it.",
                     no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command()
def upgrade(db: Db = DEFAULT_DB) -> None:
    """Upgrade the ledger's schema to this loyaltykit's revision (an empty database gets
    the whole schema). Safe to run from several hosts at once: one upgrades, others wait."""
    engine = _engine(db)
    try:
        done = _connected(engine, lambda: migrations.upgrade(engine))
    finally:
        engine.dispose()
    where = migrations.where(engine)
    if done.before == done.after:
        out.print(f"{where}: schema already at revision {done.after}")
    elif done.before is None:
        out.print(f"{where}: created the ledger schema at revision {done.after}")
    else:
        out.print(f"{where}: upgraded the schema from revision {done.before} to {done.after}")
    if done.backup is not None:
        out.print(f"the file before the upgrade is kept as {done.backup}")


@db_app.command()
def current(
    db: Db = DEFAULT_DB,
    check: Annotated[bool, typer.Option(
        "--check", help="Exit 1 unless the schema is at this loyaltykit's revision "
                        "(for deployment scripts)")] = False,
) -> None:
    """Show the ledger's schema revision and the one this loyaltykit needs."""
    if "://" not in db and not Path(db).exists():
        raise NotFoundError(f"no ledger at {db}: nothing to show (loyaltykit db upgrade "
                            "creates one)")
    engine = _engine(db)
    try:
        revision = _connected(engine, lambda: migrations.current(engine))
    finally:
        engine.dispose()
    where = migrations.where(engine)
    if revision is None:
        out.print(f"{where}: no ledger schema yet; this loyaltykit needs revision "
                  f"{migrations.HEAD} (loyaltykit db upgrade creates it)")
    elif revision == migrations.HEAD:
        out.print(f"{where}: schema at revision {revision} (up to date)")
    else:
        out.print(f"{where}: schema at revision {revision}; this loyaltykit needs "
                  f"{migrations.HEAD}: run loyaltykit db upgrade")
    if check and revision != migrations.HEAD:
        raise typer.Exit(1)


def _engine(db: str) -> Engine:
    try:
        return engine_for(db)
    except ArgumentError:  # its message would repeat the URL, password and all
        raise ConfigurationError(
            "--db is neither a SQLite file nor a database URL such as "
            "postgresql+psycopg://user:password@host:5432/shop") from None
    except NoSuchModuleError as exc:
        raise ConfigurationError(f"--db names a database driver that is not installed: "
                                 f"{exc} (for PostgreSQL: pip install 'loyaltykit[postgresql]')"
                                 ) from None


def _connected(engine: Engine, work: Callable[[], T]) -> T:
    try:
        return work()
    except OperationalError as exc:
        raise ConfigurationError(f"cannot reach {migrations.where(engine)}: "
                                 f"{str(exc.orig).strip()}") from None
