"""A replay's pages committed by a second thread while the engine computes the next one.

A replay into an empty ledger is one core's work page after page: compute, then save, and
saving was a third of it (SQLite's ``executemany`` and the Python that feeds it its rows).
The machine has a second core. So from its second page on, a replay into an empty SQLite
file hands each page to a writer thread as one statement per table over a JSON document of
the rows (:func:`loyaltykit.ledger.bulk.json_statements`): serializing the rows is one C
call (orjson), and SQLite runs each statement without holding the GIL, so the engine's
thread computes page n + 1 while page n commits.

What stays: each page is one transaction under the processing lock, checked against the
generation it was computed from (:mod:`loyaltykit.engine.runner`), and a generation that
moved means another worker wrote: the replay then goes on page by page from the database.
What differs: the next page is read before the previous one has committed, so it is read
after the previous page's last event in the processing order rather than by status; an
event ingested meanwhile with an earlier time waits for the next run, as it would had it
arrived after this one.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from loyaltykit.engine import pages
from loyaltykit.ledger.migrations import sqlite_file
from loyaltykit.ledger.store import Store

if TYPE_CHECKING:
    from loyaltykit.engine.runner import Working


@dataclass(frozen=True, slots=True)
class PageJob:
    generation: int  # the generation the page was computed from
    statements: list[tuple[str, bytes]]  # (SQL, its one parameter: rows as JSON); emptied
    # as they run, so that each document goes once written
    counts: dict[str, int]  # events, rejected, entries, timers
    orders: set[str]  # the orders it changed: the world may let them go once it is saved


class Moved(Exception):
    """Another worker saved a page since this one was computed."""


class PageWriter:
    """Commits one page at a time on its own thread and connection."""

    def __init__(self, engine: Engine, commit: Callable[[Connection, PageJob], None]) -> None:
        self._engine = engine
        self._commit = commit
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="loyaltykit-pages")
        self._in_flight: tuple[PageJob, Future[None]] | None = None

    def submit(self, job: PageJob) -> None:
        """Hand ``job`` over; :meth:`wait` for the page in flight first."""
        assert self._in_flight is None, "one page at a time"
        self._in_flight = job, self._pool.submit(self._run, job)

    def wait(self) -> PageJob | None:
        """The page in flight once committed (None if there is none); raises what its
        commit raised, :class:`Moved` if another worker wrote first."""
        if self._in_flight is None:
            return None
        (job, future), self._in_flight = self._in_flight, None
        future.result()
        return job

    def _run(self, job: PageJob) -> None:
        with self._engine.connect() as conn, conn.begin():
            self._commit(conn, job)

    def __enter__(self) -> PageWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._pool.shutdown(wait=True)  # a page in flight commits or rolls back first


def can_pipeline(engine: Engine) -> bool:
    """A SQLite file (a second connection sees it) whose SQLite has the JSON operators (the
    version the engine's driver connected to; the ledger has connected by now)."""
    version = engine.dialect.server_version_info or (0,)
    return sqlite_file(engine) is not None and tuple(version) >= (3, 38)


def replay_rest(engine: Engine, store: Store, work: Working, size: int,
                report: Callable[[int], None]) -> bool:
    """The pages after the first of a replay into an empty SQLite file, each committed by
    the writer thread while the next is computed; the last one on this thread, under the
    lock, as a run's last page is. False if another worker wrote meanwhile: the caller
    goes on page by page, from the database."""
    try:
        with PageWriter(engine, _commit_page) as writer:
            while True:
                with engine.connect() as conn:
                    rows = pages.pending_page(conn, work.as_of, size, work.after)
                work.apply(rows)
                # the page before has had this page's computing to commit: waiting for it
                # before building this one's documents keeps one page of them in memory
                _committed(work, writer.wait(), work.changes.orders, report)
                if len(rows) < size:
                    break
                writer.submit(work.hand_over())
    except Moved:
        work.forget()
        return False
    with engine.connect() as conn, store.bound(conn), conn.begin():
        if pages.lock(conn) != work.generation:
            work.forget()
            return False
        work.finish(conn)
        work.save(conn, last=True)
    if rows:
        report(len(rows))
    return True


def _commit_page(conn: Connection, job: PageJob) -> None:
    """The writer thread's transaction: a pipelined page, under the lock."""
    if pages.lock(conn) != job.generation:
        raise Moved
    statements = job.statements
    while statements:
        sql, document = statements.pop(0)  # and let its document go
        conn.exec_driver_sql(sql, (document,))
    pages.set_generation(conn, job.generation + 1)


def _committed(work: Working, job: PageJob | None, unsaved: set[str],
               report: Callable[[int], None]) -> None:
    """Count a page the writer committed; only now may the world let go of its settled
    orders (a later event reads an evicted order back), except those changed since."""
    if job is None:
        return
    work.add(job.counts)
    work.world.evict_settled(job.orders - unsaved)
    report(job.counts["events"])
