"""A run: process every pending event and due timer up to ``as_of``, in time order.

Events are read in pages ordered by (occurred_at, priority, key); timers that fall due
before an event fire first (and before events at the same instant). Each page is saved in
one transaction, so the same inputs give the same ledger whether they are processed in one
run or in many runs with the clock advancing in between.

Several processes may run at once. The ``generation`` row of ``lk_meta`` counts the pages
saved and is the processing lock: a page is saved only by a transaction that holds it (an
UPDATE of the row: a row lock on PostgreSQL, the write lock on SQLite) and finds the
generation it computed the page from. A worker that sees the generation moved knows
another one wrote, and reloads its state (world and timers) as a new run would. Pages from
all workers thus form one sequence, each page boundary at worst a run boundary, and
incremental runs equal one batch.

- PostgreSQL: the lock is taken first and the page read and processed inside it, so
  concurrent workers queue for pages instead of computing them twice; ingestion, queries
  and pushers never wait for it.
- SQLite (one writer for the whole file): the page is read and processed without the lock,
  which is taken only to save, so other processes can still write between pages; a page
  computed from a generation that moved meanwhile is dropped and done again. A replay into
  an empty file saves its pages on a second thread while it computes the next
  (:mod:`loyaltykit.engine.pipeline`), under the same lock and check.

The customers a run touches are recorded with each page (``lk_profiles_due``); the run's
last transaction publishes one profile command for each of them, including those left by a
run that was killed or by a worker still going, so no profile update is lost with a crash.
It also publishes the customers whose lifecycle segment changed with time alone since the
previous run (an index on the last paid order finds them), so a shop's "at_risk" tag is
pushed when the customer turns at risk, not at their next order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, select

from loyaltykit.clock import utc_key
from loyaltykit.commands import UpdateCustomerProfile
from loyaltykit.engine import pages
from loyaltykit.engine.changes import Changes
from loyaltykit.engine.collector import held_back_collector
from loyaltykit.engine.pipeline import PageJob, can_pipeline, replay_rest
from loyaltykit.engine.postings import TIMER_EXPIRE, Timers
from loyaltykit.engine.processor import Processor, Rejected
from loyaltykit.engine.world import World
from loyaltykit.events import from_payload
from loyaltykit.ledger import bulk, indexes
from loyaltykit.ledger import schema as t
from loyaltykit.ledger.store import Store, page_writes, profiles_due_write, upsert
from loyaltykit.rules.segments import segment_of, thresholds
from loyaltykit.rules.versions import ProgramSet

# Built once: every run issues these (see also loyaltykit.engine.pages).
_META = select(t.meta.c.value).where(t.meta.c.key == bindparam("key"))
_ANY_CUSTOMER = select(t.customers.c.customer_id).limit(1)
PROFILES_AT_ONCE = 5_000


@dataclass(frozen=True, slots=True)
class RunResult:
    as_of: datetime
    events: int
    rejected: int
    entries: int
    timers: int


class Working:
    """The in-memory side of a run: world, timers and processor, valid for one generation."""

    def __init__(self, store: Store, programs: ProgramSet, as_of: datetime) -> None:
        self.store = store
        self.programs = programs
        self.as_of = as_of
        self.changes = Changes()
        self.generation: int | None = None
        self.world = World(None)
        self.timers = Timers()
        self.processor = Processor(programs, self.world, self.changes, self.timers)
        self.counts = dict.fromkeys(("events", "rejected", "entries", "timers"), 0)
        self.page = dict.fromkeys(self.counts, 0)  # counted when the page is saved
        self.owed: set[str] = set()  # customers this run has recorded in lk_profiles_due
        self.complete = False  # the world holds everything: a replay into an empty ledger
        self.indexes_away = False  # this run set the secondary indexes aside
        self.after: dict[str, Any] = {}  # the order key of the last event read
        self.due_owners: set[str] = set()  # stored timers' customers, read with the page's
        self.expiring: list[str] = []  # and the lots their expiries name

    def sync(self, conn: Connection, generation: int) -> None:
        """Start over from the database if anyone wrote since this worker's last page."""
        if generation == self.generation:
            return
        fresh = generation == 0 and _is_fresh(conn)  # a saved page means a used ledger
        self.complete = fresh
        self.world = World(self.store, complete=fresh)
        self.timers = Timers()
        self.due_owners, self.expiring = set(), []
        if not fresh:
            for due, kind, ref in self.store.due_timers(self.as_of):
                self.timers.push(due, kind, ref)
                owner, _, lot_key = ref.partition("\x00")  # the customer it is about
                self.due_owners.add(owner)
                if kind == TIMER_EXPIRE:
                    self.expiring.append(lot_key)
        self.processor = Processor(self.programs, self.world, self.changes, self.timers)
        self.generation = generation
        self.owed = set()  # another worker's last transaction may have published them

    def forget(self) -> None:
        """Drop a page computed from a generation that moved: reload before redoing it."""
        self.changes.clear()
        self.page = dict.fromkeys(self.counts, 0)
        self.generation = None

    def fire_until(self, limit: datetime) -> None:
        for timer in self.timers.due_by(limit):
            self.processor.fire(*timer)
            self.page["timers"] += 1

    def apply(self, rows: Sequence[Any]) -> None:
        if rows:
            self.after = pages.order_key(rows[-1])
        # the timers' customers with the page's: a few queries, not a few per timer
        self.world.prefetch(chain(self.due_owners, (r.customer_id for r in rows
                                                    if r.customer_id)),
                            [r.order_id for r in rows if r.order_id])
        self.world.prefetch_expiring(self.expiring)  # (once their customers are read)
        self.due_owners, self.expiring = set(), []
        for row in rows:
            event = from_payload(row.kind, orjson.loads(row.payload))
            self.fire_until(event.occurred_at)
            try:
                self.processor.apply(event)
                self.changes.event_done(row.seq)
            except Rejected as why:
                self.changes.event_done(row.seq, "rejected", str(why))
                self.page["rejected"] += 1
            self.page["events"] += 1

    def finish(self, conn: Connection) -> None:
        """The run's last step: timers up to ``as_of``, owed profiles, the watermark."""
        if self.indexes_away:
            indexes.restore(conn)
            self.indexes_away = False
        self.fire_until(self.as_of)
        # (the database gives instants back in UTC; this run's keep the caller's offset)
        recorded = self.store.profiles_due(conn)
        owed = {c: self.as_of if at == self.as_of else at for c, at in recorded.items()}
        owed.update(dict.fromkeys(self.changes.customers, self.as_of))
        previous = _watermark(conn)
        if previous is not None and previous < self.as_of:
            ages = [age for at in (previous, self.as_of)
                    for age in thresholds(self.programs.current_or_first(at).segments)]
            owed.update(dict.fromkeys(
                self.store.segment_crossings(conn, previous, self.as_of, ages), self.as_of))
        self.world.prefetch(owed, ())
        _publish_profiles(conn, self.changes, self.world, self.programs, owed)
        if previous is None or previous < self.as_of:
            upsert(conn, t.meta, [{"key": "processed_until", "value": self.as_of.isoformat()}],
                   ["key"])
        if recorded:
            self.store.clear_profiles_due(conn)

    def save(self, conn: Connection, *, last: bool) -> None:
        """Write the page; the caller's transaction holds the lock at ``self.generation``."""
        self.add(self.take_counts())
        if _dirty(self.changes):
            if (self.complete and self.generation == 0 and not last
                    and conn.dialect.name == "sqlite"):  # the first of many pages
                indexes.set_aside(conn)
                self.indexes_away = True
            for w in self._writes(conn.dialect.name, last=last):
                bulk.write(conn, w)
            self.world.evict_settled(self.changes.orders)
            assert self.generation is not None
            self.generation += 1
            pages.set_generation(conn, self.generation)
        self.changes.clear()

    def hand_over(self) -> PageJob:
        """The page (not the last) for the page writer: its statements built now, from the
        state as it is, while the engine goes on with the next page."""
        assert self.generation is not None
        job = PageJob(self.generation, [statement for w in self._writes("sqlite", last=False)
                                        for statement in bulk.json_statements(w)],
                      self.take_counts(), set(self.changes.orders))
        self.generation += 1
        self.changes.clear()
        return job

    def _writes(self, dialect: str, *, last: bool) -> Iterator[bulk.Write]:
        yield from page_writes(self.changes, self.world, dialect)
        new = self.changes.customers - self.owed
        if new and not last:
            yield profiles_due_write(new, self.as_of)
            self.owed |= new

    def take_counts(self) -> dict[str, int]:
        self.page["entries"] += len(self.changes.entries)
        page, self.page = self.page, dict.fromkeys(self.counts, 0)
        return page

    def add(self, counts: dict[str, int]) -> None:
        for name, value in counts.items():
            self.counts[name] += value


Page = Callable[[Engine, Store, Working, int], int]


def run(engine: Engine, store: Store, programs: ProgramSet, as_of: datetime, *,
        page_size: int = 20_000, progress: Callable[[int], None] | None = None,
        pipeline: bool = True) -> RunResult:
    """Process every pending event and due timer up to ``as_of``; ``pipeline=False`` keeps
    a replay into an empty SQLite file on one thread (see :mod:`.pipeline`)."""
    page: Page = _locked_page if engine.dialect.name == "postgresql" else _checked_page
    report = progress or (lambda count: None)
    pipeline = pipeline and can_pipeline(engine)
    with held_back_collector() as pause:
        work = Working(store, programs, as_of)
        while True:
            count = page(engine, store, work, page_size)
            if count:
                report(count)
            if count < page_size:  # the last page: finished in its transaction
                break
            pause()  # a long run: see loyaltykit.engine.collector
            if pipeline and work.complete and replay_rest(engine, store, work, page_size,
                                                          report):
                break
        counts = work.counts
        del work  # the run's state goes before the collector resumes, which would walk it
    return RunResult(as_of, counts["events"], counts["rejected"], counts["entries"],
                     counts["timers"])


def _locked_page(engine: Engine, store: Store, work: Working, size: int) -> int:
    """Take the lock, then read, process and save the next page inside it."""
    with engine.begin() as conn, store.bound(conn):
        work.sync(conn, pages.lock(conn))
        rows = pages.pending_page(conn, work.as_of, size)
        work.apply(rows)
        if len(rows) < size:
            work.finish(conn)
        work.save(conn, last=len(rows) < size)
    return len(rows)


def _checked_page(engine: Engine, store: Store, work: Working, size: int) -> int:
    """Read and process the next page without the lock, then save it under the lock if
    nobody saved a page meanwhile; otherwise do it again from the new state."""
    while True:
        with engine.connect() as conn, store.bound(conn):
            generation, away = pages.generation(conn)
            if away and not work.indexes_away:  # set aside by a replay that was cut off
                conn.rollback()
                with conn.begin():
                    pages.lock(conn)
                    indexes.restore(conn)
                continue
            work.sync(conn, generation)
            rows = pages.pending_page(conn, work.as_of, size)
            work.apply(rows)
            conn.rollback()  # reads only; one connection for both halves saves a checkout
            with conn.begin():
                if pages.lock(conn) != work.generation:
                    work.forget()
                    continue
                if len(rows) < size:
                    work.finish(conn)
                work.save(conn, last=len(rows) < size)
        return len(rows)


def _dirty(changes: Changes) -> bool:
    return bool(changes.entries or changes.tier_changes or changes.outbox or changes.new_lots
                or changes.changed_lots or changes.customers or changes.orders
                or changes.referrals or changes.events)


def _is_fresh(conn: Connection) -> bool:
    return conn.execute(_ANY_CUSTOMER).first() is None


def _publish_profiles(conn: Connection, changes: Changes, world: World, programs: ProgramSet,
                      owed: dict[str, datetime]) -> None:
    """One profile command per customer touched, with the state at the touching run's as_of.

    Written to the outbox a few thousand at a time, with the page's commands before them
    (their order in the outbox is unchanged): a replay owes every customer one, and holding
    a million-order shop's 100,000 commands and their rows at once was the replay's peak
    memory.
    """
    for customer_id in sorted(owed):
        cs = world.customers.get(customer_id)
        if cs is None:
            continue
        as_of = owed[customer_id]
        program = programs.current_or_first(as_of)
        tier, segment = cs.tier or "", segment_of(cs.last_paid_at, as_of, program.segments)
        # the content is in the key: a second run to the same instant that changed the
        # balance queues a new profile, and an unchanged one is still a duplicate
        key = f"profile:{customer_id}:{utc_key(as_of)}:{cs.balance}:{tier}:{segment}"
        changes.command(UpdateCustomerProfile(
            key=key, customer_id=customer_id, points_balance=cs.balance, tier=tier,
            segment=segment, as_of=as_of), as_of)
        if len(changes.outbox) >= PROFILES_AT_ONCE:
            bulk.write(conn, bulk.Write("ignore", t.outbox, changes.outbox))
            changes.outbox.clear()


def _watermark(conn: Connection) -> datetime | None:
    current = conn.execute(_META, {"key": "processed_until"}).scalar()
    return None if current is None else datetime.fromisoformat(current)
