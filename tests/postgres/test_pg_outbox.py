"""Several pushers drain one outbox and deliver every command once (SQLite and PostgreSQL).

Pushers claim commands (``Ledger.claim_commands``, or an unchanged OutboxSource pusher on
``Ledger.outbox_for(owner)``): a claimed command is offered to nobody else until its lease
runs out or it is marked, so pushers never deliver the same command at the same time, and
a pusher that dies only delays its commands by the lease.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from loyaltykit.adapters.base import OutboxItem, OutboxSource
from loyaltykit.ledger import Ledger, open_ledger
from loyaltykit.testing.conformance import SUITE_PROGRAM

from .shop_story import shop_story

PUSHERS = 4


def busy_outbox(url: str) -> list[int]:
    """A ledger with a few hundred commands waiting; their ids."""
    with open_ledger(url, [SUITE_PROGRAM]) as ledger:
        for rnd in shop_story(3, customers=40, rounds=2):
            ledger.ingest(rnd.events)
            ledger.run(rnd.as_of)
        return [item.id for item in ledger.pending_commands(limit=10_000)]


def drain_together(url: str, pusher: Callable[[Ledger, str, list[tuple[str, int]]], None]
                   ) -> list[tuple[str, int]]:
    """Run PUSHERS pushers at once, each with its own connections; what each delivered."""
    delivered: list[tuple[str, int]] = []
    start = threading.Barrier(PUSHERS)
    errors: list[BaseException] = []

    def one(name: str) -> None:
        try:
            with open_ledger(url) as ledger:
                start.wait()
                pusher(ledger, name, delivered)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(f"pusher-{n}",)) for n in range(PUSHERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return delivered


def claiming_pusher(ledger: Ledger, name: str, delivered: list[tuple[str, int]]) -> None:
    while items := ledger.claim_commands(name, limit=7):
        for item in items:
            delivered.append((name, item.id))
            ledger.mark_sent(item.id, detail=f"by {name}")


def protocol_pusher(ledger: Ledger, name: str, delivered: list[tuple[str, int]]) -> None:
    """The WooCommerce pusher's loop, on the OutboxSource protocol alone: asks past the
    items it handled, and leaves one item in each batch for later (a retriable failure)."""
    outbox: OutboxSource = ledger.outbox_for(name)
    handled: set[int] = set()
    while True:
        items = [i for i in outbox.pending_commands(limit=5 + len(handled))
                 if i.id not in handled][:5]
        if not items:
            return
        handled.update(i.id for i in items)
        for item in items:
            delivered.append((name, item.id))
            outbox.mark_sent(item.id)


def test_pushers_claiming_at_once_deliver_every_command_exactly_once(
        ledger_url_factory: Callable[[], str]) -> None:
    url = ledger_url_factory()
    ids = busy_outbox(url)
    delivered = drain_together(url, claiming_pusher)
    counts = Counter(item_id for _, item_id in delivered)
    assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}
    assert len({name for name, _ in delivered}) > 1, "the pushers should share the work"
    with open_ledger(url) as ledger:
        assert ledger.pending_commands(limit=10) == []


def test_unchanged_outbox_source_pushers_deliver_once_through_outbox_for(
        ledger_url_factory: Callable[[], str]) -> None:
    url = ledger_url_factory()
    ids = busy_outbox(url)
    delivered = drain_together(url, protocol_pusher)
    counts = Counter(item_id for _, item_id in delivered)
    assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}


def _ids(items: list[OutboxItem]) -> list[int]:
    return [item.id for item in items]


def test_a_claim_holds_until_its_lease_runs_out_or_the_command_is_marked(
        ledger_url_factory: Callable[[], str]) -> None:
    url = ledger_url_factory()
    ids = busy_outbox(url)
    with open_ledger(url) as ledger:
        mine = ledger.claim_commands("a", limit=3, lease=timedelta(hours=1))
        assert _ids(mine) == ids[:3]
        assert _ids(ledger.claim_commands("a", limit=3)) == ids[:3]  # its own, again
        theirs = ledger.claim_commands("b", limit=3)
        assert _ids(theirs) == ids[3:6]
        assert not set(_ids(mine)) & set(_ids(ledger.pending_commands(limit=1000)))

        ledger.mark_sent(mine[0].id)
        ledger.mark_failed(mine[1].id, "HTTP 503", retriable=True)
        ledger.mark_failed(mine[2].id, "customer deleted", retriable=False)
        again = ledger.claim_commands("c", limit=1)
        assert _ids(again) == [mine[1].id] and again[0].attempts == 1

        gone = ledger.claim_commands("d", limit=2, lease=timedelta(0))  # a pusher that died
        assert _ids(ledger.claim_commands("e", limit=2)) == _ids(gone)
