"""The Ledger: the one object a shop backend holds.

It owns the database (SQLite file or any SQLAlchemy URL), the installed program versions,
and the three ways in: ``ingest`` events (idempotent, with a sync cursor in the same
transaction), ``run`` the clock forward, and ``redeem`` points. Queries live in
:mod:`loyaltykit.ledger.queries`.

Many processes may share one PostgreSQL ledger (docs/deployment.md): ingestion is
concurrent (unique event keys), processing takes the runner's lock page by page, redemption
goes through processing, and pushers claim outbox commands so none is delivered twice.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_random

from loyaltykit.adapters.base import IngestResult, OutboxItem
from loyaltykit.clock import require_aware
from loyaltykit.engine.runner import RunResult, run
from loyaltykit.errors import ConfigurationError, NotFoundError, RejectedError
from loyaltykit.events import PRIORITY, Event, PointsRedeemed, to_payload, validate_event
from loyaltykit.ledger import migrations, queries
from loyaltykit.ledger import schema as t
from loyaltykit.ledger.bulk import json_text
from loyaltykit.ledger.checkpoints import Checkpointer
from loyaltykit.ledger.customer_versions import new_versions
from loyaltykit.ledger.known import KnownInLedger
from loyaltykit.ledger.outbox import CLAIM_LEASE, ClaimingOutbox, Outbox
from loyaltykit.ledger.store import Store, insert_ignore, upsert
from loyaltykit.rules.program import LifetimeWindow, Program
from loyaltykit.rules.versions import ProgramSet

INGEST_BATCH = 5_000
# deadlock_detected, serialization_failure: the transaction did nothing and can run again
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
T = TypeVar("T")


def engine_for(target: str | Path) -> Engine:
    """A SQLAlchemy engine for a SQLite path or a database URL, tuned for the ledger."""
    text = str(target)
    url = make_url(text) if "://" in text else make_url(f"sqlite:///{text}")
    # every event payload is read back from JSON: orjson parses it in a quarter of the time
    codec = {"json_serializer": json_text, "json_deserializer": orjson.loads}
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, **codec)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA busy_timeout=10000")
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **codec)


@retry(retry=retry_if_exception_type(sqlite3.OperationalError), reraise=True,
       stop=stop_after_delay(10), wait=wait_random(0.005, 0.05))
def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Switch a SQLite file to WAL, waiting out other connections doing the same.

    The mode is persistent, so only the first connection to a new file changes it; SQLite
    answers "database is locked" to the others at once, without its busy handler, when
    several open a new file together (workers starting on an empty ledger).
    """
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")


class Ledger:
    def __init__(self, engine: Engine, programs: Sequence[Program] = ()) -> None:
        self.engine = engine
        self.outbox = Outbox(engine)
        migrations.ensure_schema(engine)
        for program in programs:
            self.install(program)
        # started last: a refused program leaves no thread behind
        file = migrations.sqlite_file(engine)
        self._checkpointer = Checkpointer.attach(self, engine, file) if file else None
        self._programs: ProgramSet | None = None

    # ------------------------------------------------------------------ programs

    def install(self, program: Program) -> bool:
        """Register a program version; True if it was new.

        A version number is a promise: installing different content under a version that
        already exists is refused, so published rules cannot change silently. Workers
        starting together may install the same version at once: one inserts it, the others
        find it there (the primary key decides).
        """
        source = program.model_dump_json()
        digest = hashlib.sha256(source.encode()).hexdigest()
        try:
            return self._install(program, source, digest)
        except IntegrityError:
            return self._install(program, source, digest)

    def _install(self, program: Program, source: str, digest: str) -> bool:
        with self.engine.begin() as conn:
            existing = conn.execute(select(t.programs.c.digest).where(
                t.programs.c.program_id == program.id,
                t.programs.c.version == program.version)).scalar()
            if existing == digest:
                return False
            if existing is not None:
                raise ConfigurationError(
                    f"{program.label} is already installed with different content; "
                    "give the changed program a new version number and effective_from")
            other = conn.execute(select(t.programs.c.program_id).where(
                t.programs.c.program_id != program.id).limit(1)).scalar()
            if other is not None:
                raise ConfigurationError(
                    f"this ledger runs program {other!r}, not {program.id!r}")
            conn.execute(t.programs.insert().values(
                program_id=program.id, version=program.version,
                effective_from=program.effective_from, source=source, digest=digest,
                installed_at=datetime.now(timezone.utc)))
        self._programs = None
        return True

    @property
    def programs(self) -> ProgramSet:
        if self._programs is None:
            with self.engine.connect() as conn:
                rows = conn.execute(select(t.programs.c.source)).scalars().all()
            if not rows:
                raise ConfigurationError(
                    "no program installed in this ledger: pass --program FILE or "
                    "Ledger.install(program)")
            self._programs = ProgramSet([Program.model_validate_json(s) for s in rows])
        return self._programs

    # ------------------------------------------------------------------ events in

    def ingest(self, events: Iterable[Event], *, cursor: tuple[str, str] | None = None,
               sources: Sequence[str | None] | None = None,
               progress: Callable[[int], None] | None = None) -> IngestResult:
        """Store events, deduplicated by key; the cursor commits in the same transaction.

        A customer's content delivered again at another instant is a new version (see
        :mod:`loyaltykit.ledger.customer_versions`).

        ``sources`` gives each event's provenance (file, hash, line) in the same order.
        """
        pairs = (zip(events, sources, strict=True) if sources is not None
                 else ((e, None) for e in events))
        return self.ingest_sourced(pairs, cursor=cursor, progress=progress)

    def ingest_sourced(
        self, pairs: Iterable[tuple[Event, str | None]], *,
        cursor: tuple[str, str] | None = None, progress: Callable[[int], None] | None = None,
    ) -> IngestResult:
        """Like :meth:`ingest`, for a stream of (event, provenance) pairs of any length.

        Several workers may ingest the same events at once (a webhook and a sync): the
        unique event key keeps one. On PostgreSQL two such transactions can deadlock; an
        ingest that fits one statement (a webhook, a sync page) is then simply retried, a
        longer stream fails as a whole (nothing kept, cursor unmoved) for its caller to rerun.
        """
        now = datetime.now(timezone.utc)
        rows = (_inbox_row(ev, source, now) for ev, source in pairs)
        first = list(islice(rows, INGEST_BATCH))
        more = list(islice(rows, 1))
        if not more:
            new, seen = _retrying(lambda: self._store_events([first], cursor, now, None))
            if progress is not None and first:
                progress(len(first))
        else:
            new, seen = self._store_events(_batched(rows, first, more), cursor, now, progress)
        return IngestResult(new=new, duplicate=seen - new)

    def _store_events(self, batches: Iterable[list[dict[str, Any]]],
                      cursor: tuple[str, str] | None, now: datetime,
                      progress: Callable[[int], None] | None) -> tuple[int, int]:
        new = seen = 0
        with self.engine.begin() as conn:
            for batch in batches:
                new += _insert_events(conn, new_versions(conn, batch))
                seen += len(batch)
                if progress is not None and batch:
                    progress(len(batch))
            if cursor is not None:
                upsert(conn, t.cursors, [{"name": cursor[0], "value": cursor[1],
                                          "updated_at": now}], ["name"])
        return new, seen

    def known(self) -> KnownInLedger:
        """What the ledger already holds, for checking references in new input files."""
        return KnownInLedger(self.engine, self.programs.first.currency)

    def cursor(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(t.cursors.c.value).where(t.cursors.c.name == name)).scalar()

    # ------------------------------------------------------------------ the clock

    def run(self, as_of: datetime, *, progress: Callable[[int], None] | None = None,
            page_size: int = 20_000) -> RunResult:
        """Process every pending event and due timer up to ``as_of``.

        Each page of ``page_size`` events commits on its own. Workers running at the same
        time take turns page by page (see :mod:`loyaltykit.engine.runner`): run the clock
        from as many processes as you like. A replay into an empty SQLite file commits each
        page on a second thread while it computes the next (:mod:`loyaltykit.engine.pipeline`).
        """
        require_aware(as_of, "run(as_of)")
        programs = self.programs
        expires = any(p.tiers is not None and not isinstance(p.tiers.window, LifetimeWindow)
                      for p in programs)
        return run(self.engine, Store(self.engine, window_expires=expires), programs, as_of,
                   progress=progress, page_size=page_size)

    def processed_until(self) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(t.meta.c.value).where(
                t.meta.c.key == "processed_until")).scalar()
        return datetime.fromisoformat(value) if value else None

    def redeem(self, customer_id: str, reward_id: str, *, at: datetime,
               redemption_id: str) -> queries.EntryView:
        """Spend points on a reward now: a debit plus a discount command in the outbox.

        Idempotent by ``redemption_id``: repeating the call returns the same entry.
        """
        ev = PointsRedeemed(redemption_id, customer_id, at, reward_id)
        self.ingest([ev])
        self.run(at)
        with self.engine.connect() as conn:
            status, note = conn.execute(select(t.inbox.c.status, t.inbox.c.note).where(
                t.inbox.c.event_key == ev.key)).one()
        if status == "rejected":
            raise RejectedError(note or "redemption rejected")
        if status == "pending":
            raise RejectedError(f"redemption at {at.isoformat()} is later than the clock; "
                                "run the ledger to that instant first")
        for entry in queries.history(self.engine, customer_id):
            if entry.entry_key == ev.key:
                return entry
        raise NotFoundError(f"redemption {redemption_id} left no entry")

    # ------------------------------------------------------------------ queries

    def customer(self, customer_id: str, *, as_of: datetime | None = None) -> queries.CustomerView:
        return queries.customer_view(self.engine, self.programs, customer_id,
                                     as_of or self._clock_or_now())

    def report(self, *, as_of: datetime | None = None) -> queries.Report:
        return queries.report(self.engine, self.programs, as_of or self._clock_or_now())

    def export_customers(self, *, as_of: datetime) -> list[queries.CustomerRow]:
        until = self.processed_until()
        if until is None or as_of > until:
            raise RejectedError(
                f"the ledger is processed until {until.isoformat() if until else 'never'}; "
                f"run it to {as_of.isoformat()} first (loyaltykit run --as-of ...)")
        return queries.export_customers(self.engine, self.programs, as_of)

    def _clock_or_now(self) -> datetime:
        return self.processed_until() or datetime.now(timezone.utc)

    # ------------------------------------------------------------------ outbox

    def pending_commands(self, *, limit: int = 100,
                         kinds: Sequence[str] | None = None) -> list[OutboxItem]:
        """Commands not yet delivered, oldest first (see :class:`Outbox`)."""
        return self.outbox.pending_commands(limit=limit, kinds=kinds)

    def claim_commands(self, owner: str, *, limit: int = 100,
                       kinds: Sequence[str] | None = None,
                       lease: timedelta = CLAIM_LEASE) -> list[OutboxItem]:
        """Claim pending commands for one pusher among several (see :class:`Outbox`)."""
        return self.outbox.claim_commands(owner, limit=limit, kinds=kinds, lease=lease)

    def outbox_for(self, owner: str, *, lease: timedelta = CLAIM_LEASE) -> ClaimingOutbox:
        """This ledger's outbox as one pusher among several sees it (an OutboxSource)."""
        return ClaimingOutbox(self.outbox, owner, lease)

    def mark_sent(self, item_id: int, *, detail: str = "") -> None:
        self.outbox.mark_sent(item_id, detail=detail)

    def mark_failed(self, item_id: int, error: str, *, retriable: bool) -> None:
        self.outbox.mark_failed(item_id, error, retriable=retriable)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _inbox_row(ev: Event, source: str | None, now: datetime) -> dict[str, Any]:
    validate_event(ev)
    return {
        "event_key": ev.key, "kind": ev.kind, "occurred_at": ev.occurred_at,
        "priority": PRIORITY[ev.kind],
        "customer_id": getattr(ev, "customer_id", None) or getattr(ev, "referee_id", None),
        "order_id": getattr(ev, "order_id", None),
        "payload": to_payload(ev), "status": "pending", "source": source, "received_at": now}


def _batched(rows: Iterator[dict[str, Any]], first: list[dict[str, Any]],
             more: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    yield first
    batch = more
    for row in rows:
        batch.append(row)
        if len(batch) >= INGEST_BATCH:
            yield batch
            batch = []
    yield batch


def _insert_events(conn: Connection, batch: list[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING; returns how many events were new.

    On PostgreSQL the rows go in key order, so two workers inserting overlapping batches
    wait for each other in the same order instead of deadlocking (SQLite has one writer,
    and keeps delivery order); new rows are counted with RETURNING, as the driver reports
    no row count for a many-row statement.
    """
    if conn.dialect.name != "postgresql" or not batch:
        return insert_ignore(conn, t.inbox, batch)
    batch = sorted(batch, key=lambda row: str(row["event_key"]))
    stmt = postgresql.insert(t.inbox).on_conflict_do_nothing().returning(t.inbox.c.seq)
    return len(conn.execute(stmt, batch).all())


def _retrying(work: Callable[[], T], *, attempts: int = 6) -> T:
    """Run a transaction again when the database gave it up to break a deadlock or a
    serialization conflict; such a transaction changed nothing."""
    for attempt in range(attempts):
        try:
            return work()
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in RETRY_SQLSTATES or \
                    attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0, 0.05 * 2 ** attempt))
    raise AssertionError("unreachable")


def open_ledger(target: str | Path, program: Program | Sequence[Program] | None = None) -> Ledger:
    """Open (creating if needed) a ledger at a SQLite path or SQLAlchemy URL."""
    programs: Sequence[Program] = (
        () if program is None else (program,) if isinstance(program, Program) else program)
    engine = engine_for(target)
    try:
        return Ledger(engine, programs)
    except BaseException:  # a refused schema or program: leave no connection behind
        engine.dispose()
        raise


__all__ = ["Ledger", "RunResult", "open_ledger"]
