"""A replay into an empty SQLite ledger sets the secondary indexes aside and builds them
again at its end; one that is cut off leaves that to the next run, which builds them before
it reads anything (see loyaltykit.ledger.indexes)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select

from loyaltykit.events import Event
from loyaltykit.ledger import indexes, open_ledger
from loyaltykit.ledger import schema as t
from loyaltykit.testing import EventBuilder
from loyaltykit.testing.conformance import START, SUITE_PROGRAM
from postgres.ledger_state import assert_same_ledger, snapshot
from postgres.server import PgServer

DECLARED = {str(index.name) for index in indexes.SECONDARY}
TABLES = {index.table.name for index in indexes.SECONDARY if index.table is not None}


def history() -> list[Event]:
    shop = EventBuilder(currency="CNY", start=START)
    events: list[Event] = []
    for n in range(8):
        events.append(shop.customer(f"c{n}"))
        events.append(order := shop.order(f"c{n}", "120.00"))
        if n == 0:
            events.append(shop.refund(order, "40.00", at=START + timedelta(days=30)))
        shop.advance(days=20)
    return events


AS_OF = START + timedelta(days=400)  # tier windows close, lots expire


def present(engine: Engine) -> set[str]:
    """The declared secondary indexes the database has, seen from a connection of its own."""
    found = inspect(engine)
    return {str(index["name"]) for table in TABLES for index in found.get_indexes(table)
            } & DECLARED


def flagged(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(t.meta.c.value).where(
            t.meta.c.key == indexes.AWAY)).first() is not None


def reference(**options: str) -> dict[str, list[tuple[object, ...]]]:
    with open_ledger(":memory:", SUITE_PROGRAM) as one:
        one.ingest(history())
        one.run(AS_OF)
        return snapshot(one.engine, **options)


class Interrupted(Exception):
    pass


def test_a_replay_in_many_pages_builds_the_indexes_again_at_its_end(tmp_path: Path) -> None:
    seen: list[tuple[set[str], bool]] = []
    with open_ledger(tmp_path / "ledger.db", SUITE_PROGRAM) as ledger:
        assert present(ledger.engine) == DECLARED
        ledger.ingest(history())
        ledger.run(AS_OF, page_size=3, progress=lambda _: seen.append(
            (present(ledger.engine), flagged(ledger.engine))))
        assert seen[0] == (set(), True)  # away from the first page on
        assert present(ledger.engine) == DECLARED
        assert not flagged(ledger.engine)
        assert_same_ledger(snapshot(ledger.engine), reference())


def test_a_replay_in_one_page_leaves_the_indexes_alone(tmp_path: Path) -> None:
    seen: list[set[str]] = []
    with open_ledger(tmp_path / "ledger.db", SUITE_PROGRAM) as ledger:
        ledger.ingest(history())
        ledger.run(AS_OF, progress=lambda _: seen.append(present(ledger.engine)))
        assert seen == [DECLARED]


def test_a_run_on_a_used_ledger_leaves_the_indexes_alone(tmp_path: Path) -> None:
    events = history()
    seen: list[set[str]] = []
    with open_ledger(tmp_path / "ledger.db", SUITE_PROGRAM) as ledger:
        ledger.ingest(events[:4])
        ledger.run(events[3].occurred_at)
        ledger.ingest(events[4:])
        ledger.run(AS_OF, page_size=3, progress=lambda _: seen.append(present(ledger.engine)))
        assert seen and all(s == DECLARED for s in seen)


def test_the_run_after_a_cut_off_replay_builds_the_indexes_before_it_reads(
        tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with open_ledger(path, SUITE_PROGRAM) as ledger:
        ledger.ingest(history())

        def cut_off(_: int) -> None:
            raise Interrupted

        with pytest.raises(Interrupted):
            ledger.run(AS_OF, page_size=3, progress=cut_off)
    with open_ledger(path) as cut:  # another process, as after a crash
        assert present(cut.engine) == set()
        assert flagged(cut.engine)
        seen: list[set[str]] = []
        cut.run(AS_OF, page_size=3, progress=lambda _: seen.append(present(cut.engine)))
        assert seen and all(s == DECLARED for s in seen)
        assert not flagged(cut.engine)
        assert_same_ledger(snapshot(cut.engine), reference())


def test_a_replay_finishes_when_another_worker_restores_the_indexes_midway(
        tmp_path: Path) -> None:
    """A second worker runs the clock mid-replay: it restores the indexes first, and the
    ledger ends as one worker's would."""
    path = tmp_path / "ledger.db"
    with open_ledger(path, SUITE_PROGRAM) as ledger, open_ledger(path) as other:
        ledger.ingest(history())
        pages = 0

        def meanwhile(_: int) -> None:
            nonlocal pages
            pages += 1
            if pages == 1:
                other.run(AS_OF)
                assert present(ledger.engine) == DECLARED

        ledger.run(AS_OF, page_size=3, progress=meanwhile)
        assert present(ledger.engine) == DECLARED
        assert not flagged(ledger.engine)
        assert_same_ledger(snapshot(ledger.engine, profiles="latest"),
                           reference(profiles="latest"))


def test_postgresql_never_sets_indexes_aside(pg_server: PgServer) -> None:
    url = pg_server.new_schema()
    try:
        with open_ledger(url, SUITE_PROGRAM) as ledger:
            seen: list[bool] = []
            ledger.ingest(history())
            ledger.run(AS_OF, page_size=3,
                       progress=lambda _: seen.append(flagged(ledger.engine)))
            assert seen and not any(seen)
            assert present(ledger.engine) == DECLARED
    finally:
        pg_server.drop_schema(url)
