"""A SQLite ledger checkpoints its write-ahead log from a background thread, not in commits."""

import gc
import threading
import time
from pathlib import Path

from loyaltykit.ledger import open_ledger

from .builders import at, customer, paid, program


def checkpoint_threads(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"loyaltykit-checkpoint:{path.name}"]


def test_writes_reach_the_database_file_while_the_ledger_stays_open(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with open_ledger(path, program()) as ledger:
        with ledger.engine.connect() as conn:  # commits never checkpoint
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        empty = path.stat().st_size
        ledger.ingest([customer(f"c{n}", at(2025, 1, 1)) for n in range(2_000)] +
                      [paid(f"o{n}", f"c{n}", at(2025, 1, 2), "10.00") for n in range(2_000)])
        ledger.run(at(2025, 1, 3))
        deadline = time.monotonic() + 10
        while path.stat().st_size == empty and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size > empty  # the pages left the WAL with no commit's help
        assert ledger.customer("c1999").balance == 10


def test_the_thread_ends_when_the_ledger_is_closed_or_forgotten(tmp_path: Path) -> None:
    closed, forgotten = tmp_path / "closed.db", tmp_path / "forgotten.db"
    ledger = open_ledger(closed, program())
    assert len(checkpoint_threads(closed)) == 1
    ledger.close()
    assert checkpoint_threads(closed) == []
    ledger = open_ledger(forgotten, program())
    [thread] = checkpoint_threads(forgotten)
    del ledger
    gc.collect()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_an_in_memory_ledger_has_no_checkpoint_thread() -> None:
    before = {t.name for t in threading.enumerate()}
    with open_ledger("sqlite://", program()):
        started = {t.name for t in threading.enumerate()} - before
    assert not any(name.startswith("loyaltykit-checkpoint") for name in started)
