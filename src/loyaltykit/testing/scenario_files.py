"""Finding and reading scenario tests: ``*.loyalty-test.yaml`` files and programs' inline tests.

A scenario file names the program it tests by a path relative to itself, so a program and
its tests move together in a repository. Mistakes in a scenario file are reported like
mistakes in a program, with the file, line and the field's path (codes ``LK3xx``):

=====  ===================================================================================
LK300  YAML syntax error, or the file is not UTF-8
LK301  the file is not a mapping with ``program`` and ``scenarios``
LK302  a field of the scenario file is missing, unknown or has a wrong value
LK303  the program file named by ``program`` does not exist
LK304  two scenarios of one file have the same name (test ids must be unique)
LK305  a key is written twice in one mapping (YAML would silently keep only the last)
=====  ===================================================================================
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from loyaltykit.errors import Diagnostic, ProgramError
from loyaltykit.rules.checks import format_path
from loyaltykit.rules.loader import load_programs
from loyaltykit.rules.program import Program
from loyaltykit.rules.scenarios import Scenario, ScenarioFile

SUFFIX = ".loyalty-test.yaml"


class _ScenarioYamlLoader(yaml.SafeLoader):
    """Money stays exact: ``19.99`` becomes ``Decimal("19.99")``, never a binary float."""


def _decimal(loader: _ScenarioYamlLoader, node: ScalarNode) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))


_ScenarioYamlLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


@dataclass(frozen=True)
class Located:
    """A scenario and where it is written, for failure reports and editors' jump-to-line."""

    scenario: Scenario
    file: Path
    line: int


@dataclass(frozen=True)
class Suite:
    """The scenarios of one file, with the program versions they run against."""

    file: Path
    programs: tuple[Program, ...]
    scenarios: tuple[Located, ...]


def is_scenario_file(path: Path) -> bool:
    return path.name.endswith(SUFFIX)


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """A scenario file, or a program file with inline ``tests``, ready to run.

    Raises ProgramError with every problem (of the scenario file or of the program) at once.
    """
    file = Path(path)
    if not is_scenario_file(file):
        return _inline_suite(file)
    root, data = _parse(file)
    try:
        model = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise ProgramError([_diagnostic(error, root, file) for error in exc.errors()]) from None
    paths = [(file.parent / p) for p in model.program_paths]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        node = _find(root, ("program",))
        raise ProgramError([Diagnostic(
            "LK303", f"program file {p} does not exist", path="program", line=_line(node),
            column=_column(node), file=str(file),
            hint="program paths are relative to the scenario file") for p in missing])
    programs = load_programs(paths)
    return _suite(file, tuple(programs), model.scenarios, root, "scenarios")


def _inline_suite(file: Path) -> Suite:
    programs = load_programs([file])
    root, _ = _parse(file)
    return _suite(file, (programs[0],), programs[0].tests, root, "tests")


def _suite(file: Path, programs: tuple[Program, ...], scenarios: Sequence[Scenario],
           root: Node | None, key: str) -> Suite:
    seen: dict[str, int] = {}
    problems = []
    for index, scenario in enumerate(scenarios):
        if scenario.name in seen:
            node = _find(root, (key, index, "name"))
            problems.append(Diagnostic(
                "LK304",
                f"scenario name {scenario.name!r} is also used by {key}[{seen[scenario.name]}]",
                path=f"{key}[{index}].name", line=_line(node), column=_column(node),
                file=str(file), hint="give each scenario its own name"))
        seen.setdefault(scenario.name, index)
    if problems:
        raise ProgramError(problems)
    located = tuple(Located(s, file, _line(_find(root, (key, i))) or 1)
                    for i, s in enumerate(scenarios))
    return Suite(file, programs, located)


def discover(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Scenario files and programs with inline tests under ``paths``, in a stable order.

    A directory is searched recursively for ``*.loyalty-test.yaml`` files and for YAML files
    whose top level has both ``effective_from`` and ``tests`` (a program with inline tests).
    A file named directly is taken as it is.
    """
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            candidates = sorted(p for p in given.rglob("*") if p.suffix in (".yaml", ".yml"))
            found += [p for p in candidates if is_scenario_file(p) or has_inline_tests(p)]
        else:
            found.append(given)
    return list(dict.fromkeys(found))


def has_inline_tests(path: Path) -> bool:
    """A program file carrying ``tests:``; cheap enough to ask of every YAML file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False
    keys = {line.split(":", 1)[0] for line in text.splitlines()
            if line[:1].isalpha() and ":" in line}
    return {"tests", "effective_from"} <= keys


# --------------------------------------------------------------------------- YAML and positions


def _parse(file: Path) -> tuple[Node | None, object]:
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProgramError([Diagnostic(
            "LK300", f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            line=raw.count(b"\n", 0, exc.start) + 1, file=str(file),
            hint="save the file as UTF-8")]) from None
    loader = _ScenarioYamlLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ProgramError([Diagnostic(
            "LK300", f"YAML syntax error: {exc.problem or exc}",
            line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
            file=str(file), hint="check the indentation and quoting on this line and the one "
            "before it")]) from None
    finally:
        loader.dispose()
    duplicates = list(_duplicate_keys(root, file)) if root is not None else []
    if duplicates:
        raise ProgramError(duplicates)
    if not isinstance(data, dict):
        raise ProgramError([Diagnostic(
            "LK301", "a scenario file must be a mapping", line=1, file=str(file),
            hint="start with 'program: program.yaml' and 'scenarios:' with a list of "
                 "scenarios")])
    return root, data


def _duplicate_keys(node: Node, file: Path) -> Iterator[Diagnostic]:
    """An expectation written twice would silently test only the second: refuse it."""
    if isinstance(node, MappingNode):
        first: dict[str, ScalarNode] = {}
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                earlier = first.setdefault(key.value, key)
                if earlier is not key:
                    yield Diagnostic(
                        "LK305", f"duplicate key {key.value!r}: YAML keeps only the last value",
                        line=_line(key), column=_column(key), file=str(file),
                        hint=f"it is first written on line {_line(earlier)}; merge the two")
            yield from _duplicate_keys(value, file)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item, file)


def _find(root: Node | None, parts: Sequence[str | int]) -> Node | None:
    """The deepest written node along ``parts`` (the nearest line for a missing field)."""
    node = root
    for part in parts:
        child: Node | None = None
        if isinstance(node, MappingNode):
            child = next((v for k, v in node.value
                          if isinstance(k, ScalarNode) and k.value == str(part)), None)
        elif isinstance(node, SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            child = node.value[part]
        if child is None:
            return node
        node = child
    return node


def _line(node: Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _column(node: Node | None) -> int | None:
    return node.start_mark.column + 1 if node is not None else None


def _diagnostic(error: object, root: Node | None, file: Path) -> Diagnostic:
    details = dict(error)  # type: ignore[call-overload]
    loc = [part for part in details["loc"] if isinstance(part, (str, int))]
    node = _find(root, loc)
    message = str(details["msg"]).removeprefix("Value error, ")
    name = str(loc[-1]) if loc else "file"
    if details["type"] == "missing":
        message, hint = f"missing required field {name!r}", f"add '{name}: ...'"
    elif details["type"] == "extra_forbidden":
        message, hint = f"unknown field {name!r}", "check the spelling against the docs"
    else:
        hint = f"got {details.get('input')!r}"
    return Diagnostic("LK302", message, path=format_path(loc), line=_line(node),
                      column=_column(node), hint=hint, file=str(file))
