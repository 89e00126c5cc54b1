"""Program versions apply from their effective date; earlier points keep their version."""

import pytest

from loyaltykit.errors import ConfigurationError

from .builders import at, customer, paid, program, refund

V1 = {"base": {"amount": "1.00", "points": 1}}
V2 = {"base": {"amount": "1.00", "points": 3}}


def test_new_version_applies_from_its_date_and_reversals_use_the_earning_version(
        ledger_factory):
    v1 = program(earning=V1)
    v2 = program(earning=V2, version=2, effective_from="2025-06-01T00:00:00+08:00")
    ledger = ledger_factory(v1, v2)
    ledger.ingest([customer("c1", at(2025, 1, 1)),
                   paid("o1", "c1", at(2025, 5, 31, 23, 59), "100.00"),
                   paid("o2", "c1", at(2025, 6, 1, 0, 0), "100.00"),
                   refund("r1", "o1", at(2025, 6, 10), "50.00")])
    ledger.run(at(2025, 7, 1))
    history = [(e.kind, e.points, e.program_version) for e in ledger.customer("c1").history]
    assert history == [("earn", 100, 1), ("earn", 300, 2), ("reversal", -50, 1)]


def test_changing_a_published_version_is_refused(ledger_factory):
    ledger = ledger_factory(program(earning=V1))
    with pytest.raises(ConfigurationError, match="new version number"):
        ledger.install(program(earning=V2))
    assert ledger.install(program(earning=V1)) is False


def test_orders_before_the_first_version_earn_nothing(ledger_factory):
    ledger = ledger_factory(program(earning=V1, effective_from="2025-03-01T00:00:00+08:00"))
    ledger.ingest([customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 2, 1), "100.00"),
                   paid("o2", "c1", at(2025, 3, 2), "10.00")])
    ledger.run(at(2025, 4, 1))
    assert [e.points for e in ledger.customer("c1").history] == [10]
