"""Points through the ledger: idempotency, refunds, cancellations, FIFO expiry, redemption."""

from datetime import timedelta

import pytest

from loyaltykit.errors import RejectedError

from .builders import at, birthday, cancel, customer, paid, program, refund

BONUS = {"base": {"amount": "1.00", "points": 1},
         "bonuses": [{"type": "first_order", "id": "welcome", "points": 100}]}


def entries(ledger, cid):
    return [(e.kind, e.points, e.rule_id) for e in ledger.customer(cid).history]


def test_the_same_events_twice_change_nothing(ledger_factory):
    ledger = ledger_factory(program(earning=BONUS))
    events = [customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 2), "120.00")]
    assert ledger.ingest(events).new == 2
    ledger.run(at(2025, 1, 3))
    again = ledger.ingest([*events, paid("o1", "c1", at(2025, 1, 2), "120.00")])
    assert (again.new, again.duplicate) == (0, 3)
    ledger.run(at(2025, 1, 4))
    assert entries(ledger, "c1") == [("earn", 120, "earn.base"), ("bonus", 100, "welcome")]
    assert ledger.customer("c1").balance == 220


def test_every_entry_names_rule_version_and_source_event(ledger_factory):
    ledger = ledger_factory(program(earning=BONUS))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 2), "50.00")])
    ledger.run(at(2025, 1, 3))
    for e in ledger.customer("c1").history:
        assert e.rule_id and e.program_version == 1 and e.source_event == "order:o1:paid"
        assert e.entry_key.startswith("order:o1:paid:")
        assert e.reason


def test_partial_refunds_reverse_in_proportion_and_never_more_than_earned(ledger_factory):
    ledger = ledger_factory(program(earning=BONUS))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 2), "100.00"),
                   refund("r1", "o1", at(2025, 1, 3), "33.33"),
                   refund("r2", "o1", at(2025, 1, 4), "33.33")])
    ledger.run(at(2025, 1, 5))
    # cumulative targets: floor(100*33.33/100)=33, floor(100*66.66/100)=66
    assert entries(ledger, "c1")[2:] == [("reversal", -33, "earn.base"),
                                         ("reversal", -33, "earn.base")]
    ledger.ingest([refund("r3", "o1", at(2025, 1, 6), "33.34")])
    ledger.run(at(2025, 1, 7))
    # the last cent makes it a full refund: the remaining 34 and the first-order bonus go
    assert entries(ledger, "c1")[4:] == [("reversal", -34, "earn.base"),
                                         ("reversal", -100, "welcome")]
    assert ledger.customer("c1").balance == 0
    assert ledger.customer("c1").lifetime_earned == 0


def test_a_refund_larger_than_what_is_left_is_rejected_with_its_reason(ledger_factory):
    ledger = ledger_factory(program(earning=BONUS))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 2), "100.00"),
                   refund("r1", "o1", at(2025, 1, 3), "80.00"),
                   refund("r2", "o1", at(2025, 1, 4), "30.00"),
                   refund("r9", "nope", at(2025, 1, 4), "1.00")])
    result = ledger.run(at(2025, 1, 5))
    assert result.rejected == 2
    assert ledger.report().rejected_events == 2
    assert ledger.customer("c1").balance == 100 + 100 - 80


def test_cancelling_a_paid_order_reverses_everything_it_earned(ledger_factory):
    ledger = ledger_factory(program(earning=BONUS))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 2), "75.00"),
                   cancel("o1", "c1", at(2025, 1, 3))])
    ledger.run(at(2025, 1, 4))
    assert entries(ledger, "c1")[2:] == [("reversal", -75, "earn.base"),
                                         ("reversal", -100, "welcome")]
    assert ledger.customer("c1").balance == 0


def test_a_cancelled_order_earns_nothing_and_counts_for_nothing(ledger_factory):
    tiers = {"levels": [{"id": "member"}, {"id": "silver", "qualify": {"paid_orders": 1}}]}
    ledger = ledger_factory(program(earning=BONUS, tiers=tiers))
    ledger.ingest([customer("c1", at(2025, 1, 1)), cancel("o1", "c1", at(2025, 1, 2))])
    ledger.run(at(2025, 1, 3))
    view = ledger.customer("c1")
    assert (view.balance, view.tier, view.segment) == (0, "member", "prospect")
    # the paid event arriving later (a flapping status) does not resurrect it
    ledger.ingest([paid("o1", "c1", at(2025, 1, 2), "75.00")])
    ledger.run(at(2025, 1, 4))
    assert ledger.customer("c1").balance == 0


def test_lots_expire_after_n_days_and_debits_spend_the_oldest_first(ledger_factory):
    redemption = {"rewards": [{"id": "r150", "points": 150, "discount": {
        "value_type": "fixed_amount", "value": "5.00"}}]}
    ledger = ledger_factory(program(expiry={"days": 30}, redemption=redemption))
    ledger.ingest([customer("c1", at(2025, 1, 1)),
                   paid("o1", "c1", at(2025, 1, 1), "100.00"),
                   paid("o2", "c1", at(2025, 1, 11), "100.00")])
    ledger.run(at(2025, 1, 20))
    ledger.redeem("c1", "r150", at=at(2025, 1, 20), redemption_id="x1")
    # 150 came out of o1's lot (100) then o2's (50): o1 has nothing left to expire
    ledger.run(at(2025, 2, 15))
    view = ledger.customer("c1")
    assert [(e.kind, e.points) for e in view.history] == [
        ("earn", 100), ("earn", 100), ("redemption", -150), ("expiry", -50)]
    assert view.balance == 0
    assert view.history[-1].effective_at == at(2025, 1, 11) + timedelta(days=30)


def test_a_debit_beyond_the_balance_floors_at_zero_and_records_the_forgiven_rest(
        ledger_factory):
    redemption = {"rewards": [{"id": "r80", "points": 80, "discount": {
        "value_type": "percentage", "value": "10"}}]}
    ledger = ledger_factory(program(redemption=redemption))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 1), "100.00")])
    ledger.run(at(2025, 1, 2))
    ledger.redeem("c1", "r80", at=at(2025, 1, 2), redemption_id="x1")
    ledger.ingest([refund("r1", "o1", at(2025, 1, 3), "100.00")])
    ledger.run(at(2025, 1, 4))
    last = ledger.customer("c1").history[-1]
    assert (last.kind, last.points, last.forgiven, last.balance_after) == ("reversal", -20, 80, 0)
    assert ledger.report().forgiven == 80


def test_redemption_is_refused_without_enough_points_and_is_idempotent(ledger_factory):
    redemption = {"rewards": [{"id": "r50", "points": 50, "discount": {
        "value_type": "fixed_amount", "value": "5.00", "valid_days": 7}}]}
    ledger = ledger_factory(program(redemption=redemption))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 1), "60.00")])
    ledger.run(at(2025, 1, 2))
    first = ledger.redeem("c1", "r50", at=at(2025, 1, 2), redemption_id="x1")
    again = ledger.redeem("c1", "r50", at=at(2025, 1, 2), redemption_id="x1")
    assert first == again and first.balance_after == 10
    with pytest.raises(RejectedError, match="50 points needed"):
        ledger.redeem("c1", "r50", at=at(2025, 1, 2), redemption_id="x2")
    with pytest.raises(RejectedError, match="unknown reward"):
        ledger.redeem("c1", "gold-bar", at=at(2025, 1, 2), redemption_id="x3")
    discounts = [i.command for i in ledger.pending_commands(kinds=["issue_discount"])]
    assert len(discounts) == 1
    assert discounts[0].code.startswith("LK-") and discounts[0].usage_limit == 1
    assert discounts[0].ends_at == at(2025, 1, 2) + timedelta(days=7)


def test_birthday_bonus_once_per_year_in_the_shops_timezone(ledger_factory):
    earning = {"base": {"amount": "1.00", "points": 1},
               "bonuses": [{"type": "birthday_month", "id": "bday", "points": 200}]}
    ledger = ledger_factory(program(earning=earning))
    ledger.ingest([
        customer("c1", at(2025, 1, 1), birthday=birthday(3)),
        # 2025-02-28 17:00 UTC is already March 1st in Shanghai
        paid("o1", "c1", at(2025, 3, 1, 1), "10.00"),
        paid("o2", "c1", at(2025, 3, 20), "10.00"),
        paid("o3", "c1", at(2026, 3, 5), "10.00")])
    ledger.run(at(2026, 4, 1))
    bonuses = [e.order_id for e in ledger.customer("c1").history if e.rule_id == "bday"]
    assert bonuses == ["o1", "o3"]
