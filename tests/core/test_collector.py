"""A run pauses the garbage collector while it goes, and gives the process its setting back."""

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyaltykit.engine.collector import paused_collector
from loyaltykit.ledger import open_ledger

from .builders import at, customer, paid, program


@pytest.fixture(params=[True, False], ids=["caller-enabled", "caller-disabled"])
def callers_setting(request: pytest.FixtureRequest) -> Iterator[bool]:
    before = gc.isenabled()
    (gc.enable if request.param else gc.disable)()  # the application's own setting
    yield request.param
    (gc.enable if before else gc.disable)()


def test_a_run_pauses_the_collector_and_restores_the_callers_setting(
        tmp_path: Path, callers_setting: bool) -> None:
    seen = []
    with open_ledger(tmp_path / "shop.db", program()) as ledger:
        ledger.ingest([customer(f"c{n}", at(2025, 1, 1)) for n in range(30)]
                      + [paid(f"o{n}", f"c{n}", at(2025, 1, 2), "10.00") for n in range(30)])
        ledger.run(at(2025, 1, 3), page_size=20, progress=lambda _: seen.append(gc.isenabled()))
        assert ledger.customer("c29").balance == 10
    assert seen and not any(seen)
    assert gc.isenabled() == callers_setting


def test_the_setting_comes_back_when_a_run_fails(tmp_path: Path, callers_setting: bool) -> None:
    def fail(_: int) -> None:
        raise RuntimeError("the caller's progress bar broke")

    with open_ledger(tmp_path / "shop.db", program()) as ledger:
        ledger.ingest([customer("c1", at(2025, 1, 1))])
        with pytest.raises(RuntimeError):
            ledger.run(at(2025, 1, 3), progress=fail)
    assert gc.isenabled() == callers_setting


def test_overlapping_runs_restore_the_setting_when_the_last_one_ends(
        callers_setting: bool) -> None:
    first, second = paused_collector(), paused_collector()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second run still goes
    second.__exit__(None, None, None)
    assert gc.isenabled() == callers_setting
