"""Lifecycle segments change with time alone; each change is published when it happens."""

from collections.abc import Callable
from datetime import timedelta

from loyaltykit import Ledger
from loyaltykit.testing import EventBuilder
from loyaltykit.testing.conformance import START, SUITE_PROGRAM


def profiles(ledger: Ledger, customer_id: str) -> list[tuple[str, str]]:
    """(as_of, segment) of the customer's pending profile commands, oldest first."""
    return [(item.command.as_of.isoformat(), item.command.segment)
            for item in ledger.pending_commands(limit=10_000, kinds=["update_customer_profile"])
            if item.command.customer_id == customer_id]


def test_a_customer_growing_older_is_published_once_per_segment_change(
        ledger_factory: Callable[..., Ledger]) -> None:
    ledger = ledger_factory(SUITE_PROGRAM)
    shop = EventBuilder(currency="CNY", start=START)
    shop.customer("alice")
    shop.order("alice", "10.00")
    ledger.ingest(shop.events)
    # runs every ten days, and daily around each threshold (90/180/270/360 days)
    run_days = sorted(set(range(0, 400, 10)) | {
        limit + d for limit in (30, 90, 180, 270, 360) for d in (-1, 0, 1, 2)})
    days = {}  # the day of each run that published alice, and the segment
    published = 0
    for day in run_days:
        ledger.run(START + timedelta(days=day))
        found = profiles(ledger, "alice")
        for as_of, segment in found[published:]:
            days[day] = segment
            assert as_of == (START + timedelta(days=day)).isoformat()
        published = len(found)
    # day 30: the first order's points expire (a touch, same segment); day 90 is still
    # active (thresholds are inclusive), day 91 the first run past it
    assert days == {0: "active", 30: "active", 91: "silent", 181: "sleeping",
                    271: "at_risk", 361: "lost"}


def test_runs_between_crossings_publish_no_one_and_one_run_over_many_publishes_once(
        ledger_factory: Callable[..., Ledger]) -> None:
    ledger = ledger_factory(SUITE_PROGRAM)
    shop = EventBuilder(currency="CNY", start=START)
    shop.customer("alice")
    shop.customer("bob")
    shop.order("alice", "10.00")
    shop.advance(days=100)
    shop.order("bob", "10.00")
    ledger.ingest(shop.events)
    ledger.run(START + timedelta(days=101))
    assert [s for _, s in profiles(ledger, "alice")][-1] == "silent"
    count = {c: len(profiles(ledger, c)) for c in ("alice", "bob")}
    ledger.run(START + timedelta(days=130))  # bob's lot expired at day 130: bob only
    ledger.run(START + timedelta(days=150))  # nothing crosses, nothing expires
    assert len(profiles(ledger, "alice")) == count["alice"]
    assert [s for _, s in profiles(ledger, "bob")][count["bob"]:] == ["active"]
    ledger.run(START + timedelta(days=500))  # both pass several thresholds in one run
    assert profiles(ledger, "alice")[-1] == ((START + timedelta(days=500)).isoformat(), "lost")
    assert profiles(ledger, "bob")[-1] == ((START + timedelta(days=500)).isoformat(), "lost")
    assert len(profiles(ledger, "alice")) == count["alice"] + 1
    ledger.run(START + timedelta(days=500))  # the same instant again: nothing new
    ledger.run(START + timedelta(days=900))  # lost stays lost
    assert len(profiles(ledger, "alice")) == count["alice"] + 1
