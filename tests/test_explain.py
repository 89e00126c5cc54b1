"""Explanations: every earning rule fired or not with the reason, customers' tier and referral
standing, agreement with what the engine recorded, and ``loyaltykit explain``."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from loyaltykit import open_ledger
from loyaltykit.errors import NotFoundError
from loyaltykit.rules.earning import Line
from loyaltykit.rules.explain import (
    CustomerFacts,
    OrderFacts,
    ReferralFacts,
    explain_customer,
    explain_order,
)
from loyaltykit.rules.loader import load_program
from loyaltykit.rules.program import Program
from loyaltykit.rules.tiers import Metrics
from loyaltykit.testing import discover, load_suite, memory_ledger, scenario_events
from loyaltykit.testing.cli import register
from loyaltykit.testing.facts import order_record

EXAMPLES = Path(__file__).parent.parent / "examples"
TAOBAO = load_program(EXAMPLES / "taobao-tea-shop" / "program.yaml")
SHOPIFY = load_program(EXAMPLES / "shopify-apparel" / "program.yaml")
SHANGHAI = timezone(timedelta(hours=8))

RICH = Program.model_validate({
    "id": "rich", "version": 1, "effective_from": "2025-01-01T00:00:00+08:00",
    "timezone": "Asia/Shanghai", "currency": "CNY",
    "earning": {
        "multipliers": [
            {"type": "member_day", "id": "month-end", "day_of_month": 31, "factor": 2},
            {"type": "category", "id": "teaware", "categories": ["teaware"], "factor": "1.5"},
            {"type": "date_window", "id": "double-11", "start": "2025-11-01",
             "end": "2025-11-11", "factor": 3}],
        "bonuses": [
            {"type": "first_order", "id": "welcome", "points": 100, "min_amount": "50"},
            {"type": "birthday_month", "id": "birthday", "points": 200},
            {"type": "campaign", "id": "spring", "points": 80, "start": "2025-02-01",
             "end": "2025-02-10"}],
        "caps": {"per_order": 1000, "per_customer_per_year": 5000}},
})


def facts(amount: int, when: datetime, **kw: object) -> OrderFacts:
    return OrderFacts(order_id="o9", customer_id="c", placed_at=when, amount_minor=amount,
                      **kw)  # type: ignore[arg-type]


def outcome(explained: object, rule_id: str) -> str:
    found = [o for o in explained.outcomes if o.rule_id == rule_id]  # type: ignore[attr-defined]
    assert len(found) == 1, f"no single outcome for {rule_id}"
    return str(found[0])


# --------------------------------------------------------------------------- orders


def test_a_gold_member_day_order_names_both_factors() -> None:
    explained = explain_order(TAOBAO, facts(100_00, datetime(2025, 3, 18, 20, tzinfo=SHANGHAI),
                                            tier="gold", first_paid_order_id="o1"))
    assert explained.points == 300
    assert explained.fired() == ["earn.base", "member-day", "tier.gold", "combine"]
    assert outcome(explained, "member-day") == \
        "[x] member-day: x2 member_day: 2025-03-18 is member day (the 18th)"
    assert outcome(explained, "welcome") == \
        "[ ] welcome: not the first paid order (that was o1)"


def test_the_day_is_the_shops_not_utc() -> None:
    late_utc = datetime(2025, 3, 17, 16, 30, tzinfo=timezone.utc)  # 00:30 on the 18th
    explained = explain_order(TAOBAO, facts(100_00, late_utc))
    assert explained.local_day == date(2025, 3, 18)
    assert "member-day" in explained.fired()


def test_rules_that_did_not_fire_say_why() -> None:
    april = datetime(2025, 4, 30, 12, tzinfo=SHANGHAI)
    explained = explain_order(RICH, facts(40_00, april, birthday=date(1990, 6, 1)))
    assert outcome(explained, "month-end") == (
        "[ ] month-end: x2 member_day: member day is the 31st; April 2025 has 30 days and "
        "clamp_to_month_end is false, so there is none this month")
    assert outcome(explained, "teaware") == \
        "[ ] teaware: x1.5 category: the order has no line items, so its categories are unknown"
    assert outcome(explained, "double-11") == \
        "[ ] double-11: x3 date_window: 2025-04-30 is outside 2025-11-01 to 2025-11-11"
    assert outcome(explained, "welcome") == \
        "[ ] welcome: 40.00 CNY is below the minimum of 50.00 CNY"
    assert outcome(explained, "birthday") == \
        "[ ] birthday: birthday month is June, the order is in April"
    assert outcome(explained, "spring") == \
        "[ ] spring: 2025-04-30 is outside the campaign, 2025-02-01 to 2025-02-10"


def test_line_rules_show_which_lines_matched() -> None:
    lines = (Line("cup", "teaware", 60_00), Line("leaf", "tea", 40_00))
    explained = explain_order(RICH, facts(100_00, datetime(2025, 5, 2, tzinfo=SHANGHAI),
                                          lines=lines, first_paid_order_id="o1"))
    assert explained.points == 130  # 60 x 1.5 + 40
    assert outcome(explained, "teaware") == \
        "[x] teaware: x1.5 category: 1 of 2 lines match teaware (60.00 CNY of the lines)"


def test_bonuses_already_given_and_caps_are_explained() -> None:
    june = datetime(2025, 6, 3, tzinfo=SHANGHAI)
    explained = explain_order(RICH, facts(
        900_00, june, birthday=date(1990, 6, 1), birthday_years=frozenset({2025}),
        first_paid_order_id="o1", year_earned_before=4_500))
    assert outcome(explained, "birthday") == \
        "[ ] birthday: already given for the birthday month of 2025"
    assert outcome(explained, "cap.per_customer_per_year") == (
        "[x] cap.per_customer_per_year: 4500 points earned earlier in 2025; 500 of the "
        "yearly 5000 left")
    assert explained.points == 500
    big = explain_order(RICH, facts(2_000_00, june, first_paid_order_id="o1"))
    assert outcome(big, "cap.per_order") == \
        "[x] cap.per_order: 2000 points exceed the cap of 1000 per order"
    assert big.points == 1000


def test_a_bonus_cut_by_the_yearly_cap_says_so() -> None:
    explained = explain_order(RICH, facts(50_00, datetime(2025, 2, 5, tzinfo=SHANGHAI),
                                          year_earned_before=4_900))
    assert explained.points == 50
    assert explained.bonuses == {"welcome": 50, "spring": 0}
    assert "(cut to 50 by the yearly cap)" in outcome(explained, "welcome")


def _histories() -> list[tuple[Program, list[object], datetime]]:
    found = []
    for path in discover([EXAMPLES]):
        suite = load_suite(path)
        for located in suite.scenarios:
            events, _ = scenario_events(located.scenario.given, suite.programs[0].currency)
            if events:
                end = max(e.occurred_at for e in events)
                found.append((suite.programs[0], list(events), end))
    return found


def test_explanations_agree_with_what_the_engine_recorded() -> None:
    """Every order of every example scenario: the rules, replayed from the ledger's facts,
    give exactly the points the engine credited."""
    checked = 0
    for program, events, end in _histories():
        with memory_ledger(program) as ledger:
            ledger.ingest(events)  # type: ignore[arg-type]
            ledger.run(end)
            for event in events:
                order_id = getattr(event, "order_id", None)
                if type(event).__name__ != "OrderPaid" or order_id is None:
                    continue
                record = order_record(ledger, order_id)
                credited = sum(e.points for e in record.entries if e.kind in ("earn", "bonus"))
                assert explain_order(record.program, record.facts).total == credited, order_id
                checked += 1
    assert checked > 100


# --------------------------------------------------------------------------- customers


def test_tier_qualification_is_shown_threshold_by_threshold() -> None:
    now = datetime(2025, 6, 1, tzinfo=SHANGHAI)
    explained = explain_customer(TAOBAO, CustomerFacts(
        "zhao", now, "member", metrics=Metrics(300_00, 3, 300),
        last_paid_at=now - timedelta(days=10)))
    tier = dict(explained.sections)["tier"]
    assert ("window (lifetime): the whole history; net spend 300.00 CNY, 3 paid orders, "
            "300 points") in tier
    assert ("silver: does not qualify (any: net spend 300.00 CNY of 500.00 CNY (200.00 CNY "
            "short) or paid orders 3 of 5 (2 short))") in tier
    assert "member: qualifies (all: paid orders 3 of 1 (met))" in tier
    assert "next: 200.00 CNY more net spend or 2 more paid orders to silver" in tier
    assert explained.qualified_tier == "member"
    assert dict(explained.sections)["segment"][0].startswith("active: last paid order 10 days")


def test_a_grace_period_shows_until_when_the_tier_is_kept() -> None:
    below = datetime(2026, 1, 15, 12, tzinfo=timezone(timedelta(hours=-5)))
    explained = explain_customer(SHOPIFY, CustomerFacts(
        "cara", below + timedelta(days=3), "vip", below_since=below, metrics=Metrics()))
    tier = dict(explained.sections)["tier"]
    assert "qualifies for insider; current tier vip" in tier
    assert ("below vip since 2026-01-15; the 30-day grace period keeps it until "
            "2026-02-14 12:00, then insider") in tier


def test_referral_status_is_explained_for_both_sides() -> None:
    now = datetime(2025, 4, 5, tzinfo=SHANGHAI)
    pending = ReferralFacts("he", "chen", "CHEN88", "pending")
    qualified = ReferralFacts("he", "chen", "CHEN88", "qualified", order_id="he-1",
                              due_at=datetime(2025, 4, 17, 10, tzinfo=SHANGHAI))
    flagged = ReferralFacts("alt", "chen", "CHEN88", "flagged",
                            reason="self_referral: same phone as the referrer")
    lines = dict(explain_customer(TAOBAO, CustomerFacts(
        "he", now, "member", referred=pending)).sections)["referrals"]
    assert lines[0] == ("referred by chen (code CHEN88): pending, waiting for a first paid "
                        "order of at least 50.00 CNY")
    lines = dict(explain_customer(TAOBAO, CustomerFacts(
        "he", now, "member", referred=qualified)).sections)["referrals"]
    assert lines[0] == ("referred by chen (code CHEN88): qualified by order he-1; the "
                        "referrer's reward is due 2025-04-17 10:00 (15-day delay) unless the "
                        "order is undone")
    lines = dict(explain_customer(TAOBAO, CustomerFacts(
        "chen", now, "member", referrals_made=(qualified, flagged),
        referrer_rewards_this_year=1)).sections)["referrals"]
    assert "referred 2 customers: 1 flagged, 1 qualified" in lines
    assert "  alt: flagged: self_referral: same phone as the referrer" in lines
    assert "referrer rewards in 2025: 1 of 20" in lines


# --------------------------------------------------------------------------- loyaltykit explain


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    suite = load_suite(EXAMPLES / "taobao-tea-shop" / "tests" / "referral.loyalty-test.yaml")
    events, _ = scenario_events(suite.scenarios[0].scenario.given, "CNY")
    path = tmp_path / "shop.db"
    with open_ledger(path, TAOBAO) as ledger:
        ledger.ingest(events)
        ledger.run(datetime(2025, 4, 10, tzinfo=SHANGHAI))
    return path


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """loyaltykit"""

    return app


def test_explain_an_order_from_a_ledger(ledger_file: Path) -> None:
    result = CliRunner().invoke(cli(), ["explain", "--db", str(ledger_file), "--order", "he-1"])
    assert result.exit_code == 0, result.output
    assert "order he-1 under mountain-tea@v1, placed on 2025-04-02 (shop time): 68 points " \
           "earned + 50 bonus" in result.output
    assert "[ ] member-day: x2 member_day: member day is the 18th; the order was placed on " \
           "the 2nd" in result.output
    assert "ledger: paid; +68 earn (earn.base), +50 bonus (welcome), +100 referral " \
           "(referral.referee)" in result.output
    assert "note:" not in result.output


def test_explain_a_customer_from_a_ledger(ledger_file: Path) -> None:
    result = CliRunner().invoke(cli(), ["explain", "--db", str(ledger_file), "--customer",
                                        "he", "--history"])
    assert result.exit_code == 0, result.output
    assert "referred by chen (code CHEN88): qualified by order he-1" in result.output
    assert "+100 referral (referral.referee, order he-1)" in result.output


def test_explain_needs_exactly_one_subject(ledger_file: Path) -> None:
    result = CliRunner().invoke(cli(), ["explain", "--db", str(ledger_file)])
    assert result.exit_code == 2
    assert "exactly one of --order ID or --customer ID" in result.output


def test_explain_an_unknown_order_is_not_found(ledger_file: Path) -> None:
    result = CliRunner().invoke(cli(), ["explain", "--db", str(ledger_file), "--order", "x"])
    assert isinstance(result.exception, NotFoundError)


def test_explain_notes_facts_that_changed_after_the_order(tmp_path: Path) -> None:
    """A birthday recorded after a June order: the rules would give the bonus today, the
    ledger did not then; the explanation says so instead of hiding it."""
    from loyaltykit.testing import EventBuilder

    new_york = timezone(timedelta(hours=-4))
    shop = EventBuilder(currency="USD", start=datetime(2025, 6, 2, 12, tzinfo=new_york))
    shop.order("eli", "40.00", order_id="5001")
    shop.customer("eli", birthday=date(1991, 6, 14), at=datetime(2025, 6, 3, tzinfo=new_york))
    path = tmp_path / "store.db"
    with open_ledger(path, SHOPIFY) as ledger:
        ledger.ingest(shop.events)
        ledger.run(datetime(2025, 6, 4, tzinfo=new_york))
    result = CliRunner().invoke(cli(), ["explain", "--db", str(path), "--order", "5001"])
    assert result.exit_code == 0, result.output
    assert "[x] birthday +250: first order in birthday month 2025-06" in result.output
    assert "note: the ledger credited 40 points; the rules give 290 from the facts known " \
           "now" in result.output
