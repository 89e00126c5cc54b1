"""Pydantic's validation errors as diagnostics a shop owner can act on.

Pydantic reports a location in the model (``('earning', 'multipliers', 1, 'member_day',
'factor')``) and a terse message. A shop owner needs the path and line they wrote, what was
expected in words, and the fix: the closest field or type name, the field's description, the
UTC offset of their own timezone. This module reads each error against the models and the YAML
node tree the loader kept, and gives codes LK101-LK106 (listed in :mod:`loyaltykit.rules.loader`).
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Protocol, Union, get_args, get_origin
from zoneinfo import ZoneInfo, available_timezones

from babel.numbers import list_currencies
from pydantic import BaseModel
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from loyaltykit.errors import Diagnostic
from loyaltykit.rules.checks import PathPart, format_path
from loyaltykit.rules.program import Program

__all__ = ["SourceTree", "column_of", "describe_node", "explain_error", "line_of"]


class SourceTree(Protocol):
    """A parsed program file as the loader keeps it: the plain data, and the node tree that
    knows where each value is written."""

    @property
    def data(self) -> object: ...

    def find(self, parts: Sequence[PathPart]) -> tuple[Node | None, ScalarNode | None, bool]:
        """The deepest node along ``parts``, the key node naming it, and whether all matched."""
        ...


# --------------------------------------------------------------------------- YAML nodes


def line_of(node: Node | None) -> int | None:
    """1-based, as editors and CI annotations count."""
    return node.start_mark.line + 1 if node is not None else None


def column_of(node: Node | None) -> int | None:
    return node.start_mark.column + 1 if node is not None else None


def describe_node(node: Node | None) -> str:
    """What the user wrote, in their terms (``a list of 2 items``), for "got ..." messages."""
    if node is None:
        return "nothing"
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        count = len(node.value)
        return f"a list of {count} item{'' if count == 1 else 's'}" if count else "an empty list"
    if node.tag == "tag:yaml.org,2002:null":
        return "nothing (null)"
    if node.tag == "tag:yaml.org,2002:str":
        return repr(node.value)
    return str(node.value)


# --------------------------------------------------------------------------- model paths


def _strip(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) == 1:
                annotation = options[0]
                continue
        return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _tagged_members(annotation: Any) -> dict[str, type[BaseModel]]:
    """The members of a discriminated union by their ``type`` tag; empty for anything else."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return {}
    members: dict[str, type[BaseModel]] = {}
    for option in map(_strip, get_args(annotation)):
        if _is_model(option) and "type" in option.model_fields:
            members.update(dict.fromkeys(get_args(option.model_fields["type"].annotation),
                                         option))
    return members


@dataclass(frozen=True)
class _ModelPath:
    """A pydantic ``loc`` read against the models: what the user wrote and what was expected."""

    parts: tuple[PathPart, ...]  # the YAML path, without discriminator tags
    owner: type[BaseModel] | None  # the model whose field the last part names, if one does
    expected: Any  # the annotation expected at the path, None if unknown

    @property
    def field_names(self) -> list[str]:
        return list(self.owner.model_fields) if self.owner else []

    def field_description(self) -> str:
        name = self.parts[-1] if self.parts else None
        field = self.owner.model_fields.get(name) if self.owner and isinstance(name, str) else None
        return field.description or "" if field else ""

    def hint(self, fix: str) -> str:
        """The fix, followed by what the field means when the model says, so the hint names
        what the value is for, not only its type or bound."""
        description = self.field_description()
        return f"{fix} ({description})" if description else fix


def _model_path(loc: Sequence[PathPart]) -> _ModelPath:
    """Walk the models along ``loc``, dropping the tags pydantic adds for tagged unions
    (``('earning', 'multipliers', 1, 'member_day', 'factor')``)."""
    annotation: Any = Program
    owner: type[BaseModel] | None = None
    parts: list[PathPart] = []
    for part in loc:
        annotation = _strip(annotation)
        members = _tagged_members(annotation)
        if isinstance(part, str) and part in members:
            annotation = members[part]
            continue
        if _is_model(annotation):
            owner = annotation
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            annotation = field.annotation if field else None
        elif get_origin(annotation) is list:
            owner, annotation = None, get_args(annotation)[0]
        else:
            owner, annotation = None, None
        parts.append(part)
    return _ModelPath(tuple(parts), owner, _strip(annotation))


# --------------------------------------------------------------------------- pydantic errors

_RANGE_TYPES = {"greater_than", "greater_than_equal", "less_than", "less_than_equal",
                "too_short", "too_long", "string_too_short", "string_too_long"}
_BOUNDS = {"gt": "greater than {}", "ge": "at least {}", "lt": "less than {}",
           "le": "at most {}", "min_length": "at least {} {}", "max_length": "at most {} {}"}
_EXPECTED = {
    "int": "a whole number", "decimal": "a number", "float": "a number", "string": "text",
    "bool": "true or false", "list": "a list", "dict": "a mapping", "model": "a mapping",
    "date": "a date such as 2025-11-11",
    "datetime": "a date-time with UTC offset such as 2025-01-01T00:00:00+08:00",
}


@dataclass(frozen=True)
class _Found:
    """One pydantic error, read against the models and the YAML node tree."""

    error: ErrorDetails
    path: _ModelPath
    node: Node | None
    written: str
    timezone: str

    @property
    def name(self) -> str:
        """The field name, or ``levels[1]`` for an item of a list."""
        parts = self.path.parts
        if parts and isinstance(parts[-1], int) and self.path.owner is None:
            return format_path(parts[-2:]) if len(parts) > 1 else "item"
        return str(parts[-1]) if parts else "value"

    @property
    def ctx(self) -> dict[str, Any]:
        return dict(self.error.get("ctx") or {})


def explain_error(error: ErrorDetails, source: SourceTree) -> Diagnostic:
    """One pydantic error as a diagnostic at the line the user wrote (the key's line for an
    unknown field, so the editor marks the name to fix, not its value)."""
    path = _model_path(error["loc"])
    etype = error["type"]
    if etype.startswith("union_tag_"):
        path = _ModelPath((*path.parts, "type"), path.owner, path.expected)
    node, key, complete = source.find(path.parts)
    anchor = key if complete and etype == "extra_forbidden" else node
    written = describe_node(node) if complete else repr(error["input"])
    timezone = source.data.get("timezone") if isinstance(source.data, dict) else None
    found = _Found(error, path, node if complete else None, written,
                   timezone if isinstance(timezone, str) else "")
    code, message, hint = _explain_found(etype, found)
    return Diagnostic(code, message, path=format_path(path.parts), line=line_of(anchor),
                      column=column_of(anchor), hint=hint)


def _explain_found(etype: str, found: _Found) -> tuple[str, str, str]:
    if etype == "missing":
        return ("LK101", f"missing required field {found.name!r}",
                found.path.hint(f"add '{found.name}: ...' here"))
    if etype == "union_tag_not_found":
        tags = list(_tagged_members(found.path.expected))
        return "LK101", "missing 'type'", f"add 'type:' with one of: {', '.join(tags)}"
    if etype in ("extra_forbidden", "invalid_key"):
        allowed = found.path.field_names
        return ("LK102", f"unknown field {found.name!r}",
                _did_you_mean(found.name, allowed) or f"allowed fields here: {', '.join(allowed)}")
    if etype == "union_tag_invalid":
        tags = list(_tagged_members(found.path.expected))
        tag = str(found.ctx.get("tag"))
        return ("LK106", f"unknown type {tag!r}",
                " ".join(filter(None, (_did_you_mean(tag, tags),
                                       f"valid types here: {', '.join(tags)}"))))
    if etype in _RANGE_TYPES:
        return _explain_range(found)
    kind = etype.split("_")[0]
    if kind in _EXPECTED and etype.endswith(("_type", "_parsing", "_from_float")) and not (
            kind.startswith("date") and isinstance(found.error["input"], str)):
        return _explain_type(kind, etype, found)
    return _explain_value(etype, found)


def _explain_range(found: _Found) -> tuple[str, str, str]:
    ctx, etype = found.ctx, found.error["type"]
    unit = "characters" if etype.startswith("string") else "items"
    bound = next((_BOUNDS[key].format(ctx[key], unit) for key in _BOUNDS if key in ctx), "")
    bound = bound.replace(" 1 items", " 1 item")
    if etype in ("too_short", "too_long"):
        return ("LK104", f"{found.name} must have {bound}; got {found.written}",
                "add entries" if etype == "too_short" else "remove entries")
    return ("LK104", f"{found.name} must be {bound}; got {found.written}",
            found.path.hint(f"use a value {bound}"))


def _explain_type(kind: str, etype: str, found: _Found) -> tuple[str, str, str]:
    message = f"{found.name} must be {_EXPECTED[kind]}; got {found.written}"
    node, expected = found.node, found.path.expected
    hint = found.path.hint(f"replace it with {_EXPECTED[kind]}")
    if kind == "string" and isinstance(node, ScalarNode):
        hint = f"quote it: {found.name}: '{node.value}'"
    elif etype == "int_from_float":
        hint = "use a whole number"
    elif kind in ("model", "dict") and _tagged_members(expected):
        hint = f"write a mapping with 'type:' one of {', '.join(_tagged_members(expected))}"
    elif kind in ("model", "dict") and _is_model(expected):
        hint = f"write a mapping with the fields: {', '.join(expected.model_fields)}"
    elif kind == "datetime" and isinstance(node, ScalarNode):
        hint = f"write {node.value}T00:00:00{_offset(found.timezone, node.value)}"
    elif kind == "list":
        hint = "write a list: [a, b] or one '- item' per line"
    return "LK103", message, hint


def _explain_value(etype: str, found: _Found) -> tuple[str, str, str]:
    value = found.error["input"]
    if etype == "timezone_aware" and isinstance(found.node, ScalarNode):
        written = found.node.value
        written += "T00:00:00" if re.fullmatch(r"\d{4}-\d\d-\d\d", written) else ""
        return ("LK105", f"date-time {found.written} has no UTC offset",
                f"write {written}{_offset(found.timezone, written)}")
    if etype == "string_pattern_mismatch" and isinstance(value, str):
        slug = re.sub(r"[^a-z0-9_.-]+", "-", value.lower()).strip("-_.") or "my-id"
        return ("LK105", f"{found.written} is not a valid {found.name}",
                f"use lowercase letters, digits, '-', '_' and '.', e.g. {slug!r}")
    if etype.startswith("date") and isinstance(value, str):
        detail = str(found.error["msg"]).partition(", ")[2]
        what = "date-time" if etype.startswith("datetime") else "date"
        message = f"{found.written} is not a valid {what}" + (f": {detail}" if detail else "")
        return ("LK105", message,
                "write dates as YYYY-MM-DD, e.g. 2025-11-11" if what == "date"
                else "write date-times as 2025-01-01T00:00:00+08:00")
    if etype == "finite_number":
        return "LK105", f"{found.name} must be a finite number; got {found.written}", \
            "write a plain number such as 10 or 2.5"
    if etype in ("literal_error", "enum"):
        choices = re.findall(r"'([^']*)'", str(found.ctx.get("expected", "")))
        return ("LK105", f"{found.written} is not one of {', '.join(choices)}",
                _did_you_mean(str(value), choices) or f"use one of: {', '.join(choices)}")
    message = str(found.error["msg"]).removeprefix("Value error, ")
    hint = ""
    if found.name == "timezone" and isinstance(value, str):
        hint = _did_you_mean(value, _timezone_names(), ignore_case=True)
    elif found.name == "currency" and isinstance(value, str):
        hint = _did_you_mean(value.upper(), sorted(list_currencies()))
    return "LK105", f"{found.name}: {message[0].lower()}{message[1:]}", hint


@cache
def _timezone_names() -> list[str]:
    return sorted(available_timezones())  # scans the tz database: milliseconds, so only once


def _did_you_mean(word: str, choices: Sequence[str], *, ignore_case: bool = False) -> str:
    if ignore_case:
        by_lower = {choice.lower(): choice for choice in choices}
        matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
        matches = [by_lower[match] for match in matches]
    else:
        matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else ""


def _offset(timezone: str, written: str) -> str:
    """The UTC offset of the program's timezone at a naive date-time, as ``+08:00``."""
    try:
        moment = datetime.fromisoformat(written.strip().replace(" ", "T"))
        offset = moment.replace(tzinfo=ZoneInfo(timezone)).utcoffset()
    except (ValueError, KeyError, OSError):  # no or unknown timezone, unreadable date
        offset = None
    if offset is None:
        return "+HH:MM (the UTC offset of the shop's timezone on that date)"
    minutes = int(offset.total_seconds()) // 60
    hours, minutes = divmod(abs(minutes), 60)
    return f"{'-' if offset.total_seconds() < 0 else '+'}{hours:02d}:{minutes:02d}"
