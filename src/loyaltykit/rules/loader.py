"""Load program files and report every problem at once, each with its YAML path and line.

A shop owner edits the program in a text editor and runs it in CI, so a bad file must say
exactly where it is wrong and how to fix it, all problems in one run. YAML is read with a
SafeLoader subclass that keeps money exact (floats become ``Decimal`` built from the written
text, ``1.1`` is ``Decimal("1.1")``), keeps the written UTC offset of date-times (PyYAML 6
already returns aware datetimes with the written offset and naive ones without), refuses
duplicate keys (PyYAML silently keeps the last) and keeps the node tree, so each pydantic
error location can be translated back to the path and line the user wrote (the translation
is :mod:`loyaltykit.rules.diagnose`).

Diagnostic codes (stable across releases; CI configurations and editors match on them):

=====  =========  ==========================================================================
Code   Severity   Meaning
=====  =========  ==========================================================================
LK100  error      YAML syntax error, or the file is not UTF-8
LK101  error      a required field is missing (the line is that of the enclosing mapping)
LK102  error      unknown field (hint: the closest field name, or the allowed ones)
LK103  error      wrong type: the expected type and the value written
LK104  error      value out of range: the bound it breaks
LK105  error      invalid value: timezone, currency, identifier pattern, choice, no UTC offset
LK106  error      unknown ``type`` of a multiplier, bonus, window, retention or reward
LK107  error      duplicate key in a YAML mapping
LK108  error      the file is empty or its top level is not a mapping
LK201  error      duplicate id among multipliers, bonuses, tier levels or redemption rewards
LK202  error      a date window or campaign ends before it starts
LK203  error      the first tier level has ``qualify``, or a later level has none
LK204  warning    a tier threshold is lower than that of the level before it
LK205  error      segment days do not strictly increase (active < silent < sleeping < at_risk)
LK206  warning    a category or sku multiplier needs order lines
LK207  warning    a member day on the 29th-31st is skipped in shorter months (no clamp)
LK208  warning    a referrals section rewards neither side
LK209  error      a percentage discount above 100
LK210  error      ``load_programs``: files of different program ids
LK211  error      ``load_programs``: two files with the same version
LK212  error      ``load_programs``: effective_from does not increase with the version
=====  =========  ==========================================================================
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from loyaltykit.errors import Diagnostic, ProgramError
from loyaltykit.rules.checks import PathPart, check_program, format_path
from loyaltykit.rules.diagnose import column_of, describe_node, explain_error, line_of
from loyaltykit.rules.program import Program

__all__ = ["load_program", "load_programs", "validate_program_text"]

logger = logging.getLogger(__name__)

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

# --------------------------------------------------------------------------- YAML


class _ProgramYamlLoader(_SafeLoader):
    """SafeLoader that keeps money exact and dates as written.

    It builds on libyaml when PyYAML was built with it: parsing dominates the time of a
    validation and libyaml is about ten times faster than the pure Python parser.
    """


def _construct_decimal(loader: _ProgramYamlLoader, node: ScalarNode) -> Decimal:
    """YAML 1.1 float syntax (``1.1``, ``1_000.5``, ``.5``, ``.inf``, ``1:30.5``) as the
    exact Decimal of the written digits, never through a binary float."""
    text = loader.construct_scalar(node).replace("_", "").lower()
    if ":" not in text:
        return Decimal(text.replace(".inf", "inf").replace(".nan", "nan"))
    sign = -1 if text.startswith("-") else 1
    value = Decimal(0)
    for part in text.lstrip("+-").split(":"):  # sexagesimal, base 60
        value = value * 60 + Decimal(part)
    return sign * value


def _construct_timestamp(loader: _ProgramYamlLoader, node: ScalarNode) -> object:
    """PyYAML 6 keeps the written offset (aware) and leaves offset-less values naive, which
    pydantic's AwareDatetime reports; an impossible date stays text for pydantic to report."""
    try:
        return SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_ProgramYamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_ProgramYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


@dataclass(frozen=True)
class _Source:
    """A parsed document: the plain data and the node tree that knows where each value is."""

    data: object
    root: Node | None
    duplicates: Sequence[Diagnostic] = ()  # LK107, found before merge keys are expanded

    def find(self, parts: Sequence[PathPart]) -> tuple[Node | None, ScalarNode | None, bool]:
        """The deepest node along ``parts``, the key node naming it, and whether all matched."""
        node, key = self.root, None
        for part in parts:
            child: tuple[ScalarNode | None, Node] | None = None
            if isinstance(node, MappingNode):
                matches = [(k, v) for k, v in node.value
                           if isinstance(k, ScalarNode) and k.value == str(part)]
                child = matches[-1] if matches else None  # the last one wins, as in the data
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                child = (None, node.value[part]) if 0 <= part < len(node.value) else None
            if child is None:
                return node, key, False
            key, node = child
        return node, key, True


def _parse_yaml(text: str) -> _Source | Diagnostic:
    try:
        loader = _ProgramYamlLoader(text)  # the pure Python reader checks characters here
        try:
            root = loader.get_single_node()
            duplicates = list(_duplicate_keys(root)) if root is not None else []
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        return _syntax_diagnostic(exc, text)
    except RecursionError:
        return Diagnostic("LK100", "YAML nesting is too deep to read", line=1,
                          hint="a program needs a handful of levels; look for unclosed '[' or '{'")
    if not isinstance(data, dict):
        found = "the file is empty" if data is None else f"found {describe_node(root)}"
        return Diagnostic(
            "LK108", f"a program must be a mapping of fields; {found}", line=line_of(root) or 1,
            column=column_of(root),
            hint="start with 'id: my-shop', 'version: 1', 'effective_from: ...', "
                 "'timezone: ...' and 'currency: ...', each on its own line")
    return _Source(data, root, tuple(duplicates))


def _duplicate_keys(
    node: Node, parts: tuple[PathPart, ...] = (), visited: set[int] | None = None,
) -> Iterator[Diagnostic]:
    """PyYAML silently keeps the last of two equal keys; report the later ones. Walks the
    composed tree, before merge keys (``<<: *anchor``) are expanded, which may override."""
    visited = set() if visited is None else visited
    if id(node) in visited:  # an alias of a node already walked
        return
    visited.add(id(node))
    children: list[tuple[PathPart, Node]] = []
    if isinstance(node, MappingNode):
        seen: dict[tuple[str, str], ScalarNode] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            first = seen.setdefault((key.tag, key.value), key)
            if first is not key:
                yield Diagnostic(
                    "LK107", f"duplicate key {key.value!r}: YAML keeps only the last value",
                    path=format_path((*parts, key.value)), line=line_of(key),
                    column=column_of(key),
                    hint=f"it is first written on line {line_of(first)}; remove one of them")
            children.append((key.value, value))
    elif isinstance(node, SequenceNode):
        children = list(enumerate(node.value))
    for part, child in children:
        yield from _duplicate_keys(child, (*parts, part), visited)


_SYNTAX_HINTS = (
    ("control characters", "remove the invisible control character (often pasted from a "
                           "spreadsheet or a PDF)"),
    ("mapping values are not allowed", "quote values that contain ': ', or fix the indentation"),
    ("expected a single document", "a program file holds one document: remove the extra '---'"),
    ("duplicate anchor", "give each anchor (&name) a different name"),
)


def _syntax_diagnostic(exc: yaml.YAMLError, text: str) -> Diagnostic:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        line, column = (mark.line, mark.column) if mark else (0, 0)
    else:  # ReaderError: a control character, found before any parsing
        position = getattr(exc, "position", 0)
        character = getattr(exc, "character", "")
        code = character if isinstance(character, int) else ord(character or "\0")
        message = f"{getattr(exc, 'reason', exc)} (U+{code:04X})"
        line = text.count("\n", 0, position)
        column = position - (text.rfind("\n", 0, position) + 1)
    hint = next((h for needle, h in _SYNTAX_HINTS if needle in message),
                "check the indentation and quoting on this line and the one before it")
    source_line = (text.splitlines() or [""])[min(line, len(text.splitlines()) - 1)]
    if "\t" in source_line[: len(source_line) - len(source_line.lstrip())]:
        hint = "indent with spaces; YAML does not allow tabs"
    return Diagnostic("LK100", f"YAML syntax error: {message}", line=line + 1,
                      column=column + 1, hint=hint)


# --------------------------------------------------------------------------- entry points


def validate_program_text(
    text: str, *, file: str = "<program>",
) -> tuple[Program | None, list[Diagnostic]]:
    """Every problem of a program text, errors and warnings, in file order; never raises for
    bad content. The program is returned only when there is no error."""
    program, diagnostics, _ = _validate(text, file)
    return program, diagnostics


def _validate(text: str, file: str) -> tuple[Program | None, list[Diagnostic], _Source | None]:
    source = _parse_yaml(text)
    if isinstance(source, Diagnostic):
        return None, [replace(source, file=file)], None
    diagnostics = list(source.duplicates)
    program: Program | None = None
    try:
        program = Program.model_validate(source.data)
    except ValidationError as exc:
        diagnostics += [explain_error(error, source) for error in exc.errors(include_url=False)]
    if program is not None:
        diagnostics += [_locate(diagnostic, source) for diagnostic in check_program(program)]
    diagnostics = sorted((replace(d, file=file) for d in diagnostics),
                         key=lambda d: (d.line or 0, d.column or 0))
    if any(d.severity == "error" for d in diagnostics):
        program = None
    return program, diagnostics, source


def _locate(diagnostic: Diagnostic, source: _Source) -> Diagnostic:
    """Line and column of a semantic diagnostic from its path (the nearest written node when
    the path names a default the user did not write)."""
    node, _, _ = source.find(_parse_path(diagnostic.path))
    return replace(diagnostic, line=line_of(node), column=column_of(node))


def _parse_path(path: str) -> list[PathPart]:
    return [int(index) if index else name
            for index, name in re.findall(r"\[(\d+)\]|([^.\[\]]+)", path)]


def load_program(source: str | os.PathLike[str], *, text: str | None = None) -> Program:
    """Read and validate one program file (UTF-8); ``text`` replaces the file's content.

    Raises ProgramError with every diagnostic when any of them is an error; warnings are
    logged. OSError (missing file) propagates unchanged.
    """
    program, diagnostics, _ = _load(source, text)
    if program is None:
        raise ProgramError(diagnostics)
    _log_warnings(diagnostics)
    return program


def _load(
    source: str | os.PathLike[str], text: str | None = None,
) -> tuple[Program | None, list[Diagnostic], _Source | None]:
    file = os.fspath(source)
    if text is None:
        content = _read(Path(file))
        if isinstance(content, Diagnostic):
            return None, [replace(content, file=file)], None
        text = content
    return _validate(text, file)


def _read(path: Path) -> str | Diagnostic:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        return Diagnostic(
            "LK100", f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            line=raw.count(b"\n", 0, exc.start) + 1, column=exc.start - line_start + 1,
            hint="save the file as UTF-8 (editors that default to GBK or Latin-1 have an "
                 "encoding option)")


def _log_warnings(diagnostics: Iterable[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        if diagnostic.severity == "warning":
            logger.warning("%s", diagnostic)


@dataclass(frozen=True)
class _Version:
    program: Program
    source: _Source
    file: str

    def diagnostic(self, code: str, field: str, message: str, hint: str) -> Diagnostic:
        node, _, _ = self.source.find((field,))
        return Diagnostic(code, message, path=field, line=line_of(node), column=column_of(node),
                          hint=hint, file=self.file)


def load_programs(paths: Iterable[str | os.PathLike[str]]) -> list[Program]:
    """Several versions of one program, ordered by version.

    All files are read and every problem of every file is reported in one ProgramError,
    including clashes between them (LK210-LK212). OSError (missing file) propagates.
    """
    versions: list[_Version] = []
    diagnostics: list[Diagnostic] = []
    for path in paths:
        program, found, source = _load(path)
        diagnostics += found
        if program is not None and source is not None:
            versions.append(_Version(program, source, os.fspath(path)))
    diagnostics += _version_diagnostics(versions)
    if any(d.severity == "error" for d in diagnostics):
        raise ProgramError(diagnostics)
    _log_warnings(diagnostics)
    return [version.program for version in sorted(versions, key=lambda v: v.program.version)]


def _version_diagnostics(versions: Sequence[_Version]) -> Iterator[Diagnostic]:
    if not versions:
        return
    first = versions[0]
    for version in versions[1:]:
        if version.program.id != first.program.id:
            yield version.diagnostic(
                "LK210", "id", f"program id {version.program.id!r} differs from "
                f"{first.program.id!r} in {first.file}",
                "versions of one program share its id; load other programs separately")
    by_version: dict[int, _Version] = {}
    for version in (v for v in versions if v.program.id == first.program.id):
        number = version.program.version
        if number in by_version:
            yield version.diagnostic(
                "LK211", "version", f"version {number} is also defined in "
                f"{by_version[number].file}", "give each file its own version number")
        else:
            by_version[number] = version
    ordered = [by_version[number] for number in sorted(by_version)]
    for earlier, later in pairwise(ordered):
        if later.program.effective_from <= earlier.program.effective_from:
            yield later.diagnostic(
                "LK212", "effective_from",
                f"version {later.program.version} takes effect at "
                f"{later.program.effective_from.isoformat()}, not after version "
                f"{earlier.program.version} ({earlier.program.effective_from.isoformat()} in "
                f"{earlier.file})",
                "a higher version must take effect strictly later than the one before it")
