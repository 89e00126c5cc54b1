"""A worker killed with SIGKILL at a random moment leaves whole pages or nothing, and the
next run ends with the ledger of an uninterrupted one (SQLite and PostgreSQL).

The victim is a real process (``python -m postgres.workers``) that processes a shop history
in small pages and says when each page committed; the test kills it a few pages later plus
a random pause, so the kill lands anywhere: inside a page's processing, its writes, or its
commit. The seed is printed in the test id for a failing case to be replayed.
"""

from __future__ import annotations

import pickle
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from loyaltykit.events import Event
from loyaltykit.ledger import Ledger, open_ledger
from loyaltykit.ledger import schema as t
from loyaltykit.testing import EventBuilder, memory_ledger
from loyaltykit.testing.conformance import START, SUITE_PROGRAM

from .ledger_state import assert_same_ledger, snapshot
from .shop_story import shop_story

TESTS = Path(__file__).parents[1]
PAGE = 20
KILLS = 3
SEED = 7


def history() -> tuple[list[Event], datetime]:
    rounds = shop_story(SEED, customers=60, rounds=4, orders_per_round=150)
    events = [e for r in rounds for e in r.events]
    return events, rounds[-1].as_of + timedelta(days=45)  # lots expire, referrals pay


def kill_victim(url: str, events_file: Path, as_of: datetime, log: Path,
                ready: Callable[[str], bool], pause: float) -> tuple[int, list[str]]:
    """Start the victim; SIGKILL it ``pause`` seconds after it printed a line ``ready``
    accepts. Returns its exit status and what it printed."""
    seen = []
    with log.open("ab") as errors, subprocess.Popen(
            [sys.executable, "-m", "postgres.workers", url, str(events_file),
             as_of.isoformat(), str(PAGE)],
            cwd=TESTS, stdout=subprocess.PIPE, stderr=errors, text=True) as victim:
        assert victim.stdout is not None
        for line in victim.stdout:
            seen.append(line.strip())
            if ready(line.strip()):
                time.sleep(pause)
                break
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    return victim.returncode, seen


def after_pages(count: int) -> Callable[[str], bool]:
    """Ready once the victim has committed ``count`` pages."""
    committed = 0

    def ready(line: str) -> bool:
        nonlocal committed
        committed += line.startswith("page")
        return committed >= count

    return ready


def assert_whole_pages(url: str, total: int) -> int:
    """Nothing half-applied: processed events come in whole pages, and every balance is
    its entries' sum and its open lots' sum. Returns how many events are processed."""
    with open_ledger(url) as ledger, ledger.engine.connect() as conn:
        processed = conn.execute(select(func.count()).where(
            t.inbox.c.status != "pending")).scalar_one()
        balances = dict(conn.execute(select(t.customers.c.customer_id,
                                            t.customers.c.balance)).all())
        entries = dict(conn.execute(select(t.entries.c.customer_id, func.sum(
            t.entries.c.points)).group_by(t.entries.c.customer_id)).all())
        lots = dict(conn.execute(select(t.lots.c.customer_id, func.sum(
            t.lots.c.remaining)).group_by(t.lots.c.customer_id)).all())
        orphans = conn.execute(select(func.count()).select_from(t.entries).join(
            t.inbox, t.inbox.c.event_key == t.entries.c.source_event).where(
            t.inbox.c.status == "pending")).scalar_one()
    assert processed % PAGE == 0 or processed == total, processed
    assert orphans == 0, "entries of events still pending"
    for customer, balance in balances.items():
        assert balance >= 0
        assert balance == (entries.get(customer) or 0) == (lots.get(customer) or 0), customer
    return int(processed)


def test_a_run_killed_at_random_moments_converges_to_the_uninterrupted_ledger(
        ledger_url_factory: Callable[[], str], tmp_path: Path) -> None:
    events, as_of = history()
    with memory_ledger(SUITE_PROGRAM) as reference:
        reference.ingest(events)
        reference.run(as_of)
        expected = snapshot(reference.engine)
    url = ledger_url_factory()
    open_ledger(url, [SUITE_PROGRAM]).close()
    events_file = tmp_path / "events.pickle"
    events_file.write_bytes(pickle.dumps(events))
    rng = random.Random(SEED)
    pages = len(events) // PAGE
    for kill in range(KILLS):
        status, seen = kill_victim(url, events_file, as_of, tmp_path / "victim.log",
                                   after_pages(rng.randrange(1, pages // (KILLS + 2))),
                                   rng.uniform(0, 0.03))
        assert status == -signal.SIGKILL, (seen, (tmp_path / "victim.log").read_text())
        assert "finished" not in seen, f"kill {kill} came too late to test anything"
        done = assert_whole_pages(url, len(events))
        assert done < len(events)
    with open_ledger(url) as ledger:
        ledger.run(as_of)
        assert_same_ledger(snapshot(ledger.engine), expected)
        found = inspect(ledger.engine)  # a SQLite replay sets them aside (ledger.indexes)
        assert {str(i["name"]) for table in ("lk_orders", "lk_lots", "lk_entries")
                for i in found.get_indexes(table)} >= {
            "ix_orders_window", "ix_lots_expiry", "ix_entries_customer"}


def test_an_ingest_killed_half_way_keeps_all_its_events_or_none(
        ledger_url_factory: Callable[[], str], tmp_path: Path) -> None:
    events, as_of = history()
    url = ledger_url_factory()
    open_ledger(url, [SUITE_PROGRAM]).close()
    events_file = tmp_path / "events.pickle"
    events_file.write_bytes(pickle.dumps(events))
    pause = random.Random(SEED).uniform(0, 0.05)
    status, _ = kill_victim(url, events_file, as_of, tmp_path / "victim.log",
                            lambda line: line == "ingesting", pause)
    assert status == -signal.SIGKILL
    with open_ledger(url) as ledger, ledger.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(t.inbox)).scalar_one()
        assert stored in (0, len(events))
        ledger.ingest(events)
        ledger.run(as_of)
        with memory_ledger(SUITE_PROGRAM) as reference:
            reference.ingest(events)
            reference.run(as_of)
            assert_same_ledger(snapshot(ledger.engine), snapshot(reference.engine))


class Interrupted(Exception):
    pass


def test_profiles_owed_by_an_interrupted_run_are_published_by_the_next(
        ledger_factory: Callable[..., Ledger]) -> None:
    """Customers processed before a crash, and never touched after it, still get the
    profile command an uninterrupted run would have queued."""
    shop = EventBuilder(currency="CNY", start=START)
    early = [shop.customer(f"early{n}") for n in range(3)]
    orders = [shop.order(c.customer_id, "80.00") for c in early]
    shop.advance(days=2)
    late = [shop.order(f"late{n}", "50.00") for n in range(3)]
    as_of = START + timedelta(days=3)
    program = SUITE_PROGRAM.model_copy(update={"expiry": None})
    one, interrupted = ledger_factory(program), ledger_factory(program)
    for ledger in (one, interrupted):
        ledger.ingest([*early, *orders, *late])
    one.run(as_of)

    def crash_after_first_page(_: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        interrupted.run(as_of, page_size=len(early) + len(orders),
                        progress=crash_after_first_page)
    interrupted.run(as_of)
    profiles = {item.command.customer_id for item in interrupted.pending_commands(
        limit=100, kinds=["update_customer_profile"])}
    assert profiles == {f"early{n}" for n in range(3)} | {f"late{n}" for n in range(3)}
    assert_same_ledger(snapshot(interrupted.engine), snapshot(one.engine))
