"""Eight worker processes on one PostgreSQL ledger end with the ledger one process makes.

Every event of a random shop history is delivered by one to three workers at the same
moment: each order by a webhook worker (one event per call) and by a sync worker (pages
with a cursor), refunds and cancellations by whichever workers, in any order. After each
round all eight run the clock to the round's end at once; then they redeem: two different
redemptions that the balance covers only once, on two workers; the same redemption sent to
two workers; one the balance does not cover. The reference is one process on SQLite given
the same events and, for each contested balance, the redemption that won it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import random
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select

from loyaltykit.errors import RejectedError
from loyaltykit.ledger import Ledger, open_ledger
from loyaltykit.ledger import schema as t
from loyaltykit.testing import memory_ledger
from loyaltykit.testing.conformance import SUITE_PROGRAM

from .ledger_state import assert_same_ledger, snapshot
from .server import PgServer
from .shop_story import Round, shop_story
from .workers import Redemption, WorkerRound, deliver_and_run

WORKERS = 8
SEED = 20251122
SYNC_PAGE = 7
REWARD = 100  # points of SUITE_PROGRAM's only reward, five-off

pytestmark = pytest.mark.postgresql


def redemptions_for(story: list[Round]) -> list[list[Redemption]]:
    """Per round: contested balances (100-199 points, two redemptions), one repeated
    redemption, one that cannot be covered; balances found by a dry run."""
    plans: list[list[Redemption]] = []
    with memory_ledger(SUITE_PROGRAM) as dry:
        for number, rnd in enumerate(story):
            dry.ingest(rnd.events)
            dry.run(rnd.as_of)
            balances = {c: dry.customer(c).balance for c in _customers(dry)}
            contested = [c for c, b in sorted(balances.items()) if REWARD <= b < 2 * REWARD][:2]
            rich = [c for c, b in sorted(balances.items()) if b >= REWARD and c not in contested]
            poor = [c for c, b in sorted(balances.items()) if b < REWARD]
            plan = [Redemption(f"r{number}-{c}-{side}", c, rnd.as_of)
                    for c in contested for side in ("a", "b")]
            plan += [Redemption(f"r{number}-{c}-again", c, rnd.as_of) for c in rich[:1]]
            plan += [Redemption(f"r{number}-{c}-short", c, rnd.as_of) for c in poor[:1]]
            for r in sorted(plan, key=lambda r: r.redemption_id):
                with contextlib.suppress(RejectedError):
                    dry.redeem(r.customer_id, r.reward_id, at=r.at,
                               redemption_id=r.redemption_id)
            plans.append(plan)
    return plans


def _customers(ledger: Ledger) -> list[str]:
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(t.customers.c.customer_id)).scalars())


def worker_plans(story: list[Round], redemptions: list[list[Redemption]],
                 rng: random.Random) -> list[list[WorkerRound]]:
    webhook, sync = range(0, WORKERS, 2), range(1, WORKERS, 2)
    plans = [[WorkerRound(rnd.as_of) for rnd in story] for _ in range(WORKERS)]
    for number, rnd in enumerate(story):
        share: dict[int, list] = defaultdict(list)
        for event in rnd.events:
            if event.kind == "order_paid":  # a webhook and a sync at the same moment
                chosen = {rng.choice(webhook), rng.choice(sync)}
            else:
                chosen = set(rng.sample(range(WORKERS), rng.choice([1, 2, 2, 3])))
            for w in chosen:
                share[w].append(event)
        for w, events in share.items():
            rng.shuffle(events)
            if w in webhook:
                plans[w][number].webhooks = events
            else:
                plans[w][number].sync_pages = [events[i:i + SYNC_PAGE]
                                               for i in range(0, len(events), SYNC_PAGE)]
        by_customer: dict[str, list[Redemption]] = defaultdict(list)
        for r in redemptions[number]:
            by_customer[r.customer_id].append(r)
        for group in by_customer.values():
            if group[0].redemption_id.endswith("-again"):
                group = group * 2  # the same request to two workers
            for r, w in zip(group, rng.sample(range(WORKERS), len(group)), strict=True):
                plans[w][number].redemptions.append(r)
    return plans


def run_workers(url: str, plans: list[list[WorkerRound]]) -> list[tuple]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS, timeout=120)
    results = ctx.Queue()
    procs = [ctx.Process(target=deliver_and_run,
                         args=(url, f"w{n}", plans[n], barrier, results), daemon=True)
             for n in range(WORKERS)]
    for p in procs:
        p.start()
    messages, ended = [], 0
    try:
        while ended < WORKERS:
            message = results.get(timeout=180)
            messages.append(message)
            ended += message[2] in ("finished", "error")
    except queue.Empty:
        pytest.fail(f"workers stopped answering; heard so far: {messages}")
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    errors = sorted((m[3] for m in messages if m[2] == "error"),
                    key=lambda e: "BrokenBarrierError" in e)  # the cause first
    assert not errors, errors[0]
    assert [p.exitcode for p in procs] == [0] * WORKERS
    return messages


def reference(path: Path, story: list[Round], redemptions: list[list[Redemption]],
              won: set[str]) -> Ledger:
    """One process, the same events, each contested balance going to the same winner."""
    ledger = open_ledger(path, [SUITE_PROGRAM])
    for rnd, plan in zip(story, redemptions, strict=True):
        ledger.ingest(rnd.events)
        ledger.run(rnd.as_of)
        for r in sorted(plan, key=lambda r: (r.redemption_id not in won, r.redemption_id)):
            with contextlib.suppress(RejectedError):
                ledger.redeem(r.customer_id, r.reward_id, at=r.at,
                              redemption_id=r.redemption_id)
    return ledger


def test_eight_workers_make_the_ledger_one_process_makes(pg_server: PgServer,
                                                          tmp_path: Path) -> None:
    story = shop_story(SEED)
    redemptions = redemptions_for(story)
    plans = worker_plans(story, redemptions, random.Random(SEED))
    url = pg_server.new_schema()
    open_ledger(url, [SUITE_PROGRAM]).close()
    try:
        messages = run_workers(url, plans)
        with open_ledger(url) as shared, shared.engine.connect() as conn:
            actual = snapshot(shared.engine, profiles="latest")
            status = dict(conn.execute(select(t.inbox.c.event_key, t.inbox.c.status)).all())
    finally:
        pg_server.drop_schema(url)

    won = {key.removeprefix("redemption:") for key, s in status.items()
           if key.startswith("redemption:") and s == "done"}
    contested = [r for plan in redemptions for r in plan if r.redemption_id[-2:] in ("-a", "-b")]
    assert contested, "the story must contest some balances"
    for first, second in zip(contested[::2], contested[1::2], strict=True):
        assert (first.redemption_id in won) != (second.redemption_id in won), (first, second)
    repeated = [m for m in messages if m[1] and m[1].endswith("-again")]
    assert repeated and all(m[2] == "done" and m[3] == -REWARD for m in repeated)
    assert "pending" not in status.values()

    with reference(tmp_path / "one-process.db", story, redemptions, won) as one:
        expected = snapshot(one.engine, profiles="latest")
    assert_same_ledger(actual, expected)
