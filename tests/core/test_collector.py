"""A run holds the garbage collector back while it goes (a long one pauses it), and gives
the process its settings back."""

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyaltykit.engine.collector import held_back_collector, paused_collector
from loyaltykit.ledger import open_ledger

from .builders import at, customer, paid, program

OWN = (1234, 5, 6)  # an application's own thresholds


@pytest.fixture(params=[True, False], ids=["caller-enabled", "caller-disabled"])
def callers_setting(request: pytest.FixtureRequest) -> Iterator[bool]:
    before, thresholds = gc.isenabled(), gc.get_threshold()
    (gc.enable if request.param else gc.disable)()
    gc.set_threshold(*OWN)
    yield request.param
    (gc.enable if before else gc.disable)()
    gc.set_threshold(*thresholds)


def settings() -> tuple[bool, tuple[int, int, int]]:
    return gc.isenabled(), gc.get_threshold()


def test_a_long_run_pauses_the_collector_and_restores_the_callers_settings(
        tmp_path: Path, callers_setting: bool) -> None:
    seen = []
    with open_ledger(tmp_path / "shop.db", program()) as ledger:
        ledger.ingest([customer(f"c{n}", at(2025, 1, 1)) for n in range(30)]
                      + [paid(f"o{n}", f"c{n}", at(2025, 1, 2), "10.00") for n in range(30)])
        ledger.run(at(2025, 1, 3), page_size=20, progress=lambda _: seen.append(settings()))
        assert ledger.customer("c29").balance == 10
    first, *later = seen  # after the first page, after each of the others
    assert first == (callers_setting, (50_000, 20, 100))
    assert later and all(s == (False, (50_000, 20, 100)) for s in later)
    assert settings() == (callers_setting, OWN)


def test_a_short_run_only_raises_the_thresholds(tmp_path: Path, callers_setting: bool) -> None:
    seen = []
    with open_ledger(tmp_path / "shop.db", program()) as ledger:
        ledger.ingest([customer("c1", at(2025, 1, 1))])
        ledger.run(at(2025, 1, 3), progress=lambda _: seen.append(settings()))
    assert seen == [(callers_setting, (50_000, 20, 100))]
    assert settings() == (callers_setting, OWN)


def test_the_settings_come_back_when_a_long_run_fails(tmp_path: Path,
                                                       callers_setting: bool) -> None:
    seen = []

    def fail(_: int) -> None:
        seen.append(settings())
        if len(seen) == 2:
            raise RuntimeError("the caller's progress bar broke")

    with open_ledger(tmp_path / "shop.db", program()) as ledger:
        ledger.ingest([customer(f"c{n}", at(2025, 1, 1)) for n in range(3)])
        with pytest.raises(RuntimeError):
            ledger.run(at(2025, 1, 3), page_size=2, progress=fail)
    assert seen[-1] == (False, (50_000, 20, 100))  # it failed with the collector paused
    assert settings() == (callers_setting, OWN)


def test_overlapping_runs_restore_the_settings_when_the_last_one_ends(
        callers_setting: bool) -> None:
    long, short = paused_collector(), held_back_collector()
    long.__enter__()
    short.__enter__()
    short.__exit__(None, None, None)
    assert settings() == (False, (50_000, 20, 100))  # the long run still goes
    short = held_back_collector()
    short.__enter__()
    long.__exit__(None, None, None)
    assert settings() == (callers_setting, (50_000, 20, 100))  # the short one still goes
    short.__exit__(None, None, None)
    assert settings() == (callers_setting, OWN)
