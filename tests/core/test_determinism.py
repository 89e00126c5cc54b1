"""Same events, same ledger: batch or incremental, any delivery order, replayed twice."""

from datetime import timedelta

from sqlalchemy import select

from loyaltykit.ledger import schema as t

from .builders import at, birthday, cancel, customer, paid, program, referral, refund

PROGRAM = dict(
    earning={"base": {"amount": "1.00", "points": 1},
             "multipliers": [{"type": "member_day", "id": "md", "day_of_month": 30,
                              "factor": 2}],
             "bonuses": [{"type": "first_order", "id": "welcome", "points": 50},
                         {"type": "birthday_month", "id": "bday", "points": 80}]},
    tiers={"window": {"type": "rolling_days", "days": 60},
           "retention": {"type": "grace_period", "days": 7},
           "levels": [{"id": "member"},
                      {"id": "gold", "qualify": {"net_spend": "300.00"},
                       "benefits": {"earn_multiplier": "1.5"}}]},
    referrals={"referee_reward": {"type": "points", "points": 20},
               "referrer_reward": {"type": "points", "points": 40}, "referrer_delay_days": 10},
    expiry={"days": 45},
)

EVENTS = [
    customer("a", at(2025, 1, 1), referral_code="A", birthday=birthday(2)),
    customer("b", at(2025, 1, 5), phone="1"),
    referral("b", "A", at(2025, 1, 5)),
    paid("o1", "a", at(2025, 1, 30), "200.00"),
    paid("o2", "b", at(2025, 2, 1), "120.00"),
    paid("o3", "a", at(2025, 2, 3), "150.00"),
    refund("r1", "o3", at(2025, 2, 10), "60.00"),
    paid("o4", "b", at(2025, 2, 20), "99.99"),
    cancel("o4", "b", at(2025, 2, 21)),
    paid("o5", "a", at(2025, 4, 30), "80.00"),
    customer("b", at(2025, 5, 2), phone="2", email="b@example.com"),  # contact data changed
]


def ledger_rows(ledger):
    with ledger.engine.connect() as conn:
        entries = conn.execute(select(
            t.entries.c.entry_key, t.entries.c.points, t.entries.c.forgiven,
            t.entries.c.balance_after, t.entries.c.effective_at, t.entries.c.rule_id)
            .order_by(t.entries.c.entry_key)).all()
        tiers = conn.execute(select(t.tier_changes.c.change_key, t.tier_changes.c.to_tier)
                             .order_by(t.tier_changes.c.change_key)).all()
        lots = conn.execute(select(t.lots.c.lot_key, t.lots.c.remaining)
                            .order_by(t.lots.c.lot_key)).all()
        # every column: a saved row is updated in part, a new one inserted whole
        customers = conn.execute(select(t.customers).order_by(t.customers.c.customer_id)).all()
        orders = conn.execute(select(t.orders).order_by(t.orders.c.order_id)).all()
        referrals = conn.execute(select(t.referrals).order_by(t.referrals.c.referee_id)).all()
    return entries, tiers, lots, customers, orders, referrals


END = at(2025, 8, 1)


def test_incremental_runs_equal_one_batch(ledger_factory):
    batch = ledger_factory(program(**PROGRAM))
    batch.ingest(EVENTS)
    batch.run(END)

    incremental = ledger_factory(program(**PROGRAM))
    for event in EVENTS:
        incremental.run(event.occurred_at - timedelta(microseconds=1))
        incremental.ingest([event])
    instant = at(2025, 1, 1)
    while instant < END:
        instant += timedelta(days=3)
        incremental.run(min(instant, END))
    assert ledger_rows(incremental) == ledger_rows(batch)
    assert ledger_rows(batch)[0]  # the scenario produced entries at all


def test_delivery_order_and_duplicates_do_not_matter(ledger_factory):
    ordered = ledger_factory(program(**PROGRAM))
    ordered.ingest(EVENTS)
    ordered.run(END)
    shuffled = ledger_factory(program(**PROGRAM))
    shuffled.ingest(list(reversed(EVENTS)))
    shuffled.ingest(EVENTS[3:6])
    shuffled.run(END)
    shuffled.run(END)
    assert ledger_rows(shuffled) == ledger_rows(ordered)


def test_a_replay_in_small_pages_equals_one_page(ledger_factory):
    # Between pages a replay lets go of orders that left the tier window; a refund and a
    # cancellation months later must find them as they were.
    late = [refund("r9", "o1", at(2025, 6, 1), "50.00"), cancel("o2", "b", at(2025, 6, 2))]
    one_page = ledger_factory(program(**PROGRAM))
    one_page.ingest(EVENTS + late)
    one_page.run(END)
    small_pages = ledger_factory(program(**PROGRAM))
    small_pages.ingest(EVENTS + late)
    result = small_pages.run(END, page_size=2)
    assert result.rejected == 0
    assert ledger_rows(small_pages) == ledger_rows(one_page)
    assert order_rows(small_pages) == order_rows(one_page)
    reversals = [e.points for e in small_pages.customer("a").history if e.kind == "reversal"]
    assert reversals[-1] == -100  # o1 earned 400 (a member day, x2): 50.00 of 200.00 is 100


def order_rows(ledger):
    with ledger.engine.connect() as conn:
        return conn.execute(select(
            t.orders.c.order_id, t.orders.c.status, t.orders.c.refunded_minor,
            t.orders.c.earned, t.orders.c.reversed, t.orders.c.bonuses, t.orders.c.in_window)
            .order_by(t.orders.c.order_id)).all()


def test_lots_credited_in_a_run_are_spent_once_when_a_later_page_reads_the_stored_ones(
        ledger_factory):
    # A customer read from the ledger has their stored lots read only when points are spent
    # or expire. A lot credited earlier in the same run is then both in memory and saved
    # (by an earlier page): it must stay one lot, or the copy its expiry timer holds would
    # expire points a refund already took. (Version 1 lots never expire, so the run does
    # not read them at its start for a due expiry.)
    v1 = program(earning=PROGRAM["earning"])
    v2 = program(earning=PROGRAM["earning"], expiry={"days": 10}, version=2,
                 effective_from="2025-01-05T00:00:00+08:00")
    first = [customer("a", at(2025, 1, 1)), paid("o1", "a", at(2025, 1, 2), "100.00")]
    later = [paid("o2", "a", at(2025, 1, 6), "50.00"),  # a v2 lot, expiring on the 16th
             refund("r1", "o1", at(2025, 1, 7), "100.00"),
             refund("r2", "o2", at(2025, 1, 8), "50.00")]
    paged = ledger_factory(v1, v2)
    paged.ingest(first)
    paged.run(at(2025, 1, 3))
    paged.ingest(later)
    paged.run(END, page_size=1)  # o2's lot is saved before r1 reads the stored lots
    batch = ledger_factory(v1, v2)
    batch.ingest(first + later)
    batch.run(END)
    assert ledger_rows(paged) == ledger_rows(batch)
    view = paged.customer("a")
    assert view.balance == 0
    assert [e.points for e in view.history if e.kind == "expiry"] == []


def test_a_lot_expired_in_a_run_stays_spent_when_a_refund_then_reads_the_stored_lots(
        ledger_factory):
    # A run reads only the lots its due expiries name; a refund later in the same page
    # reads all the stored lots, which still hold the expired one open until the page is
    # saved. The expired lot must not come back for the refund to spend.
    first = [customer("a", at(2025, 1, 1)), paid("o1", "a", at(2025, 1, 2), "100.00"),
             paid("o2", "a", at(2025, 1, 20), "50.00")]
    later = [refund("r2", "o2", at(2025, 2, 25), "50.00")]  # o1's lot expired on 2-16
    paged = ledger_factory(program(**PROGRAM))
    paged.ingest(first)
    paged.run(at(2025, 1, 21))
    paged.ingest(later)
    paged.run(at(2025, 2, 26))
    batch = ledger_factory(program(**PROGRAM))
    batch.ingest(first + later)
    batch.run(at(2025, 2, 26))
    assert ledger_rows(paged) == ledger_rows(batch)
    view = paged.customer("a")
    assert view.balance == 0
    # the welcome bonus and o1 expire on 2-16, the refund takes o2's lot
    assert [e.points for e in view.history if e.kind in ("expiry", "reversal")] == [-50, -100, -50]


def test_many_orders_leaving_the_window_at_once_after_a_reload(ledger_factory):
    # A customer read from the ledger has the orders leaving their tier window read as
    # they leave, a few rows at a time; twenty leaving at one instant must all leave.
    orders = [paid(f"o{n}", "a", at(2025, 1, 1), "30.00") for n in range(20)]
    events = [customer("a", at(2025, 1, 1)), *orders]
    reloaded = ledger_factory(program(**PROGRAM))
    reloaded.ingest(events)
    reloaded.run(at(2025, 1, 2))
    assert reloaded.customer("a").tier == "gold"
    reloaded.run(at(2025, 5, 1))
    batch = ledger_factory(program(**PROGRAM))
    batch.ingest(events)
    batch.run(at(2025, 5, 1))
    assert ledger_rows(reloaded) == ledger_rows(batch)
    assert reloaded.customer("a").tier == "member"  # 60-day window, 7 days' grace


def test_a_referral_code_given_up_finds_no_owner_in_one_run_as_across_runs(ledger_factory):
    # A referral code a customer replaced belongs to nobody from then on: a referral
    # through it is flagged whether the change was saved by an earlier run or is still in
    # this run's memory.
    events = [customer("a", at(2025, 1, 1), referral_code="A"),
              customer("a", at(2025, 1, 2), referral_code="A2"),
              customer("b", at(2025, 1, 3)), referral("b", "A", at(2025, 1, 3)),
              customer("c", at(2025, 1, 3)), referral("c", "A2", at(2025, 1, 3))]
    batch = ledger_factory(program(**PROGRAM))
    batch.ingest(events)
    batch.run(END)
    runs = ledger_factory(program(**PROGRAM))
    runs.ingest(events)
    runs.run(at(2025, 1, 2, 12))
    runs.run(END)
    assert ledger_rows(runs) == ledger_rows(batch)
    for ledger in (batch, runs):
        assert ledger.customer("b").referred_by[1:] == (
            "flagged", "unknown_referral_code: no customer has code 'A'")
        assert ledger.customer("c").referred_by[:2] == ("a", "pending")


def test_a_change_reverted_later_ends_reverted_in_any_delivery(ledger_factory):
    # e-mail A, then B, then A again: the last version wins, whether the three arrive in
    # one batch, one at a time with runs between, or backwards in one batch; re-deliveries
    # are duplicates
    versions = [customer("b", at(2025, 1, day), email=email)
                for day, email in ((1, "a@example.com"), (2, "b@example.com"),
                                   (3, "a@example.com"))]
    deliveries = {"batch": [versions], "one by one": [[v] for v in versions],
                  "backwards": [versions[::-1]]}
    rows = {}
    for name, batches in deliveries.items():
        ledger = ledger_factory(program(**PROGRAM))
        for batch in batches:
            assert ledger.ingest(batch).new == len(batch)
            ledger.run(END)
        assert ledger.ingest(versions).duplicate == 3
        with ledger.engine.connect() as conn:
            assert conn.execute(select(t.customers.c.email)).scalar() == "a@example.com"
        rows[name] = ledger_rows(ledger)
    assert rows["one by one"] == rows["batch"] == rows["backwards"]


def test_an_older_version_delivered_after_a_newer_one_changes_nothing(ledger_factory):
    # webhooks arrive out of order: the e-mail of the 3rd is processed, then the 2nd's
    # version comes in; the 3rd's stays in effect, as if both had come in order
    first, older, newer = (customer("b", at(2025, 1, day), email=f"{day}@example.com")
                           for day in (1, 2, 3))
    late = ledger_factory(program(**PROGRAM))
    late.ingest([first, newer])
    late.run(at(2025, 1, 4))
    late.ingest([older])
    late.run(at(2025, 1, 5))
    in_order = ledger_factory(program(**PROGRAM))
    in_order.ingest([first, older, newer])
    in_order.run(at(2025, 1, 5))
    with late.engine.connect() as conn:
        assert conn.execute(select(t.customers.c.email)).scalar() == "3@example.com"
    assert ledger_rows(late) == ledger_rows(in_order)


def test_versions_at_one_instant_the_later_import_wins_with_runs_between(ledger_factory):
    # canonical customers.csv dates every version of a row at its created_at: imported
    # file by file with the clock run between, the later file wins, and a column that
    # changes with every edit tells a change back (A, B, A) from the first A again
    def emails(*versions):
        ledger = ledger_factory(program(**PROGRAM))
        for email, edited in versions:
            attributes = {"updated_at": edited} if edited else {}
            ledger.ingest([customer("b", at(2025, 1, 1), email=email, attributes=attributes)])
            ledger.run(END)
        with ledger.engine.connect() as conn:
            return conn.execute(select(t.customers.c.email)).scalar()

    assert emails(("a@example.com", None), ("b@example.com", None)) == "b@example.com"
    assert emails(("b@example.com", None), ("a@example.com", None)) == "a@example.com"
    assert emails(("a@example.com", "1"), ("b@example.com", "2"),
                  ("a@example.com", "3")) == "a@example.com"
