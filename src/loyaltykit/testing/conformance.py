"""Conformance suite for ledger stores: what any database behind a Ledger must guarantee.

The ledger runs on SQLAlchemy Core, so SQLite and PostgreSQL share one implementation; a new
backend (another database, a managed service, a custom engine configuration) proves itself
by passing this suite. Subclass it in a test module and provide ``make_ledger``::

    import pytest
    from loyaltykit import open_ledger
    from loyaltykit.testing.conformance import LedgerStoreConformance

    class TestMyPostgres(LedgerStoreConformance):
        @pytest.fixture
        def make_ledger(self, tmp_path):
            def make(programs):
                return open_ledger("postgresql+psycopg://localhost/loyalty_test", programs)
            return make   # each call must return an empty ledger

The suite checks the contracts adapters and shop backends rely on: events deduplicated by
key (a customer's change reverted later still counts, and the platform's echo of our own
push queues nothing), the sync cursor committed with its events and never without them,
the same ledger from one run or from many, aware UTC instants, balances that never go
below zero, and the outbox delivering each command until it is marked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from loyaltykit.errors import ConfigurationError
from loyaltykit.events import Event, OrderPaid
from loyaltykit.ledger.ledger import Ledger
from loyaltykit.rules.program import Program
from loyaltykit.testing.builders import EventBuilder

MakeLedger = Callable[[Sequence[Program]], Ledger]
SHANGHAI = timezone(timedelta(hours=8))
START = datetime(2025, 3, 1, 10, 0, tzinfo=SHANGHAI)

#: A small program touching every feature the ledger stores: tiers, referral, expiry,
#: redemption. The expected figures in the suite are worked out from it by hand.
SUITE_PROGRAM = Program.model_validate({
    "id": "conformance", "version": 1, "effective_from": "2025-01-01T00:00:00+08:00",
    "timezone": "Asia/Shanghai", "currency": "CNY",
    "earning": {
        "multipliers": [{"type": "member_day", "id": "member-day", "day_of_month": 18,
                         "factor": 2}],
        "bonuses": [{"type": "first_order", "id": "welcome", "points": 50}]},
    "tiers": {"window": {"type": "rolling_days", "days": 365}, "levels": [
        {"id": "member"},
        {"id": "gold", "qualify": {"net_spend": "500"},
         "benefits": {"earn_multiplier": "1.5", "tags": ["gold"]}}]},
    "referrals": {
        "referee_reward": {"type": "points", "points": 100},
        "referrer_reward": {"type": "discount",
                            "discount": {"value_type": "fixed_amount", "value": "10"}},
        "referrer_delay_days": 7},
    "expiry": {"days": 30},
    "redemption": {"rewards": [{"id": "five-off", "points": 100,
                                "discount": {"value_type": "fixed_amount", "value": "5"}}]},
})


def story() -> list[Event]:
    """Alice refers Bob; both order; Alice turns gold and orders on member day."""
    shop = EventBuilder(currency="CNY", start=START)
    shop.customer("alice", referral_code="ALICE", phone="13800000001")
    shop.customer("bob", phone="13900000002", birthday=date(1990, 5, 1))
    shop.referral("bob", "ALICE")
    shop.order("alice", "600.00", order_id="o1")          # 600 + 50 welcome; gold
    shop.advance(days=1)
    shop.order("bob", "100.00", order_id="o2")            # 100 + 50 welcome + 100 referee
    shop.advance(days=8)
    shop.redemption("bob", "five-off", redemption_id="r1")  # -100, oldest lots first
    shop.at(datetime(2025, 3, 18, 12, 0, tzinfo=SHANGHAI))
    shop.order("alice", "100.00", order_id="o3")          # x2 member day x1.5 gold = 300
    return shop.events


class LedgerStoreConformance:
    """Subclass with a ``make_ledger`` fixture; every ``test_*`` method runs against it."""

    @pytest.fixture
    def make_ledger(self) -> MakeLedger:
        raise NotImplementedError(
            "override the make_ledger fixture: return a function that takes program "
            "versions and returns an empty Ledger on the store under test")

    @pytest.fixture
    def ledger(self, make_ledger: MakeLedger) -> Iterator[Ledger]:
        ledger = make_ledger([SUITE_PROGRAM])
        yield ledger
        ledger.close()

    # ------------------------------------------------------------------ EventSink

    def test_cursor_is_none_before_the_first_sync(self, ledger: Ledger) -> None:
        assert ledger.cursor("shop:orders") is None

    def test_events_are_deduplicated_by_key(self, ledger: Ledger) -> None:
        events = story()
        first = ledger.ingest(events)
        again = ledger.ingest(events)
        assert (first.new, first.duplicate) == (len(events), 0)
        assert (again.new, again.duplicate) == (0, len(events))

    def test_the_cursor_commits_with_its_events(self, ledger: Ledger) -> None:
        events = story()
        ledger.ingest(events[:3], cursor=("shop:orders", "page-1"))
        ledger.ingest(events[3:], cursor=("shop:orders", "page-2"))
        assert ledger.cursor("shop:orders") == "page-2"
        assert ledger.ingest(events).new == 0

    def test_a_failed_ingest_keeps_neither_events_nor_cursor(self, ledger: Ledger) -> None:
        events = story()
        ledger.ingest(events[:2], cursor=("shop:orders", "page-1"))
        naive = OrderPaid("bad", "alice", datetime(2025, 3, 5, 12), Decimal("10.00"), "CNY")
        with pytest.raises(ValueError):
            ledger.ingest([*events[2:], naive], cursor=("shop:orders", "page-2"))
        assert ledger.cursor("shop:orders") == "page-1"
        assert ledger.ingest(events[2:]).new == len(events) - 2

    def test_a_reverted_change_counts_and_an_echo_pushes_nothing(self, ledger: Ledger) -> None:
        shop = EventBuilder(currency="CNY", start=START)
        shop.customer("alice", referral_code="ALICE")
        shop.advance(days=1)
        shop.customer("alice", referral_code="ALICE-2025")
        shop.advance(days=1)
        shop.customer("alice", referral_code="ALICE")  # changed back
        versions = list(shop.events)
        for version in versions:
            assert ledger.ingest([version]).new == 1
            ledger.run(version.occurred_at)
        assert ledger.ingest(versions).duplicate == 3  # a re-sync
        # the platform's echo of our own push: same content, a newer modification time
        queued = len(ledger.pending_commands(limit=1000))
        echo = replace(versions[-1], occurred_at=shop.advance(hours=1))
        ledger.ingest([echo])
        ledger.run(echo.occurred_at + timedelta(minutes=1))
        assert len(ledger.pending_commands(limit=1000)) == queued  # nothing to push again
        shop.advance(days=1)
        shop.customer("bob")
        shop.referral("bob", "ALICE")
        shop.order("bob", "100.00")
        ledger.ingest(shop.events[len(versions):])
        ledger.run(shop.advance(hours=1))
        assert ledger.customer("bob").referred_by == ("alice", "qualified", None)

    # ------------------------------------------------------------------ processing

    def test_balances_follow_the_rules(self, ledger: Ledger) -> None:
        ledger.ingest(story())
        ledger.run(datetime(2025, 3, 20, tzinfo=SHANGHAI))
        alice, bob = ledger.customer("alice"), ledger.customer("bob")
        assert (alice.balance, alice.tier) == (600 + 50 + 300, "gold")
        assert (bob.balance, bob.tier) == (100 + 50 + 100 - 100, "member")

    def test_points_expire_and_balances_never_go_negative(self, ledger: Ledger) -> None:
        ledger.ingest(story())
        ledger.run(datetime(2025, 4, 5, tzinfo=SHANGHAI))
        assert ledger.customer("alice").balance == 300   # March 1 lots expired March 31
        assert ledger.customer("bob").balance == 0       # every lot expired April 1
        for name in ("alice", "bob"):
            assert all(e.balance_after >= 0 for e in ledger.customer(name).history)

    def test_one_run_or_many_runs_give_the_same_ledger(self, make_ledger: MakeLedger) -> None:
        end = datetime(2025, 4, 5, tzinfo=SHANGHAI)
        with make_ledger([SUITE_PROGRAM]) as once, make_ledger([SUITE_PROGRAM]) as daily:
            once.ingest(story())
            once.run(end)
            daily.ingest(story())
            day = START
            while day < end:
                day += timedelta(days=1)
                daily.run(min(day, end))
            for name in ("alice", "bob"):
                assert _entries(once, name) == _entries(daily, name)
                assert once.customer(name).tier_history == daily.customer(name).tier_history

    def test_instants_come_back_aware_and_equal(self, ledger: Ledger) -> None:
        events = story()
        ledger.ingest(events)
        ledger.run(datetime(2025, 3, 20, tzinfo=SHANGHAI))
        first = ledger.customer("alice").history[0]
        assert first.effective_at.utcoffset() is not None
        assert first.effective_at == events[3].occurred_at

    def test_a_changed_program_needs_a_new_version(self, ledger: Ledger) -> None:
        changed = SUITE_PROGRAM.model_copy(update={"name": "changed"})
        with pytest.raises(ConfigurationError):
            ledger.install(changed)

    # ------------------------------------------------------------------ OutboxSource

    def test_commands_stay_pending_until_marked(self, ledger: Ledger) -> None:
        ledger.ingest(story())
        ledger.run(datetime(2025, 3, 20, tzinfo=SHANGHAI))
        discounts = ledger.pending_commands(kinds=["issue_discount"])
        assert {d.command.customer_id for d in discounts} == {"alice", "bob"}
        sent, retry, dead = discounts[0], discounts[1], ledger.pending_commands(
            kinds=["set_customer_tags"])[0]
        ledger.mark_sent(sent.id)
        ledger.mark_failed(retry.id, "HTTP 503", retriable=True)
        ledger.mark_failed(dead.id, "customer deleted", retriable=False)
        pending = {item.id: item for item in ledger.pending_commands(limit=1000)}
        assert sent.id not in pending and dead.id not in pending
        assert pending[retry.id].attempts == 1

    def test_the_same_command_is_queued_once(self, ledger: Ledger) -> None:
        ledger.ingest(story())
        ledger.run(datetime(2025, 3, 20, tzinfo=SHANGHAI))
        ledger.run(datetime(2025, 3, 20, tzinfo=SHANGHAI))
        keys = [item.command.key for item in ledger.pending_commands(limit=1000)]
        assert len(keys) == len(set(keys))


def _entries(ledger: Ledger, customer_id: str) -> list[tuple[str, int, int, datetime]]:
    return [(e.entry_key, e.points, e.balance_after, e.effective_at)
            for e in ledger.customer(customer_id).history]
