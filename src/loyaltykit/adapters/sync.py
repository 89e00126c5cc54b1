"""Incremental sync by "updated at", shared by every adapter that pages through a platform.

The contract is at-least-once with deduplication, the way Singer and dlt sources work:

- a sync reads a *window* ``[since, until)`` of records ordered by their update time, page by
  page; ``until`` is fixed when the window opens, so records changed during the sync are left
  for the next one instead of shifting the pages under us;
- after every page the events *and* the checkpoint (window, page token, newest update time
  seen) go to :meth:`EventSink.ingest` together, so a crash resumes at the next page with
  nothing lost and nothing read twice;
- the next window starts ``overlap`` before the newest update time seen, because platform
  search indexes lag behind writes; the records read again in the overlap are recognised by
  (id, updated_at) and skipped, and anything that slips through is deduplicated by event key
  in the ledger anyway;
- a paginator that hands back a page token it already gave is stopped (:class:`PageGuard`)
  rather than looping forever;
- platforms cap how deep a cursor may page (Shopify: 25,000 objects), so after
  ``max_window_pages`` pages a window is restarted from the newest update time read; the
  order by update time makes that lossless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from loyaltykit.adapters.base import EventSink
from loyaltykit.clock import require_aware
from loyaltykit.errors import PermanentPlatformError
from loyaltykit.events import Event

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Checkpoints travel in the ledger's cursor column; the ids kept for boundary dedup are
#: capped so a mass update (10,000 customers re-tagged in one second) cannot bloat it.
MAX_SEEN = 2000


@dataclass(frozen=True, slots=True)
class Window:
    """Records with ``since <= updated_at < until``; ``after`` is the next page's token."""

    since: datetime | None
    until: datetime
    after: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where an incremental sync stands; stored as JSON in a ledger cursor."""

    high: datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)
    window: Window | None = None

    def open(self, *, now: datetime, overlap: timedelta,
             start: datetime | None = None) -> Checkpoint:
        """Resume the unfinished window, or open the next one ending at ``now``."""
        if self.window is not None:
            return self
        since = self.high - overlap if self.high is not None else start
        return replace(self, window=Window(since=since, until=require_aware(now, "sync until")))

    def is_new(self, record_id: str, updated_at: datetime) -> bool:
        """False for a record already delivered with this very update time."""
        return self.seen.get(record_id) != updated_at.isoformat()

    def advance(self, records: Iterable[tuple[str, datetime]], *, after: str | None,
                overlap: timedelta, ceiling: datetime | None = None) -> Checkpoint:
        """The checkpoint after a page; ``after=None`` closes the window.

        ``ceiling`` caps the newest update time recorded (see ``cap_at_until`` in
        :func:`sync_stream`); records above it are still remembered for boundary dedup.
        """
        seen = dict(self.seen)
        high = self.high
        for record_id, updated_at in records:
            seen[record_id] = updated_at.isoformat()
            mark = updated_at if ceiling is None else min(updated_at, ceiling)
            high = mark if high is None or mark > high else high
        if high is not None:
            floor = high - overlap
            recent = [(datetime.fromisoformat(v), k) for k, v in seen.items()]
            kept = sorted((item for item in recent if item[0] >= floor), reverse=True)
            seen = {k: seen[k] for _, k in kept[:MAX_SEEN]}
        window = None
        if after is not None and self.window is not None:
            window = replace(self.window, after=after)
        return Checkpoint(high=high, seen=seen, window=window)

    def restart_window(self, overlap: timedelta) -> Checkpoint:
        """Continue the same window from the newest update time read, on a fresh cursor."""
        if self.window is None or self.high is None:
            return self
        return replace(self, window=Window(since=self.high - overlap, until=self.window.until))

    def dumps(self) -> str:
        window = None
        if self.window is not None:
            window = {"since": _iso(self.window.since), "until": self.window.until.isoformat(),
                      "after": self.window.after}
        return json.dumps({"v": 1, "high": _iso(self.high), "seen": self.seen,
                           "window": window}, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> Checkpoint:
        if not text:
            return cls()
        data = json.loads(text)
        window = data.get("window")
        return cls(
            high=_dt(data.get("high")),
            seen=dict(data.get("seen") or {}),
            window=None if window is None else Window(
                since=_dt(window.get("since")), until=_req_dt(window["until"]),
                after=window.get("after")),
        )


class PageGuard:
    """Refuses a page token seen before in the same window: a paginator bug, not data."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._seen: set[str] = set()

    def check(self, token: str | None) -> None:
        if token is None:
            return
        if token in self._seen:
            raise PermanentPlatformError(
                f"{self.what}: the platform returned the same page token twice "
                f"({token[:40]}); stopping instead of looping", code="repeated_page_token")
        self._seen.add(token)


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    records: Sequence[R]
    next_token: str | None


class Stream(Protocol[R]):
    """One platform collection read incrementally (customers, orders, ...)."""

    @property
    def cursor_name(self) -> str: ...

    def fetch(self, window: Window) -> Page[R]: ...

    def identity(self, record: R) -> tuple[str, datetime]:
        """(record id, updated_at) used for boundary dedup and the checkpoint."""
        ...

    def events(self, record: R) -> Iterable[Event]: ...


@dataclass(slots=True)
class SyncStats:
    pages: int = 0
    records: int = 0
    skipped: int = 0
    new: int = 0
    duplicate: int = 0


def sync_stream(
    stream: Stream[R], sink: EventSink, *, now: datetime, overlap: timedelta = timedelta(minutes=5),
    start: datetime | None = None, max_window_pages: int | None = None,
    cap_at_until: bool = False,
) -> SyncStats:
    """Read one stream from its committed checkpoint to ``now``, committing per page.

    ``cap_at_until`` is for platforms read without an upper bound on the update time
    (offset-paginated lists, where an upper bound would shift pages under the reader as
    records are edited during the sync): records changed after the window opened may then
    appear, and the next window must still start no later than this one's ``until`` minus
    the overlap, or an edit made early in the sync to a record already read would be missed.
    """
    checkpoint = Checkpoint.loads(sink.cursor(stream.cursor_name)).open(
        now=now, overlap=overlap, start=start)
    guard = PageGuard(stream.cursor_name)
    stats = SyncStats()
    window_pages, window_high = 0, checkpoint.high
    while checkpoint.window is not None:
        page = stream.fetch(checkpoint.window)
        guard.check(page.next_token)
        identities = [stream.identity(r) for r in page.records]
        events: list[Event] = []
        for record, (record_id, updated_at) in zip(page.records, identities, strict=True):
            if checkpoint.is_new(record_id, updated_at):
                events.extend(stream.events(record))
            else:
                stats.skipped += 1
        ceiling = checkpoint.window.until if cap_at_until else None
        checkpoint = checkpoint.advance(identities, after=page.next_token, overlap=overlap,
                                        ceiling=ceiling)
        window_pages += 1
        if (max_window_pages and window_pages >= max_window_pages and checkpoint.window
                and checkpoint.high is not None and checkpoint.high != window_high):
            # A fresh cursor before the platform's depth cap; skipped while the newest update
            # time stands still (a mass update in one instant), which would loop forever.
            checkpoint = checkpoint.restart_window(overlap)
            guard = PageGuard(stream.cursor_name)
            window_pages, window_high = 0, checkpoint.high
        result = sink.ingest(events, cursor=(stream.cursor_name, checkpoint.dumps()))
        stats.pages += 1
        stats.records += len(page.records)
        stats.new += result.new
        stats.duplicate += result.duplicate
    log.info("%s: %d records in %d pages, %d new events, %d already known",
             stream.cursor_name, stats.records, stats.pages, stats.new, stats.duplicate)
    return stats


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else _req_dt(value)


def _req_dt(value: str) -> datetime:
    return require_aware(datetime.fromisoformat(value), "checkpoint")
