"""Shared fixtures: a ledger per test on SQLite, and on PostgreSQL when a server is given.

``ledger_factory`` is parametrized by backend, so every test using it runs on ``[sqlite]``
(a fresh file) and on ``[postgresql]`` (a fresh schema of a database owned by this pytest
process; see tests/postgres/server.py). PostgreSQL is given with ``--db-url URL`` or
LOYALTYKIT_TEST_PG_URL; without it the PostgreSQL half is skipped with the reason, except
under CI=true, where a missing or unreachable server fails it. ``scratch_ledger_url`` is the
same per backend, for tests that open a ledger per Hypothesis example.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from loyaltykit.ledger import Ledger, open_ledger
from loyaltykit.rules.program import Program
from postgres.server import PgServer, start_server

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db-url", default=None,
                     help="PostgreSQL URL (postgresql+psycopg://...) to run the ledger tests "
                          "against as well as SQLite [env: LOYALTYKIT_TEST_PG_URL]; the tests "
                          "create and drop their own databases on that server")


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[PgServer]:
    """This pytest process's own database on the server under test."""
    server = start_server(request.config, os.environ.get("PYTEST_XDIST_WORKER", "main"))
    yield server
    server.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ledger_url_factory(backend: str, request: pytest.FixtureRequest,
                       tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Where to open a new, empty ledger on the backend under test (call once per ledger)."""
    if backend == "sqlite":
        counter = iter(range(1000))
        yield lambda: str(tmp_path / f"ledger{next(counter)}.db")
        return
    server: PgServer = request.getfixturevalue("pg_server")
    made: list[str] = []

    def make() -> str:
        made.append(server.new_schema())
        return made[-1]

    yield make
    for url in made:
        server.drop_schema(url)


@pytest.fixture
def scratch_ledger_url(backend: str, request: pytest.FixtureRequest,
                       tmp_path: Path) -> Callable[[], AbstractContextManager[str]]:
    """``with scratch_ledger_url() as url:`` where to open a new, empty ledger on the backend
    under test, removed again on exit (close the ledger first): for property tests, where
    one test runs many Hypothesis examples, each needing its own ledger, and shrinking a
    failure can run hundreds more."""
    if backend == "sqlite":
        @contextmanager
        def sqlite_file() -> Iterator[str]:
            with tempfile.TemporaryDirectory(dir=tmp_path) as directory:
                yield str(Path(directory) / "ledger.db")
        return sqlite_file
    server: PgServer = request.getfixturevalue("pg_server")

    @contextmanager
    def pg_schema() -> Iterator[str]:
        url = server.new_schema()
        try:
            yield url
        finally:
            server.drop_schema(url)
    return pg_schema


@pytest.fixture
def ledger_factory(ledger_url_factory: Callable[[], str]) -> Iterator[Callable[..., Ledger]]:
    opened: list[Ledger] = []

    def make(*programs: Program) -> Ledger:
        ledger = open_ledger(ledger_url_factory(), list(programs))
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()
