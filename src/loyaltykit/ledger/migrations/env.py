"""Alembic environment of the ledger schema.

Run by :func:`loyaltykit.ledger.migrations.upgrade` (``loyaltykit db upgrade``) with the
connection it holds, inside its transaction and lock; or by the ``alembic`` command line
with ``alembic.ini`` in this folder, for developers writing a revision
(``alembic -c src/loyaltykit/ledger/migrations/alembic.ini -x db=URL revision -m ...``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from loyaltykit.ledger.migrations import VERSION_TABLE
from loyaltykit.ledger.schema import metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    from loyaltykit.ledger.ledger import engine_for

    url = context.get_x_argument(as_dictionary=True).get("db") or \
        context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database: alembic -x db=URL_OR_SQLITE_PATH ...")
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            _migrate(conn)
    finally:
        engine.dispose()


_main()
