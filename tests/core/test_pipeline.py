"""A replay into an empty SQLite file commits its pages on a writer thread while the engine
computes the next one (see loyaltykit.engine.pipeline): it must write, byte for byte, the
ledger one thread writes, and keep the page protocol when another worker or an error
interrupts it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from loyaltykit.canonical import read_shop_files
from loyaltykit.engine import pipeline as pages_thread
from loyaltykit.engine import runner
from loyaltykit.engine.pipeline import Moved, PageJob
from loyaltykit.events import Event
from loyaltykit.ledger import Ledger, bulk, open_ledger
from loyaltykit.ledger import schema as t
from loyaltykit.rules.loader import load_program
from loyaltykit.rules.program import Program
from loyaltykit.testing import EventBuilder
from loyaltykit.testing.conformance import START, SUITE_PROGRAM
from postgres.ledger_state import assert_same_ledger, snapshot

SAMPLES = Path(__file__).parents[2] / "src" / "loyaltykit" / "samples"

# columns that say when a row was written, not what it holds
WRITTEN_AT = {t.inbox.name: {"received_at"}, t.programs.name: {"installed_at"}}


def stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table as SQLite stores it: the text of instants and JSON, row ids included."""
    out = {}
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            columns = [c.name for c in table.columns
                       if c.name not in WRITTEN_AT.get(table.name, ())]
            out[table.name] = conn.exec_driver_sql(
                f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY 1, 2").all()
    return out


def bundled_shop() -> tuple[Program, list[Event]]:
    """The demo's program and two-year history (300 customers, 3,000 orders)."""
    program = load_program(SAMPLES / "program.yaml")
    files = read_shop_files(SAMPLES / "shop", currency=program.currency)
    return program, [s.event for s in files.events()]


def windows_and_late_refunds() -> tuple[Program, list[Event]]:
    """Gold customers' orders that leave the tier window all at once (the world lets them
    go once saved) and are refunded right after, three events a page: the refunds in the
    next page read their orders back from the database, which must hold them by then."""
    shop = EventBuilder(currency="CNY", start=START)
    events: list[Event] = []
    early = []
    for n in range(6):
        events.append(shop.customer(f"early{n}"))
        events.append(order := shop.order(f"early{n}", "600.00"))  # gold
        early.append(order)
        shop.advance(days=1)
    shop.advance(days=366)
    for order in early:
        events.append(shop.refund(order, "100.00"))
        shop.advance(hours=1)
    for n in range(12):
        events.append(shop.customer(f"late{n}"))
        events.append(shop.order(f"late{n}", "50.00"))
        shop.advance(hours=1)
    return SUITE_PROGRAM, events


AS_OF = START + timedelta(days=800)  # past the bundled history's end too


def replay(ledger: Ledger, *, pipeline: bool, page_size: int,
           progress: Callable[[int], None] | None = None) -> None:
    """Ledger.run, with or without the pipeline."""
    runner.run(ledger.engine, runner.Store(ledger.engine, window_expires=True),
               ledger.programs, AS_OF, page_size=page_size, pipeline=pipeline,
               progress=progress)


def replayed(path: Path, program: Program, events: list[Event], *, pipeline: bool,
             page_size: int) -> dict[str, list[tuple[Any, ...]]]:
    with open_ledger(path, program) as ledger:
        ledger.ingest(events)
        replay(ledger, pipeline=pipeline, page_size=page_size)
        return stored(ledger.engine)


@pytest.fixture
def writer_commits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that committed pipelined pages ("moved" for a page found
    computed from a generation another worker moved). Each commit starts late, so that the
    engine reads the next page before the previous one has committed, as at scale."""
    threads: list[str] = []
    commit = pages_thread._commit_page

    def spy(conn: Connection, job: PageJob) -> None:
        time.sleep(0.02)
        try:
            commit(conn, job)
        except Moved:
            threads.append("moved")
            raise
        threads.append(threading.current_thread().name)

    monkeypatch.setattr(pages_thread, "_commit_page", spy)
    return threads


@pytest.mark.parametrize("history", [windows_and_late_refunds, bundled_shop])
def test_a_pipelined_replay_stores_what_one_thread_stores(
        tmp_path: Path, writer_commits: list[str],
        history: Callable[[], tuple[Program, list[Event]]]) -> None:
    program, events = history()
    size = 3 if len(events) < 100 else 500
    expected = replayed(tmp_path / "one.db", program, events, pipeline=False, page_size=size)
    assert writer_commits == []
    actual = replayed(tmp_path / "two.db", program, events, pipeline=True, page_size=size)
    pages = -(-len(events) // size)
    # the first page and the last are saved on the engine's thread, the others are not
    assert len(writer_commits) >= pages - 2 > 0
    assert all(name.startswith("loyaltykit-pages") for name in writer_commits)
    for table, rows in expected.items():
        assert actual[table] == rows, table


def test_another_worker_writing_mid_pipeline_sends_the_replay_back_page_by_page(
        tmp_path: Path, writer_commits: list[str]) -> None:
    _, events = windows_and_late_refunds()
    midway = events[len(events) // 2].occurred_at
    path = tmp_path / "ledger.db"
    with open_ledger(tmp_path / "reference.db", SUITE_PROGRAM) as reference:
        reference.ingest(events)
        reference.run(midway)  # the other worker's run, in the middle of the replay
        reference.run(AS_OF)
        expected = snapshot(reference.engine, profiles="latest")
    with open_ledger(path, SUITE_PROGRAM) as other:
        other.ingest(events)
        reports: list[int] = []

        def meanwhile(count: int) -> None:
            reports.append(count)
            if len(reports) == 3:  # pipelining by now: the writer has committed a page
                assert writer_commits
                other.run(midway)

        with open_ledger(path) as ledger:
            replay(ledger, pipeline=True, page_size=3, progress=meanwhile)
            assert_same_ledger(snapshot(ledger.engine, profiles="latest"), expected)
    assert writer_commits[-1] == "moved"  # and the pages after it saved on this thread


def test_an_error_on_the_writer_thread_stops_the_run_and_keeps_the_pages_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, events = windows_and_late_refunds()
    commit, pages = pages_thread._commit_page, []

    def failing(conn: Connection, job: PageJob) -> None:
        pages.append(job.generation)
        if len(pages) == 3:
            raise OSError("disk full")
        commit(conn, job)

    monkeypatch.setattr(pages_thread, "_commit_page", failing)
    path = tmp_path / "ledger.db"
    with open_ledger(path, SUITE_PROGRAM) as ledger, pytest.raises(OSError, match="disk full"):
        ledger.ingest(events)
        replay(ledger, pipeline=True, page_size=3)
    monkeypatch.setattr(pages_thread, "_commit_page", commit)
    with open_ledger(path) as ledger:
        with ledger.engine.connect() as conn:
            generation = conn.exec_driver_sql(
                "SELECT value FROM lk_meta WHERE key = 'generation'").scalar()
            done = conn.exec_driver_sql(
                "SELECT count(*) FROM lk_inbox WHERE status != 'pending'").scalar()
        assert generation == "3" and done == 9  # the first page and two pipelined ones
        ledger.run(AS_OF, page_size=3)
        with open_ledger(tmp_path / "one.db", SUITE_PROGRAM) as one:
            one.ingest(events)
            replay(one, pipeline=False, page_size=3)
            assert_same_ledger(snapshot(ledger.engine), snapshot(one.engine))


def test_profile_commands_written_in_batches_keep_their_order_in_the_outbox(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run owes every customer it touched a profile command; they go to the outbox a few
    thousand at a time, after the page's other commands, as if written at once."""
    program, events = bundled_shop()

    def outbox(path: Path) -> list[tuple[Any, ...]]:
        with open_ledger(path, program) as ledger:
            ledger.ingest(events)
            ledger.run(AS_OF)
            with ledger.engine.connect() as conn:
                return conn.exec_driver_sql(
                    "SELECT id, command_key, kind, payload FROM lk_outbox ORDER BY id").all()

    at_once = outbox(tmp_path / "one.db")
    write, writes = bulk.write, []

    def counted(conn: Connection, w: bulk.Write) -> None:
        if w.table is t.outbox:
            writes.append(len(w.rows))
        write(conn, w)

    monkeypatch.setattr(runner, "PROFILES_AT_ONCE", 7)
    monkeypatch.setattr(bulk, "write", counted)
    in_batches = outbox(tmp_path / "two.db")
    profiles = [row for row in at_once if row.kind == "update_customer_profile"]
    assert len(profiles) > 7 * 10 and at_once[-1].kind == "update_customer_profile"
    assert any(row.kind != "update_customer_profile" for row in at_once)
    assert writes.count(7) >= len(profiles) // 7 - 1  # written a batch at a time
    assert in_batches == at_once


def test_an_older_sqlite_or_an_in_memory_ledger_replays_on_one_thread(
        tmp_path: Path, writer_commits: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The JSON operators came with SQLite 3.38, and a second connection to ":memory:" is
    another database: such replays save every page on the engine's thread."""
    program, events = windows_and_late_refunds()
    expected = replayed(tmp_path / "one.db", program, events, pipeline=False, page_size=3)
    with open_ledger(tmp_path / "old.db", program) as old:
        monkeypatch.setattr(old.engine.dialect, "server_version_info", (3, 37, 2))
        old.ingest(events)
        replay(old, pipeline=True, page_size=3)
        assert stored(old.engine) == expected
    with open_ledger(":memory:", program) as memory:
        memory.ingest(events)
        replay(memory, pipeline=True, page_size=3)
        assert_same_ledger(snapshot(memory.engine), snapshot_of(tmp_path / "one.db"))
    assert writer_commits == []


def snapshot_of(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with open_ledger(path) as ledger:
        return snapshot(ledger.engine)
