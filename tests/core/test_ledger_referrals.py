"""Referrals: trigger on a first big-enough order, delayed referrer reward, caps, flags."""

from datetime import timedelta

from .builders import at, customer, paid, program, referral, refund

REFERRALS = {
    "trigger": {"min_order_amount": "50.00"},
    "referee_reward": {"type": "points", "points": 200},
    "referrer_reward": {"type": "points", "points": 300},
    "referrer_delay_days": 14,
    "cap_per_referrer_per_year": 2,
}


def setup(ledger_factory, **overrides):
    ledger = ledger_factory(program(referrals={**REFERRALS, **overrides}))
    ledger.ingest([customer("alice", at(2025, 1, 1), email="alice@x.com", phone="13800000001",
                            address="1 Tea Road", referral_code="ALICE")])
    return ledger


def status(ledger, referee):
    return ledger.customer(referee).referred_by


def test_referrer_is_rewarded_only_after_the_delay(ledger_factory):
    ledger = setup(ledger_factory)
    order_at = at(2025, 2, 1)
    ledger.ingest([customer("bob", at(2025, 1, 20), phone="13900000002"),
                   referral("bob", "ALICE", at(2025, 1, 20)),
                   paid("b1", "bob", order_at, "49.99"),    # below the minimum: no trigger
                   paid("b2", "bob", order_at + timedelta(days=1), "80.00")])
    ledger.run(order_at + timedelta(days=14))
    assert ledger.customer("bob").balance == 49 + 80 + 200
    assert ledger.customer("alice").balance == 0
    assert status(ledger, "bob") == ("alice", "qualified", None)
    ledger.run(order_at + timedelta(days=15))
    assert ledger.customer("alice").balance == 300
    alice_entry = ledger.customer("alice").history[-1]
    assert alice_entry.rule_id == "referral.referrer"
    assert alice_entry.effective_at == order_at + timedelta(days=15)
    assert ledger.report().top_referrers == [
        {"customer_id": "alice", "rewarded_referrals": 1, "points": 300}]


def test_a_fully_refunded_trigger_order_voids_the_referrer_reward(ledger_factory):
    ledger = setup(ledger_factory)
    ledger.ingest([customer("bob", at(2025, 1, 20)), referral("bob", "ALICE", at(2025, 1, 20)),
                   paid("b1", "bob", at(2025, 2, 1), "80.00"),
                   refund("r1", "b1", at(2025, 2, 10), "80.00")])
    ledger.run(at(2025, 3, 1))
    assert ledger.customer("alice").balance == 0
    assert ledger.customer("bob").balance == 0       # the referee reward went with the order
    referee, referrer, state, reason = (
        ledger.report().flagged_referrals[0][k]
        for k in ("referee_id", "referrer_id", "status", "reason"))
    assert (referee, referrer, state) == ("bob", "alice", "void")
    assert "fully refunded" in reason


def test_self_referral_by_phone_is_flagged_with_its_reason_not_paid(ledger_factory):
    ledger = setup(ledger_factory)
    ledger.ingest([customer("alt", at(2025, 1, 20), phone="+86 138-0000-0001"),
                   referral("alt", "ALICE", at(2025, 1, 20)),
                   paid("a1", "alt", at(2025, 2, 1), "100.00")])
    ledger.run(at(2025, 3, 1))
    assert status(ledger, "alt") == ("alice", "flagged",
                                     "self_referral: same phone as the referrer")
    assert ledger.customer("alice").balance == 0
    assert ledger.customer("alt").balance == 100


def test_unknown_codes_and_existing_customers_are_flagged(ledger_factory):
    ledger = setup(ledger_factory)
    ledger.ingest([customer("bob", at(2025, 1, 20)), referral("bob", "NOPE", at(2025, 1, 20)),
                   customer("old", at(2025, 1, 2)), paid("x1", "old", at(2025, 1, 3), "60.00"),
                   referral("old", "ALICE", at(2025, 1, 10))])
    ledger.run(at(2025, 3, 1))
    reasons = {r["referee_id"]: r["reason"] for r in ledger.report().flagged_referrals}
    assert reasons["bob"].startswith("unknown_referral_code")
    assert reasons["old"].startswith("not_new_customer")


def test_referrer_cap_per_calendar_year_flags_the_excess(ledger_factory):
    ledger = setup(ledger_factory)
    for i in range(3):
        ledger.ingest([customer(f"f{i}", at(2025, 3, 1)), referral(f"f{i}", "ALICE",
                                                                   at(2025, 3, 1)),
                       paid(f"o{i}", f"f{i}", at(2025, 3, 2 + i), "60.00")])
    ledger.ingest([customer("g", at(2026, 1, 1)), referral("g", "ALICE", at(2026, 1, 1)),
                   paid("og", "g", at(2026, 1, 2), "60.00")])
    ledger.run(at(2026, 2, 1))
    assert ledger.customer("alice").balance == 3 * 300   # 2 in 2025, 1 in 2026
    flagged = ledger.report().flagged_referrals
    assert [(r["referee_id"], r["reason"][:20]) for r in flagged] == [
        ("f2", "referrer_cap_reached")]


def test_discount_rewards_go_to_the_outbox_with_stable_codes(ledger_factory):
    ledger = setup(ledger_factory, referee_reward={
        "type": "discount", "discount": {"value_type": "percentage", "value": "15"}},
        referrer_delay_days=0)
    ledger.ingest([customer("bob", at(2025, 1, 20)), referral("bob", "ALICE", at(2025, 1, 20)),
                   paid("b1", "bob", at(2025, 2, 1), "80.00")])
    ledger.run(at(2025, 2, 2))
    commands = [i.command for i in ledger.pending_commands(kinds=["issue_discount"])]
    assert [(c.customer_id, c.value_type, str(c.value)) for c in commands] == [
        ("bob", "percentage", "15")]
    assert ledger.customer("alice").balance == 300
