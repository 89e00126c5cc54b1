"""Testing kit: write a shop's history in a few lines and check what the ledger makes of it.

- :class:`EventBuilder` builds customers, orders, refunds and referrals with sensible
  defaults on an explicit clock;
- :func:`memory_ledger` is a real :class:`~loyaltykit.ledger.Ledger` in memory;
- :func:`run_scenario` and :func:`load_suite` run scenario tests (``*.loyalty-test.yaml``
  files and programs' inline ``tests``), which the pytest plugin
  (:mod:`loyaltykit.testing.plugin`) and ``loyaltykit test`` collect;
- the conformance suites for ledger stores and adapters are in
  :mod:`loyaltykit.testing.conformance` (they import pytest, so they are not imported here).
"""

from loyaltykit.testing.builders import EventBuilder, line, money
from loyaltykit.testing.ledger import memory_ledger
from loyaltykit.testing.runner import ScenarioResult, run_scenario, scenario_events
from loyaltykit.testing.scenario_files import Suite, discover, load_suite

__all__ = [
    "EventBuilder",
    "ScenarioResult",
    "Suite",
    "discover",
    "line",
    "load_suite",
    "memory_ledger",
    "money",
    "run_scenario",
    "scenario_events",
]
