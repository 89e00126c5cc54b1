"""Workers doing the same thing at the same moment: ingesting overlapping batches in
different orders, installing the same program, redeeming the same balance (threads with
their own connections; the guarantees come from the database, so threads show them as
processes would; tests/postgres/test_pg_workers.py runs real processes)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from loyaltykit.engine import pages, runner
from loyaltykit.errors import RejectedError
from loyaltykit.ledger import open_ledger
from loyaltykit.ledger import schema as t
from loyaltykit.testing import EventBuilder, memory_ledger
from loyaltykit.testing.conformance import START, SUITE_PROGRAM

from .ledger_state import assert_same_ledger, snapshot
from .shop_story import shop_story

THREADS = 8


def together(url: str, work: Callable[[Any, int], object]) -> list[object]:
    """Run ``work(ledger, n)`` in THREADS threads released at once; results or errors."""
    start = threading.Barrier(THREADS)
    results: list[object] = [None] * THREADS

    def one(n: int) -> None:
        try:
            with open_ledger(url) as ledger:
                start.wait()
                results[n] = work(ledger, n)
        except Exception as exc:
            results[n] = exc

    threads = [threading.Thread(target=one, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_overlapping_batches_in_different_orders_store_each_event_once(
        ledger_url_factory: Callable[[], str]) -> None:
    url = ledger_url_factory()
    open_ledger(url, [SUITE_PROGRAM]).close()
    events = [e for r in shop_story(11, rounds=2) for e in r.events]

    def ingest(ledger: Any, n: int) -> object:
        rng = random.Random(n)
        mine = rng.sample(events, k=len(events) * 2 // 3)
        return ledger.ingest(mine, cursor=("shop:orders", f"worker-{n}"))

    results = together(url, ingest)
    assert not [r for r in results if isinstance(r, Exception)], results
    with open_ledger(url) as ledger, ledger.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(t.inbox)).scalar()
        keys = set(conn.execute(select(t.inbox.c.event_key)).scalars())
    delivered = {e.key for n in range(THREADS)
                 for e in random.Random(n).sample(events, k=len(events) * 2 // 3)}
    assert stored == len(keys) == len(delivered)
    assert sum(r.new for r in results) == len(delivered)


def test_workers_installing_the_same_program_at_once_all_start(
        ledger_url_factory: Callable[[], str]) -> None:
    url = ledger_url_factory()
    open_ledger(url).close()
    results = together(url, lambda ledger, n: ledger.install(SUITE_PROGRAM))
    assert sorted(results, key=str) == [False] * (THREADS - 1) + [True]


def test_eight_redemptions_of_one_balance_spend_it_once(
        ledger_url_factory: Callable[[], str]) -> None:
    url = ledger_url_factory()
    shop = EventBuilder(currency="CNY", start=START)
    shop.customer("alice")
    shop.order("alice", "250.00")  # 250 + 50 welcome: three five-off rewards, not eight
    shop.advance(days=1)
    at = shop.events[-1].occurred_at
    with open_ledger(url, [SUITE_PROGRAM]) as ledger:
        ledger.ingest(shop.events)
        ledger.run(at)

    def redeem(ledger: Any, n: int) -> object:
        return ledger.redeem("alice", "five-off", at=at, redemption_id=f"r{n}")

    results = together(url, redeem)
    spent = [r for r in results if not isinstance(r, RejectedError)]
    assert len(spent) == 3 and all(r.points == -100 for r in spent)
    with open_ledger(url) as ledger:
        alice = ledger.customer("alice")
        assert alice.balance == 0
        assert [e.balance_after for e in alice.history if e.kind == "redemption"] == [200, 100, 0]


def test_a_sqlite_page_computed_while_another_process_saved_is_done_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite a page is computed without the lock; if another process saves pages in
    the meantime, the page is dropped and computed again from the new state."""
    rounds = shop_story(5, rounds=3)
    events = [e for r in rounds for e in r.events]
    path = tmp_path / "shared.db"
    first, second = open_ledger(path, [SUITE_PROGRAM]), open_ledger(path)
    first.ingest(events)
    read_page = pages.pending_page
    forgotten = []
    interfered = False

    def page_then_another_process_runs(conn: Any, as_of: Any, size: int,
                                       after: Any = None) -> Any:
        nonlocal interfered
        rows = read_page(conn, as_of, size, after)
        if not interfered:
            interfered = True
            second.run(rounds[0].as_of)  # saves while `first` computes its page
        return rows

    monkeypatch.setattr(pages, "pending_page", page_then_another_process_runs)
    forget = runner.Working.forget
    monkeypatch.setattr(runner.Working, "forget",
                        lambda self: forgotten.append(1) or forget(self))
    first.run(rounds[-1].as_of)
    assert forgotten, "the page computed from a stale generation must be dropped"
    with memory_ledger(SUITE_PROGRAM) as one:  # the same two runs, one after the other
        one.ingest(events)
        one.run(rounds[0].as_of)
        one.run(rounds[-1].as_of)
        assert_same_ledger(snapshot(first.engine), snapshot(one.engine))
    first.close()
    second.close()
