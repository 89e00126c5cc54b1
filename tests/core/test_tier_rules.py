from loyaltykit.rules.tiers import Metrics, progress_to_next, qualified_index

from .builders import program

TIERS = {"levels": [
    {"id": "member"},
    {"id": "silver", "qualify": {"net_spend": "1000.00", "paid_orders": 5, "match": "any"}},
    {"id": "gold", "qualify": {"net_spend": "3000.00", "paid_orders": 12, "match": "all"}},
]}


def tiers():
    t = program(tiers=TIERS).tiers
    assert t is not None
    return t


def test_any_needs_one_threshold_all_needs_every_one():
    assert qualified_index(tiers(), Metrics(0, 5, 0), "CNY") == 1
    assert qualified_index(tiers(), Metrics(100000, 0, 0), "CNY") == 1
    assert qualified_index(tiers(), Metrics(300000, 11, 0), "CNY") == 1
    assert qualified_index(tiers(), Metrics(300000, 12, 0), "CNY") == 2


def test_progress_says_what_is_missing_for_the_next_tier():
    progress = progress_to_next(tiers(), 1, Metrics(288000, 10, 0), "CNY")
    assert str(progress) == "120.00 CNY more net spend and 2 more paid orders to gold"
    either = progress_to_next(tiers(), 0, Metrics(88000, 4, 0), "CNY")
    assert str(either) == "120.00 CNY more net spend or 1 more paid order to silver"
    assert str(progress_to_next(tiers(), 2, Metrics(0, 0, 0), "CNY")) == "top tier reached"
