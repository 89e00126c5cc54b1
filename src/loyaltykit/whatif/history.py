"""The order history a what-if replays: read and normalized once, then shared by both programs.

Parsing dominates the cost of reading a large history, so a :class:`History` holds the
normalized events in the exact order the ledger's runner processes them (time, then
:data:`~loyaltykit.events.PRIORITY`, then key), deduplicated by key the way ingestion
deduplicates them. Both programs then replay the same list; nothing is parsed twice.

A ledger database is opened read-only: a simulation never writes to the live ledger.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.engine import make_url

from loyaltykit.canonical import read_shop_files
from loyaltykit.errors import InputError, InputProblem
from loyaltykit.events import PRIORITY, Event, from_payload, validate_event
from loyaltykit.ledger import schema as t
from loyaltykit.rules.program import Program

__all__ = ["History", "history_from_events", "history_from_files", "history_from_ledger"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)
_PAGE = 20_000


@dataclass(frozen=True, slots=True)
class History:
    """Normalized events in processing order, with where they came from.

    ``programs`` and ``processed_until`` are set when the history was read from a ledger:
    the versions installed there (the natural baseline) and how far its clock has run.
    """

    events: Sequence[Event]
    source: str
    duplicates: int = 0
    programs: tuple[Program, ...] = ()
    processed_until: datetime | None = None
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def first_at(self) -> datetime:
        return self.events[0].occurred_at

    @property
    def last_at(self) -> datetime:
        return self.events[-1].occurred_at

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source, "events": len(self.events), "duplicates": self.duplicates,
            "by_kind": dict(self.by_kind),
            "first_event": self.first_at.isoformat() if self.events else None,
            "last_event": self.last_at.isoformat() if self.events else None,
            "ledger_processed_until": (self.processed_until.isoformat()
                                       if self.processed_until else None),
        }


def _instant(at: datetime) -> int:
    """Microseconds since the epoch: an exact integer sort key, so sorting never calls
    ``utcoffset`` on a zone twice per comparison."""
    return (at - _EPOCH) // _MICRO


def history_from_events(events: Iterable[Event], *, source: str = "events",
                        validated: bool = False) -> History:
    """Any iterable of normalized events (an adapter's output, a test's list).

    Every invalid event is reported at once (naive time, negative money) unless the
    reader already ``validated`` them; the first delivery of a key wins, as in
    :meth:`loyaltykit.ledger.Ledger.ingest`.
    """
    unique: dict[str, Event] = {}
    problems: list[InputProblem] = []
    duplicates = 0
    for index, event in enumerate(events, start=1):
        if not validated:
            try:
                validate_event(event)
            except ValueError as exc:
                problems.append(InputProblem(source, index, event.kind, str(exc)))
                continue
        key = event.key
        if key in unique:
            duplicates += 1
        else:
            unique[key] = event
    if problems:
        raise InputError(problems)
    ordered = sorted(unique.items(),
                     key=lambda kv: (_instant(kv[1].occurred_at), PRIORITY[kv[1].kind], kv[0]))
    return _finish([event for _, event in ordered], source, duplicates)


def history_from_files(directory: str | Path, *, currency: str) -> History:
    """Canonical shop files (customers.csv, orders.csv, ...), validated completely first."""
    files = read_shop_files(Path(directory), currency=currency)
    return history_from_events((sourced.event for sourced in files.events()),
                               source=f"files {directory}", validated=True)


def history_from_ledger(target: str | Path) -> History:
    """Every event in a ledger's inbox, whatever its status, in the runner's order.

    Rejected events are included: the programs under comparison decide afresh whether
    they apply. The database is opened read-only (SQLite) or only read (other URLs).
    """
    engine = _read_only_engine(target)
    try:
        names = set(inspect(engine).get_table_names())
        if t.inbox.name not in names:
            raise InputError([InputProblem(
                str(target), None, None, "not a loyaltykit ledger (it has no lk_inbox table)",
                "give the database file or URL the ledger was opened with")])
        with engine.connect() as conn:
            programs = tuple(Program.model_validate_json(source) for source in conn.execute(
                select(t.programs.c.source).order_by(t.programs.c.version)).scalars())
            until = conn.execute(select(t.meta.c.value).where(
                t.meta.c.key == "processed_until")).scalar()
            rows = conn.execution_options(yield_per=_PAGE).execute(
                select(t.inbox.c.kind, t.inbox.c.payload)
                .order_by(t.inbox.c.occurred_at, t.inbox.c.priority, t.inbox.c.event_key))
            events = [from_payload(kind, payload) for kind, payload in rows]
    finally:
        engine.dispose()
    return _finish(events, f"ledger {target}", 0, programs,
                   datetime.fromisoformat(until) if until else None)


def _finish(events: list[Event], source: str, duplicates: int,
            programs: tuple[Program, ...] = (), until: datetime | None = None) -> History:
    if not events:
        raise InputError([InputProblem(source, None, None, "the history has no events",
                                       "import orders into the ledger or give other files")])
    return History(events, source, duplicates, programs, until,
                   dict(Counter(event.kind for event in events)))


def _read_only_engine(target: str | Path) -> Engine:
    text = str(target)
    if "://" in text:
        url = make_url(text)
        if url.get_backend_name() != "sqlite" or not url.database:
            return create_engine(url)
        text = url.database
    path = Path(text)
    if not path.is_file():
        raise InputError([InputProblem(text, None, None, "ledger database not found",
                                       "give the path of the ledger's SQLite file")])
    uri = path.resolve().as_uri() + "?mode=ro"
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
