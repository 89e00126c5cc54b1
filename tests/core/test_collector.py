"""A run collects garbage less often while it goes, and gives the process its settings back."""

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyaltykit.engine.collector import fewer_collections
from loyaltykit.ledger import open_ledger

from .builders import at, customer, paid, program


@pytest.fixture
def own_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(1234, 5, 6)  # an application's own settings
    yield (1234, 5, 6)
    gc.set_threshold(*before)


def test_a_run_raises_the_thresholds_and_restores_the_callers(
        tmp_path: Path, own_thresholds: tuple[int, int, int]) -> None:
    seen = []
    with open_ledger(tmp_path / "shop.db", program()) as ledger:
        ledger.ingest([customer(f"c{n}", at(2025, 1, 1)) for n in range(30)]
                      + [paid(f"o{n}", f"c{n}", at(2025, 1, 2), "10.00") for n in range(30)])
        ledger.run(at(2025, 1, 3), page_size=20, progress=lambda _: seen.append(gc.get_threshold()))
        assert ledger.customer("c29").balance == 10
    assert seen and all(t[0] > own_thresholds[0] for t in seen)
    assert gc.get_threshold() == own_thresholds


def test_the_settings_come_back_when_a_run_fails(
        tmp_path: Path, own_thresholds: tuple[int, int, int]) -> None:
    def fail(_: int) -> None:
        raise RuntimeError("the caller's progress bar broke")

    with open_ledger(tmp_path / "shop.db", program()) as ledger:
        ledger.ingest([customer("c1", at(2025, 1, 1))])
        with pytest.raises(RuntimeError):
            ledger.run(at(2025, 1, 3), progress=fail)
    assert gc.get_threshold() == own_thresholds


def test_overlapping_runs_restore_the_settings_when_the_last_one_ends(
        own_thresholds: tuple[int, int, int]) -> None:
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold() != own_thresholds  # the second run still goes
    second.__exit__(None, None, None)
    assert gc.get_threshold() == own_thresholds
