"""Tiers through the ledger: windows, retention, refunds lowering qualifying spend, tags."""

from datetime import timedelta

from .builders import at, customer, paid, program, refund

LEVELS = [
    {"id": "member"},
    {"id": "gold", "qualify": {"net_spend": "1000.00"},
     "benefits": {"earn_multiplier": "2", "tags": ["tier-gold"]}},
]


def tier_at(ledger, cid, when):
    ledger.run(when)
    return ledger.customer(cid).tier


def test_rolling_window_downgrades_exactly_when_the_spend_leaves_it(ledger_factory):
    tiers = {"window": {"type": "rolling_days", "days": 30}, "levels": LEVELS}
    ledger = ledger_factory(program(tiers=tiers))
    placed = at(2025, 1, 10)
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", placed, "1000.00")])
    assert tier_at(ledger, "c1", placed) == "gold"
    assert tier_at(ledger, "c1", placed + timedelta(days=30) - timedelta(seconds=1)) == "gold"
    assert tier_at(ledger, "c1", placed + timedelta(days=30)) == "member"
    changes = ledger.customer("c1").tier_history
    assert [(c[1], c[2]) for c in changes] == [(None, "member"), ("member", "gold"),
                                               ("gold", "member")]
    assert changes[-1][0] == placed + timedelta(days=30)


def test_stored_orders_leave_the_window_one_by_one_in_later_runs(ledger_factory):
    # Each run after the first reads the customer back and only the orders leaving.
    tiers = {"window": {"type": "rolling_days", "days": 30}, "levels": LEVELS}
    ledger = ledger_factory(program(tiers=tiers))
    start = at(2025, 1, 1)
    ledger.ingest([customer("c1", start)] + [
        paid(f"o{n}", "c1", start + timedelta(days=5 * n), "300.00") for n in range(8)])
    assert tier_at(ledger, "c1", start + timedelta(days=36)) == "gold"  # days 10..35: 1800
    ledger.ingest([refund("r5", "o5", start + timedelta(days=37), "300.00")])  # day 25
    expected = {37: ("gold", None), 41: ("gold", None), 46: ("member", "100.00"),
                51: ("member", "400.00"), 66: ("member", "1000.00")}
    for day, (tier, missing) in expected.items():
        assert tier_at(ledger, "c1", start + timedelta(days=day, hours=1)) == tier, day
        if missing:
            assert str(ledger.customer("c1").progress) == \
                f"{missing} CNY more net spend to gold", day


def test_grace_period_delays_the_downgrade_and_requalifying_cancels_it(ledger_factory):
    tiers = {"window": {"type": "rolling_days", "days": 30},
             "retention": {"type": "grace_period", "days": 10}, "levels": LEVELS}
    ledger = ledger_factory(program(tiers=tiers))
    ledger.ingest([customer("c1", at(2025, 1, 1)), customer("c2", at(2025, 1, 1)),
                   paid("o1", "c1", at(2025, 1, 10), "1000.00"),
                   paid("o2", "c2", at(2025, 1, 10), "1000.00"),
                   paid("o3", "c2", at(2025, 2, 14), "1000.00")])
    assert tier_at(ledger, "c1", at(2025, 2, 9)) == "gold"       # below since Feb 9, graced
    assert tier_at(ledger, "c1", at(2025, 2, 19, 11)) == "gold"
    assert tier_at(ledger, "c1", at(2025, 2, 19, 12)) == "member"  # 10 days after Feb 9 12:00
    assert ledger.customer("c2").tier == "gold"                    # requalified in the grace
    assert [c[2] for c in ledger.customer("c2").tier_history] == ["member", "gold"]


def test_refunds_lower_the_spend_that_qualified(ledger_factory):
    ledger = ledger_factory(program(tiers={"levels": LEVELS}))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 2), "1000.00"),
                   refund("r1", "o1", at(2025, 1, 5), "0.01")])
    assert tier_at(ledger, "c1", at(2025, 1, 3)) == "gold"
    assert tier_at(ledger, "c1", at(2025, 1, 6)) == "member"
    assert str(ledger.customer("c1").progress) == "0.01 CNY more net spend to gold"


def test_calendar_year_window_resets_on_new_year_in_the_shops_timezone(ledger_factory):
    tiers = {"window": {"type": "calendar_year"}, "levels": LEVELS}
    ledger = ledger_factory(program(tiers=tiers))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 6, 1), "1000.00")])
    assert tier_at(ledger, "c1", at(2025, 12, 31, 23, 59)) == "gold"
    assert tier_at(ledger, "c1", at(2026, 1, 1, 0, 0)) == "member"


def test_tier_multiplier_applies_to_orders_after_the_upgrade_and_tags_are_pushed(
        ledger_factory):
    ledger = ledger_factory(program(tiers={"levels": LEVELS}))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 2), "1000.00"),
                   paid("o2", "c1", at(2025, 1, 3), "100.00")])
    ledger.run(at(2025, 1, 4))
    assert [e.points for e in ledger.customer("c1").history] == [1000, 200]
    tags = [i.command for i in ledger.pending_commands(kinds=["set_customer_tags"])]
    assert [(c.add, c.remove) for c in tags] == [(("tier-gold",), ())]


def test_points_earned_qualification_counts_net_points_in_the_window(ledger_factory):
    levels = [{"id": "member"}, {"id": "star", "qualify": {"points_earned": 500}}]
    ledger = ledger_factory(program(tiers={"levels": levels}))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 2), "600.00"),
                   refund("r1", "o1", at(2025, 1, 3), "200.00")])
    assert tier_at(ledger, "c1", at(2025, 1, 2, 13)) == "star"
    assert tier_at(ledger, "c1", at(2025, 1, 4)) == "member"   # 600 - 200 reversed = 400
