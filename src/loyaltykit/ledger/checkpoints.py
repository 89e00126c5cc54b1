"""WAL checkpoints for a SQLite ledger, off the commit path.

SQLite copies its write-ahead log back into the database file (a checkpoint) inside the
commit that crosses 1,000 pages, so about one commit in fifty of an incremental run paid
10-60 ms for everybody's writes. A ledger opened on a SQLite file turns that automatic
checkpoint off for its connections and runs passive checkpoints from a background thread
instead: they never wait for readers or writers, and the thread's SQLite work runs without
the GIL. The thread stops when the ledger is closed or collected; a process that never
opens a ledger (``engine_for`` alone) keeps SQLite's automatic checkpoints.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from pathlib import Path

from sqlalchemy import Engine, event

log = logging.getLogger("loyaltykit.ledger")

INTERVAL = 0.1  # seconds between passive checkpoints while the ledger is open


class Checkpointer:
    """Checkpoints the WAL of one SQLite file every ``interval`` seconds until stopped."""

    def __init__(self, path: Path, *, interval: float = INTERVAL) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_loop, args=(path, interval, self._stop), daemon=True,
            name=f"loyaltykit-checkpoint:{path.name}")

    @classmethod
    def attach(cls, owner: object, engine: Engine, path: Path) -> Checkpointer:
        """Take over checkpoints for ``engine``'s connections while ``owner`` lives."""

        @event.listens_for(engine, "connect")
        def _manual(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")

        engine.dispose()  # pooled connections were opened with the automatic checkpoint
        checkpointer = cls(path)
        weakref.finalize(owner, checkpointer._stop.set)
        checkpointer._thread.start()
        return checkpointer

    def stop(self) -> None:
        """Stop the thread after one last checkpoint."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def _loop(path: Path, interval: float, stop: threading.Event) -> None:
    try:  # mode=rw: never create the file again if it was removed meanwhile
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                               check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        log.debug("no checkpoints for %s: %s", path, exc)
        return
    try:
        while True:
            stopping = stop.wait(interval)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:  # e.g. the file was removed; try again later
                log.debug("checkpoint of %s failed: %s", path, exc)
            if stopping:
                return
    finally:
        conn.close()


__all__ = ["Checkpointer"]
