"""pytest plugin: every scenario of a ``*.loyalty-test.yaml`` file is a test item.

Installing loyaltykit registers this module under the ``pytest11`` entry point, so::

    pytest examples/

runs the scenario files there next to ordinary Python tests, with ``-k``, ``-x``, xdist and
JUnit reports working as usual. Programs that carry inline ``tests:`` are collected when
listed in the ini option ``loyaltykit_programs`` (glob patterns relative to the rootdir)::

    [tool.pytest.ini_options]
    loyaltykit_programs = ["loyalty/program.yaml"]

A failing scenario prints each expectation that did not hold (expected and actual), then
the trace of the decision: the ledger entries with their reasons, tier changes, refused
events and, for orders with unexpected points, every earning rule and why it fired or not.
Disable the plugin with ``-p no:loyaltykit``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loyaltykit.errors import ConfigurationError, ProgramError
from loyaltykit.rules.program import Program
from loyaltykit.rules.scenarios import Scenario
from loyaltykit.testing.runner import ScenarioResult, run_scenario
from loyaltykit.testing.scenario_files import is_scenario_file, load_suite
from loyaltykit.testing.trace import failure_text

_PROGRAMS = pytest.StashKey[frozenset[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("loyaltykit_programs", type="linelist", default=[],
                  help="loyaltykit: program files (globs, relative to the rootdir) whose "
                       "inline tests are collected")


def pytest_configure(config: pytest.Config) -> None:
    patterns: list[str] = config.getini("loyaltykit_programs")
    root = config.rootpath
    config.stash[_PROGRAMS] = frozenset(
        path.resolve() for pattern in patterns for path in root.glob(pattern))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_scenario_file(file_path) or file_path.resolve() in parent.config.stash[_PROGRAMS]:
        collector: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
        return collector
    return None


class ScenarioFailed(Exception):
    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.name)
        self.result = result


class ScenarioFile(pytest.File):
    """A scenario file, or a program with inline tests."""

    def collect(self) -> Iterator[ScenarioItem]:
        suite = load_suite(self.path)
        for located in suite.scenarios:
            yield ScenarioItem.from_parent(self, name=located.scenario.name,
                                           scenario=located.scenario,
                                           programs=suite.programs, line=located.line)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None,
    ) -> str | Any:
        if isinstance(excinfo.value, ProgramError):
            return "\n".join(str(d) for d in excinfo.value.diagnostics)
        return super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, programs: tuple[Program, ...], line: int,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.programs = programs
        self.line = line

    def runtest(self) -> None:
        result = run_scenario(self.programs, self.scenario)
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None,
    ) -> str | Any:
        error = excinfo.value
        where = f"{self.path.name}:{self.line}"
        if isinstance(error, ScenarioFailed):
            result = error.result
            return failure_text(result.name, where, result.mismatches, result.trace)
        if isinstance(error, ConfigurationError):
            return f"scenario {self.scenario.name!r} ({where}) cannot run: {error}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.line - 1, f"scenario: {self.scenario.name}"
