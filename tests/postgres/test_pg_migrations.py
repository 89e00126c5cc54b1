"""Schema migrations: new ledgers at the head revision, revisions that build exactly the
schema module, the 0.1.0 SQLite file upgraded with its data, an older PostgreSQL schema
refused until ``loyaltykit db upgrade``, a newer one refused, workers creating one schema."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import typer
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from click.testing import Result
from sqlalchemy import Engine, MetaData, func, inspect, select, text
from typer.testing import CliRunner

from loyaltykit.cli import db_commands
from loyaltykit.errors import ConfigurationError, NotFoundError
from loyaltykit.events import PointsRedeemed
from loyaltykit.ledger import Ledger, migrations, open_ledger
from loyaltykit.ledger import schema as t
from loyaltykit.ledger.ledger import engine_for
from loyaltykit.testing import EventBuilder
from loyaltykit.testing.conformance import SHANGHAI, START, SUITE_PROGRAM

from .server import PgServer

FIXTURE = Path(__file__).parent / "fixtures" / "ledger-0.1.0.sql"
MIGRATIONS = Path(migrations.__file__).parent


def legacy_file(path: Path) -> Path:
    """A ledger file exactly as loyaltykit 0.1.0 left it (tables, no revision)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(FIXTURE.read_text())
    finally:
        conn.close()
    return path


def alembic_upgrade(engine: Engine, revision: str) -> None:
    """Run the revision scripts themselves (not the create_all shortcut for new ledgers)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def schema_differences(engine: Engine) -> list[object]:
    """Alembic's comparison of the database with schema.py, plus column collations (which
    it does not compare, and which decide the order of ties on PostgreSQL)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "version_table": migrations.VERSION_TABLE})
        found: list[object] = list(compare_metadata(context, t.metadata))
    reflect = inspect(engine)
    for table in t.metadata.sorted_tables:
        reflected = {c["name"]: getattr(c["type"], "collation", None)
                     for c in reflect.get_columns(table.name)}
        for column in table.columns:
            kind = column.type._variant_mapping.get(engine.dialect.name, column.type)
            wanted = getattr(kind, "collation", None)
            if reflected.get(column.name) != wanted:
                found.append(("collation", table.name, column.name, reflected.get(column.name)))
    return found


def cli(*args: str) -> Result:
    app = typer.Typer()
    db_commands.register(app)
    app.command("version")(lambda: None)  # a second command keeps "db" a group
    return CliRunner().invoke(app, list(args))


def test_a_new_ledger_starts_at_the_head_revision(ledger_url_factory: Callable[[], str]) -> None:
    with open_ledger(ledger_url_factory(), [SUITE_PROGRAM]) as ledger:
        assert migrations.current(ledger.engine) == migrations.HEAD == t.SCHEMA_REVISION
        assert migrations.script_directory().get_current_head() == migrations.HEAD


def index_definitions(engine: Engine) -> dict[str, str]:
    """Every index as the database spells it (partial-index predicates included, which
    Alembic's comparison ignores)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                     "AND sql IS NOT NULL")).all()
        else:
            rows = conn.execute(text("SELECT indexname, replace(indexdef, current_schema() "
                                     "|| '.', '') FROM pg_indexes WHERE schemaname = "
                                     "current_schema()")).all()
    return {name: " ".join(sql.replace('"', "").split()) for name, sql in rows}


def check_definitions(engine: Engine) -> dict[tuple[str, str], str]:
    """Every CHECK constraint as the database spells it (Alembic does not compare them)."""
    reflect = inspect(engine)
    return {(table.name, check["name"]): " ".join(check["sqltext"].split())
            for table in t.metadata.sorted_tables
            for check in reflect.get_check_constraints(table.name)}


def test_the_revisions_build_exactly_the_tables_of_the_schema_module(
        ledger_url_factory: Callable[[], str]) -> None:
    migrated = engine_for(ledger_url_factory())
    created = engine_for(ledger_url_factory())  # a new ledger: schema.py's create_all
    try:
        alembic_upgrade(migrated, "head")
        assert schema_differences(migrated) == []
        assert migrations.current(migrated) == migrations.HEAD
        Ledger(created)
        assert index_definitions(migrated) == index_definitions(created)
        assert check_definitions(migrated) == check_definitions(created)
    finally:
        migrated.dispose()
        created.dispose()


def test_revision_0001_is_the_schema_loyaltykit_0_1_0_wrote(tmp_path: Path) -> None:
    old = legacy_file(tmp_path / "old.db")
    rebuilt = engine_for(tmp_path / "rebuilt.db")
    alembic_upgrade(rebuilt, "0001")
    rebuilt.dispose()

    def ddl(path: Path) -> dict[str, str]:
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE name LIKE 'lk_%' "
                                "AND name != 'lk_alembic_version' AND sql IS NOT NULL"
                                ).fetchall()
        finally:
            conn.close()
        return {name: " ".join(sql.split()) for name, sql in rows}

    assert ddl(tmp_path / "rebuilt.db") == ddl(old)


def test_a_0_1_0_file_is_upgraded_when_opened_and_keeps_its_data(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = legacy_file(tmp_path / "shop.db")
    with caplog.at_level(logging.WARNING, logger="loyaltykit.ledger"), \
            open_ledger(path) as ledger:
        assert migrations.current(ledger.engine) == migrations.HEAD
        assert f"from revision 0001 to {migrations.HEAD}" in caplog.text
        assert f"{path}.bak-0001" in caplog.text
        assert (ledger.customer("alice").balance, ledger.customer("bob").balance) == (950, 150)
        assert ledger.cursor("shop:orders") == "page-7"
        waiting = ledger.pending_commands(limit=100)
        assert len(waiting) == 5
        assert [i.id for i in ledger.claim_commands("pusher", limit=2)] == \
            [i.id for i in waiting[:2]]
        ledger.run(datetime(2025, 4, 5, tzinfo=SHANGHAI))  # processing goes on: lots expire
        assert (ledger.customer("alice").balance, ledger.customer("bob").balance) == (300, 0)
    backup = engine_for(tmp_path / "shop.db.bak-0001")
    assert migrations.current(backup) == "0001"
    backup.dispose()


def test_db_upgrade_and_db_current_on_a_0_1_0_file(tmp_path: Path) -> None:
    path = str(legacy_file(tmp_path / "shop.db"))
    before = cli("db", "current", "--db", path, "--check")
    assert before.exit_code == 1 and "revision 0001" in before.output
    upgraded = cli("db", "upgrade", "--db", path)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"from revision 0001 to {migrations.HEAD}" in upgraded.output
    assert "already" in cli("db", "upgrade", "--db", path).output
    assert cli("db", "current", "--db", path, "--check").exit_code == 0
    missing = cli("db", "current", "--db", str(tmp_path / "nothing.db"))
    assert isinstance(missing.exception, NotFoundError)
    assert not (tmp_path / "nothing.db").exists()


def test_a_ledger_written_by_a_newer_release_is_refused(
        ledger_url_factory: Callable[[], str]) -> None:
    url = ledger_url_factory()
    with open_ledger(url, [SUITE_PROGRAM]) as ledger, ledger.engine.begin() as conn:
        conn.execute(text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '0999'"))
    with pytest.raises(ConfigurationError, match="newer release"):
        open_ledger(url)


def test_workers_opening_an_empty_database_together_create_it_once(
        ledger_url_factory: Callable[[], str]) -> None:
    url = ledger_url_factory()
    start = threading.Barrier(8)
    outcomes: list[object] = []

    def open_it() -> None:
        start.wait()
        try:
            with open_ledger(url, [SUITE_PROGRAM]) as ledger:
                outcomes.append(migrations.current(ledger.engine))
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [migrations.HEAD] * 8
    with open_ledger(url) as ledger, ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.programs)).scalar() == 1


# ---------------------------------------------------------------------------- PostgreSQL


def copy_rows(source: Engine, target: Engine) -> None:
    """The rows of a 0.1.0 SQLite ledger into a PostgreSQL schema at revision 0001."""
    old = MetaData()
    old.reflect(source)
    with source.connect() as src, target.begin() as dst:
        for table in t.metadata.sorted_tables:
            if table.name not in old.tables:
                continue
            columns = [table.c[c.name] for c in old.tables[table.name].columns]
            rows = [dict(r) for r in src.execute(select(*columns)).mappings()]
            if rows:
                dst.execute(table.insert(), rows)
        for table, column in (("lk_inbox", "seq"), ("lk_entries", "seq"),
                              ("lk_tier_changes", "seq"), ("lk_outbox", "id")):
            dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                             f"(SELECT max({column}) FROM {table}))"))


@pytest.mark.postgresql
def test_an_older_postgres_schema_is_refused_until_db_upgrade(pg_server: PgServer,
                                                              tmp_path: Path) -> None:
    url = pg_server.new_schema()
    engine = engine_for(url)
    legacy = engine_for(legacy_file(tmp_path / "shop.db"))
    try:
        alembic_upgrade(engine, "0001")
        copy_rows(legacy, engine)
        with pytest.raises(ConfigurationError, match="loyaltykit db upgrade --db") as refused:
            open_ledger(url)
        assert "revision 0001" in str(refused.value)

        upgraded = cli("db", "upgrade", "--db", url)
        assert upgraded.exit_code == 0, upgraded.output
        assert schema_differences(engine) == []
        columns = {c["name"]: c for c in inspect(engine).get_columns("lk_inbox")}
        assert columns["event_key"]["type"].collation == "C"
        with open_ledger(url) as ledger:
            assert (ledger.customer("alice").balance, ledger.customer("bob").balance) == \
                (950, 150)
            ledger.run(datetime(2025, 4, 5, tzinfo=SHANGHAI))
            assert (ledger.customer("alice").balance, ledger.customer("bob").balance) == \
                (300, 0)
    finally:
        engine.dispose()
        legacy.dispose()


@pytest.mark.postgresql
def test_ties_are_broken_in_byte_order_whatever_the_database_locale(
        pg_server: PgServer, tmp_path: Path) -> None:
    """An en-US database sorts "a" before "B"; SQLite, Python and the C collation put "B"
    first. Two redemptions at the same instant that the balance covers once: the same one
    must win on both backends."""
    url = pg_server.new_database(
        "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
    shop = EventBuilder(currency="CNY", start=START)
    shop.customer("alice")
    shop.order("alice", "100.00")  # 100 + 50 welcome = 150 points: one five-off
    shop.advance(days=1)
    at = shop.events[-1].occurred_at
    events = [*shop.events, PointsRedeemed("a-1", "alice", at, "five-off"),
              PointsRedeemed("B-1", "alice", at, "five-off")]
    winners = []
    for target in (url, str(tmp_path / "ledger.db")):
        with open_ledger(target, [SUITE_PROGRAM]) as ledger:
            with ledger.engine.connect() as conn:
                if ledger.engine.dialect.name == "postgresql":
                    assert conn.execute(text("SELECT 'a-1' < 'B-1'")).scalar()  # the locale
            ledger.ingest(events)
            ledger.run(at)
            winners.append([e.entry_key for e in ledger.customer("alice").history
                            if e.kind == "redemption"])
    assert winners == [["redemption:B-1"]] * 2
