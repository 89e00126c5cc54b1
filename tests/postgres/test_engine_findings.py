"""Engine behaviour found while running the ledger with many workers, kept as regression
tests on every backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from loyaltykit.ledger import Ledger
from loyaltykit.testing import EventBuilder
from loyaltykit.testing.conformance import START, SUITE_PROGRAM


def test_a_change_processed_at_an_instant_already_run_to_still_updates_the_profile(
        ledger_factory: Callable[..., Ledger]) -> None:
    ledger = ledger_factory(SUITE_PROGRAM)
    shop = EventBuilder(currency="CNY", start=START)
    shop.customer("alice")
    shop.order("alice", "300.00")  # 300 + 50 welcome
    at = START + timedelta(days=1)
    ledger.ingest(shop.events)
    ledger.run(at)
    ledger.redeem("alice", "five-off", at=at, redemption_id="r1")  # -100
    profiles = [item.command for item in ledger.pending_commands(
        limit=100, kinds=["update_customer_profile"])]
    assert ledger.customer("alice").balance == 250
    assert profiles[-1].points_balance == 250, [(p.key, p.points_balance) for p in profiles]
