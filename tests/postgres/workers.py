"""Worker processes for the concurrency and crash tests (started with ``spawn``, so each is
a fresh interpreter with its own connections, as on separate hosts)."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loyaltykit.errors import RejectedError
from loyaltykit.events import Event
from loyaltykit.ledger import open_ledger


@dataclass
class Redemption:
    redemption_id: str
    customer_id: str
    at: datetime
    reward_id: str = "five-off"


@dataclass
class WorkerRound:
    as_of: datetime
    webhooks: list[Event] = field(default_factory=list)   # one ingest call per event
    sync_pages: list[list[Event]] = field(default_factory=list)  # one call per page
    redemptions: list[Redemption] = field(default_factory=list)


def deliver_and_run(url: str, name: str, rounds: list[WorkerRound], barrier: Any,
                    results: Any) -> None:
    """One worker: per round, deliver its share of events, wait for the others, run the
    clock to the round's end, then make its redemptions."""
    try:
        with open_ledger(url) as ledger:
            for number, plan in enumerate(rounds):
                barrier.wait()
                for event in plan.webhooks:
                    ledger.ingest([event])
                for page, events in enumerate(plan.sync_pages):
                    ledger.ingest(events, cursor=(f"sync:{name}", f"{number}.{page}"))
                barrier.wait()
                ledger.run(plan.as_of)
                for r in plan.redemptions:
                    try:
                        entry = ledger.redeem(r.customer_id, r.reward_id, at=r.at,
                                              redemption_id=r.redemption_id)
                        results.put((name, r.redemption_id, "done", entry.points))
                    except RejectedError as why:
                        results.put((name, r.redemption_id, "rejected", str(why)))
        results.put((name, None, "finished", None))
    except BaseException:
        barrier.abort()
        results.put((name, None, "error", traceback.format_exc()))
        sys.exit(1)


def replay(url: str, events: list[Event], as_of: datetime, page_size: int) -> None:
    """The crash test's victim: ingest everything, then process in small pages, saying
    on stdout when each page has committed (the test kills it at a random moment)."""
    print("ingesting", flush=True)
    with open_ledger(url) as ledger:
        ledger.ingest(events)
        print("ingested", flush=True)
        ledger.run(as_of, page_size=page_size,
                   progress=lambda n: print(f"page {n}", flush=True))
    print("finished", flush=True)


if __name__ == "__main__":  # python -m postgres.workers URL EVENTS_PICKLE AS_OF PAGE_SIZE
    import pickle

    with open(sys.argv[2], "rb") as f:
        stream = pickle.load(f)
    replay(sys.argv[1], stream, datetime.fromisoformat(sys.argv[3]), int(sys.argv[4]))
