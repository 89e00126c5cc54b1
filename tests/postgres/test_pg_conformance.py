"""The testing kit's ledger-store conformance suite, on every backend the suite is given:
SQLite always, PostgreSQL with --db-url or LOYALTYKIT_TEST_PG_URL (see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from loyaltykit.ledger import Ledger, open_ledger
from loyaltykit.rules.program import Program
from loyaltykit.testing.conformance import LedgerStoreConformance


class TestLedgerStoreOnEveryBackend(LedgerStoreConformance):
    @pytest.fixture
    def make_ledger(self, ledger_url_factory: Callable[[], str]
                    ) -> Callable[[Sequence[Program]], Ledger]:
        return lambda programs: open_ledger(ledger_url_factory(), programs)
