"""Schema migrations: create a new ledger, check an opened one, upgrade an older one.

The revisions are Alembic scripts in ``versions/``, shipped inside the package so an
installed loyaltykit can upgrade its database (``loyaltykit db upgrade``). The applied
revision is kept in ``lk_alembic_version`` (not ``alembic_version``, so a shop's own
Alembic history in the same schema is left alone).

Opening a ledger (:func:`ensure_schema`):

- an empty database gets the tables of :mod:`loyaltykit.ledger.schema` and the head revision;
- a SQLite file at an older revision is upgraded on the spot, after a copy of the file is
  kept next to it, and a warning says so: an embedded ledger has one owner;
- a server database (PostgreSQL) at an older revision is refused with the command to run:
  several workers, maybe on several hosts and versions, share it, so the upgrade is a
  deployment step, not a side effect of whichever worker starts first;
- a revision this loyaltykit does not know (a newer release wrote it) is refused.

DDL runs under a lock (a transaction-level advisory lock on PostgreSQL, ``BEGIN IMMEDIATE``
on SQLite), so workers starting together on an empty database create it once.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text

from loyaltykit.errors import ConfigurationError
from loyaltykit.ledger import schema

VERSION_TABLE = "lk_alembic_version"
HERE = Path(__file__).parent
HEAD = schema.SCHEMA_REVISION
BASELINE = "0001"  # loyaltykit 0.1.0: tables, no version table

log = logging.getLogger("loyaltykit.ledger")


@dataclass(frozen=True, slots=True)
class Upgrade:
    before: str | None  # None: the database held no ledger
    after: str
    backup: Path | None  # the SQLite file as it was, if it was changed


@cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory(str(HERE), version_locations=[str(HERE / "versions")])


def revision_of(conn: Connection) -> str | None:
    """The schema revision of the database, or None if it holds no ledger yet."""
    tables = set(inspect(conn).get_table_names())
    if "lk_inbox" not in tables:
        return None
    if VERSION_TABLE in tables:
        recorded = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
        if recorded is not None:
            return recorded
    # Tables but no recorded revision: written by 0.1.0, or by metadata.create_all.
    outbox = {c["name"] for c in inspect(conn).get_columns("lk_outbox")}
    return HEAD if "claimed_by" in outbox else BASELINE


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return revision_of(conn)


def ensure_schema(engine: Engine) -> None:
    """Make the database usable by this loyaltykit, or say what to do (see module doc)."""
    revision = current(engine)
    if revision == HEAD:
        return
    if revision is None:
        with _exclusive(engine) as conn:
            if revision_of(conn) is None:
                schema.metadata.create_all(conn)
                _stamp(conn, HEAD)
        return
    _check_known(revision, engine)
    if engine.dialect.name != "sqlite":
        raise ConfigurationError(
            f"the ledger at {where(engine)} has schema revision {revision}; this loyaltykit "
            f"needs {HEAD}. Upgrade it once, before starting the workers: "
            f"loyaltykit db upgrade --db '{where(engine)}'")
    done = upgrade(engine)
    log.warning("upgraded the ledger schema at %s from revision %s to %s%s", where(engine),
                done.before, done.after, f"; the file before the upgrade is kept as "
                f"{done.backup}" if done.backup else "")


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to the head revision.

    An empty database gets the whole schema. A SQLite file is copied to ``<file>.bak-<rev>``
    before its first change.
    """
    with _exclusive(engine) as conn:
        before = revision_of(conn)
        if before is None:
            schema.metadata.create_all(conn)
            _stamp(conn, HEAD)
            return Upgrade(None, HEAD, None)
        if before == HEAD:
            return Upgrade(before, HEAD, None)
        _check_known(before, engine)
        backup = _backup_sqlite(engine, before)
        if MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}) \
                .get_current_revision() is None:
            _stamp(conn, before)
        config = Config()
        config.set_main_option("script_location", str(HERE))
        config.attributes["connection"] = conn
        command.upgrade(config, HEAD)
    return Upgrade(before, HEAD, backup)


def _stamp(conn: Connection, revision: str) -> None:
    MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).stamp(
        script_directory(), revision)


def _check_known(revision: str, engine: Engine) -> None:
    try:
        script_directory().get_revision(revision)
    except CommandError:
        raise ConfigurationError(
            f"the ledger at {where(engine)} has schema revision {revision!r}, which this "
            f"loyaltykit (schema {HEAD}) does not know: it was written by a newer release. "
            "Upgrade loyaltykit on this host.") from None


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A transaction that no other process creating or upgrading the schema can share."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, before reading
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('loyaltykit.schema:' "
                              "|| current_schema()))"))
        yield conn


def sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or \
            database.startswith("file:"):
        return None
    return Path(database)


def _backup_sqlite(engine: Engine, revision: str) -> Path | None:
    source = sqlite_file(engine)
    if source is None or not source.exists():
        return None
    target = source.with_name(f"{source.name}.bak-{revision}")
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def where(engine: Engine) -> str:
    """The database's URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)


__all__ = ["HEAD", "Upgrade", "current", "ensure_schema", "revision_of", "sqlite_file", "upgrade",
           "where"]
