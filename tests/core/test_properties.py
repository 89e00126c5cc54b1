"""Property tests: invariants that must hold for any history the generator can think of.

Each runs on every backend of tests/conftest.py (SQLite, and PostgreSQL when one is given),
each Hypothesis example on a new, empty ledger of its own (``scratch_ledger_url``). A
PostgreSQL ledger costs several times a SQLite one to open and to run, so it gets fewer
examples: SQLite explores the histories, PostgreSQL checks that it agrees on a sample.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyaltykit.events import OrderLine, PointsRedeemed
from loyaltykit.ledger import open_ledger
from loyaltykit.ledger import schema as t

from .builders import at, birthday, cancel, customer, paid, program, referral, refund
from .test_determinism import PROGRAM, ledger_rows

ScratchUrl = Callable[[], AbstractContextManager[str]]

REDEEM = {"rewards": [{"id": "r30", "points": 30, "discount": {
    "value_type": "fixed_amount", "value": "3.00"}}]}
# PROGRAM and more that depends on a customer's past: line multipliers, a campaign, caps
EARNING = {**PROGRAM["earning"],
           "multipliers": [*PROGRAM["earning"]["multipliers"],
                           {"type": "category", "id": "tea", "categories": ["tea"],
                            "factor": "1.5"}],
           "bonuses": [*PROGRAM["earning"]["bonuses"],
                       {"type": "campaign", "id": "spring", "points": 25,
                        "start": "2025-03-01", "end": "2025-05-31"}],
           "caps": {"per_order": 500, "per_customer_per_year": 1500}}
REFERRALS = {**PROGRAM["referrals"], "cap_per_referrer_per_year": 2}
START = at(2025, 1, 1)
BIRTHDAYS = [birthday(1), birthday(3, 15), birthday(6, 30)]


@st.composite
def histories(draw):
    n_customers = draw(st.integers(1, 4))
    events = [customer(f"c{i}", START, referral_code=f"C{i}",
                       birthday=draw(st.sampled_from([None, *BIRTHDAYS])))
              for i in range(n_customers)]
    codes = [f"C{i}" for i in range(n_customers)]
    for i in range(n_customers):  # a later version: a new code, or the first one back
        for n, version in enumerate(draw(st.lists(st.sampled_from(["new", "first", "phone"]),
                                                  max_size=2))):
            code = {"new": f"C{i}v{n}", "first": f"C{i}"}.get(version)
            if code is not None:
                codes.append(code)
            day = START + timedelta(days=draw(st.integers(0, 200)))
            events.append(customer(f"c{i}", day, referral_code=code or f"C{i}",
                                   phone="1" if version == "phone" else None,
                                   birthday=draw(st.sampled_from([None, *BIRTHDAYS]))))
    for i in range(1, n_customers):
        if draw(st.booleans()):
            day = START + timedelta(days=draw(st.sampled_from(range(0, 200, 20))))
            events.append(referral(f"c{i}", draw(st.sampled_from(codes)), day))
    for n in range(draw(st.integers(1, 12))):
        cid = f"c{draw(st.integers(0, n_customers - 1))}"
        when = START + timedelta(days=draw(st.integers(0, 200)), hours=draw(st.integers(0, 23)))
        cents = draw(st.integers(0, 60000))
        tea = draw(st.integers(0, cents))  # a tea line and another line, or no lines
        lines = (OrderLine("t1", Decimal(tea) / 100, 1, "tea"),
                 OrderLine("x1", Decimal(cents - tea) / 100, 1, "other"))
        events.append(paid(f"o{n}", cid, when, str(Decimal(cents) / 100),
                           lines if draw(st.booleans()) else ()))
        action = draw(st.sampled_from(["keep", "keep", "refund", "refund2", "cancel", "redeem"]))
        later = when + timedelta(days=draw(st.integers(0, 40)))
        if action == "cancel":
            events.append(cancel(f"o{n}", cid, later))
        elif action.startswith("refund") and cents:
            first = draw(st.integers(1, cents))
            events.append(refund(f"r{n}a", f"o{n}", later, str(Decimal(first) / 100)))
            if action == "refund2" and first < cents:
                events.append(refund(f"r{n}b", f"o{n}", later + timedelta(days=1),
                                     str(Decimal(cents - first) / 100)))
        elif action == "redeem":
            events.append(PointsRedeemed(f"x{n}", cid, later, "r30"))
    return events


# From April 15 a second version: calendar-year tiers by order count, 20-day expiry
V2_TIERS = {"window": {"type": "calendar_year"}, "retention": {"type": "none"},
            "levels": [{"id": "member"},
                       {"id": "gold", "qualify": {"paid_orders": 3},
                        "benefits": {"earn_multiplier": "2"}}]}


def make(url: str):
    v1 = program(**{**PROGRAM, "earning": EARNING, "referrals": REFERRALS}, redemption=REDEEM)
    v2 = program(**{**PROGRAM, "earning": EARNING, "referrals": REFERRALS, "tiers": V2_TIERS,
                    "expiry": {"days": 20}}, redemption=REDEEM, version=2,
                 effective_from="2025-04-15T00:00:00+08:00")
    return open_ledger(url, [v1, v2])


END = at(2025, 12, 31)

# Examples per test and backend.
EXAMPLES = {
    "sqlite": {"balances": 30, "replay": 20},
    "postgresql": {"balances": 8, "replay": 4},
}
# The incremental ledger's step between runs, in days. On PostgreSQL a run costs ~30 ms, so
# daily steps (365 runs, ~12 s, and Hypothesis always tries the smallest value first) would
# take most of the time the PostgreSQL half of this file may have; weekly steps still put
# runs between each timer's start and end (45-day expiry, 10-day referral delay, 7-day tier
# grace). SQLite keeps the daily steps.
STEP_DAYS = {"sqlite": st.integers(1, 30), "postgresql": st.integers(7, 30)}


def examples(backend: str, test: str) -> settings:
    return settings(max_examples=EXAMPLES[backend][test], deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def test_balances_equal_open_lots_and_never_go_negative(backend: str,
                                                        scratch_ledger_url: ScratchUrl):
    @examples(backend, "balances")
    @given(histories())
    def check(events):
        with scratch_ledger_url() as url, make(url) as ledger:
            ledger.ingest(events)
            ledger.run(END)
            with ledger.engine.connect() as conn:
                balances = dict(conn.execute(select(t.customers.c.customer_id,
                                                    t.customers.c.balance)).all())
                lots = dict(conn.execute(select(t.lots.c.customer_id,
                                                func.sum(t.lots.c.remaining))
                                         .group_by(t.lots.c.customer_id)).all())
                entry_sums = dict(conn.execute(select(t.entries.c.customer_id,
                                                      func.sum(t.entries.c.points))
                                               .group_by(t.entries.c.customer_id)).all())
            for cid, balance in balances.items():
                assert balance >= 0
                assert balance == (lots.get(cid) or 0) == (entry_sums.get(cid) or 0)
                history = ledger.customer(cid).history
                assert all(e.balance_after >= 0 for e in history)
                if history:
                    assert history[-1].balance_after == balance

    check()


def test_replay_twice_equals_once_and_incremental_equals_batch(backend: str,
                                                              scratch_ledger_url: ScratchUrl):
    @examples(backend, "replay")
    @given(histories(), STEP_DAYS[backend], st.sampled_from([20_000, 5]))
    def check(events, step_days, page_size):
        with scratch_ledger_url() as url, make(url) as batch:
            batch.ingest(events)
            batch.run(END, page_size=page_size)  # in pages: SQLite sets indexes aside
            once = ledger_rows(batch)
            batch.ingest(events)
            batch.run(END)
            assert ledger_rows(batch) == once
        with scratch_ledger_url() as url, make(url) as steps:
            ordered = sorted(events, key=lambda e: e.occurred_at)
            instant = START
            while instant < END:
                instant = min(instant + timedelta(days=step_days), END)
                steps.ingest([e for e in ordered if e.occurred_at <= instant])
                steps.run(instant)
            assert ledger_rows(steps) == once

    check()
