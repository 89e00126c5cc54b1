"""Timers fire in (due, kind, reference) order, whichever way an expiry was queued."""

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from loyaltykit.engine.postings import TIMER_EXPIRE, TIMER_REFERRAL, TIMER_REVIEW, Timers
from loyaltykit.engine.state import Lot

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)

timers_to_push = st.lists(st.tuples(
    st.sampled_from([TIMER_EXPIRE, TIMER_EXPIRE, TIMER_REFERRAL, TIMER_REVIEW]),
    st.integers(0, 6),  # due, in hours: many ties
    st.sampled_from(["a", "ab", "b", "c1"]),  # customers, one a prefix of another
    st.integers(0, 3)), max_size=40)


@given(timers_to_push, st.integers(0, 7))
def test_timers_come_out_in_due_kind_reference_order(pushed, limit_hours):
    timers, expected = Timers(), []
    for n, (kind, hours, customer, lot) in enumerate(pushed):
        due = T0 + timedelta(hours=hours)
        if kind == TIMER_EXPIRE:
            key = f"o{lot}-{n}:earn"
            timers.push_expiry(Lot(key, customer, T0, due, 10, 10, 1))
            expected.append((due, kind, f"{customer}\x00{key}"))
        else:
            ref = f"{customer}-{n}"
            timers.push(due, kind, ref)
            expected.append((due, kind, ref))
    limit = T0 + timedelta(hours=limit_hours)
    fired = [(due, kind, ref if isinstance(ref, str) else f"{ref.customer_id}\x00{ref.lot_key}")
             for due, kind, ref in timers.due_by(limit)]
    assert fired == sorted(e for e in expected if e[0] <= limit)
    assert len(timers) == sum(1 for e in expected if e[0] > limit)
