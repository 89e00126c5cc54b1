"""A PostgreSQL server for the tests: a database of our own, one schema per ledger.

The URL comes from ``--db-url`` or LOYALTYKIT_TEST_PG_URL. Each pytest process (every xdist
worker) creates its own database and drops it when it ends, so workers and concurrent test
runs never see each other's tables or advisory locks; each ledger gets a fresh schema in
it, named in its URL's search_path, so it is opened exactly as a user would open one.
Databases left by a test process of this host that no longer exists (killed before its
teardown) are dropped when the next one starts.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

ENV = "LOYALTYKIT_TEST_PG_URL"
HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def configured_url(config: pytest.Config) -> str | None:
    url: str | None = config.getoption("--db-url") or os.environ.get(ENV)
    return url or None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip, or under CI fail: there PostgreSQL is part of the suite, never optional."""
    if in_ci():
        pytest.fail(f"{reason}. CI=true: the PostgreSQL half of the suite must run "
                    f"(start the server or fix {ENV} / --db-url)", pytrace=False)
    pytest.skip(f"{reason} (pass --db-url or set {ENV} to run it)")


class PgServer:
    def __init__(self, admin_url: URL, database: str) -> None:
        self.admin_url = admin_url
        self.database = database
        self.url = admin_url.set(database=database)
        self._engine: Engine | None = None
        self._count = 0
        self._extra: list[str] = []

    @classmethod
    def start(cls, url: str, tag: str) -> PgServer:
        admin_url = make_url(url)
        if admin_url.get_backend_name() != "postgresql":
            raise ValueError(f"{admin_url.render_as_string()} is not a PostgreSQL URL")
        name = f"lk_test_{HOST}_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
        admin = _admin(admin_url)
        try:
            with admin.connect() as conn:
                _drop_orphans(conn)
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return cls(admin_url, name)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.url, isolation_level="AUTOCOMMIT",
                                         poolclass=NullPool)
        return self._engine

    def new_schema(self) -> str:
        """The URL of an empty schema of our database, as a string to hand to open_ledger."""
        self._count += 1
        schema = f"l{self._count}_{secrets.token_hex(2)}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        return self.schema_url(schema)

    def schema_url(self, schema: str) -> str:
        return self.url.update_query_dict({"options": f"-csearch_path={schema}"}) \
            .render_as_string(hide_password=False)

    def drop_schema(self, url: str) -> None:
        schema = make_url(url).query["options"]
        assert isinstance(schema, str)
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema.split("=", 1)[1]}" CASCADE'))

    def new_database(self, options: str = "") -> str:
        """The URL of another empty database (``CREATE DATABASE ... options``), dropped
        with this one: for tests about database-wide settings such as the locale."""
        self._count += 1
        name = f"{self.database}_{self._count}"
        self._extra.append(name)
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" {options}'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        admin = _admin(self.admin_url)
        try:
            with admin.connect() as conn:
                for name in [*self._extra, self.database]:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


def _drop_orphans(conn: Connection) -> None:
    names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                         {"prefix": f"lk\\_test\\_{HOST}\\_%"}).scalars()
    for name in names:
        match = re.fullmatch(rf"lk_test_{HOST}_[a-z0-9]+_(\d+)_[0-9a-f]{{6}}(_\d+)?", name)
        if match and not _alive(int(match.group(1))):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _admin(url: URL) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                         connect_args={"connect_timeout": 5})


def start_server(config: pytest.Config, tag: str) -> PgServer:
    url = configured_url(config)
    if url is None:
        unavailable("no PostgreSQL server given")
    assert url is not None
    where = make_url(url).render_as_string(hide_password=True)
    try:
        return PgServer.start(url, tag)
    except DBAPIError as exc:
        unavailable(f"PostgreSQL at {where} is unreachable: {str(exc.orig).strip()}")
    except ValueError as exc:
        unavailable(str(exc))
    raise AssertionError("unreachable")
