"""Diagnostics as text for people, JSON for tools, and GitHub Actions annotations for CI.

The same list of :class:`~loyaltykit.errors.Diagnostic` renders three ways:

- ``text``: one problem per line, ``file:line:col: severity CODE: message``, with the hint
  indented below (what ``loyaltykit validate`` prints by default);
- ``json``: a stable document (``version``, counts, and every diagnostic with all its fields)
  for editors, bots and scripts; keys are never removed within a major version;
- ``github``: workflow commands (``::error file=...,line=...,col=...,title=LK102::...``) that
  GitHub Actions turns into annotations on the pull request's changed lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Any

from loyaltykit.errors import Diagnostic

JSON_VERSION = 1


class Format(str, Enum):
    text = "text"
    json = "json"
    github = "github"


def render(diagnostics: Sequence[Diagnostic], fmt: Format | str,
           *, relative_to: str | os.PathLike[str] | None = None) -> str:
    """All diagnostics in one format; ``relative_to`` shortens file paths (GitHub needs
    paths relative to the repository root to place annotations)."""
    chosen = Format(fmt)
    items = [_relative(d, relative_to) for d in diagnostics] if relative_to else diagnostics
    if chosen is Format.json:
        return to_json(items)
    if chosen is Format.github:
        return to_github(items)
    return to_text(items)


def to_text(diagnostics: Sequence[Diagnostic]) -> str:
    return "\n".join(str(d) for d in diagnostics)


def to_json(diagnostics: Sequence[Diagnostic]) -> str:
    document: dict[str, Any] = {
        "version": JSON_VERSION,
        "errors": sum(1 for d in diagnostics if d.severity == "error"),
        "warnings": sum(1 for d in diagnostics if d.severity == "warning"),
        "diagnostics": [as_dict(d) for d in diagnostics],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def as_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "code": diagnostic.code, "severity": diagnostic.severity,
        "message": diagnostic.message, "file": diagnostic.file or None,
        "line": diagnostic.line, "column": diagnostic.column,
        "path": diagnostic.path or None, "hint": diagnostic.hint or None,
    }


def to_github(diagnostics: Sequence[Diagnostic]) -> str:
    return "\n".join(github_annotation(d) for d in diagnostics)


def github_annotation(diagnostic: Diagnostic) -> str:
    """One workflow command; see "Workflow commands for GitHub Actions" in GitHub's docs."""
    level = {"error": "error", "warning": "warning"}.get(diagnostic.severity, "notice")
    props = []
    if diagnostic.file:
        props.append(f"file={_escape_property(diagnostic.file)}")
        if diagnostic.line is not None:
            props.append(f"line={diagnostic.line}")
            if diagnostic.column is not None:
                props.append(f"col={diagnostic.column}")
    props.append(f"title={_escape_property(diagnostic.code)}")
    message = diagnostic.message
    if diagnostic.path:
        message += f" (at {diagnostic.path})"
    if diagnostic.hint:
        message += f"\nhint: {diagnostic.hint}"
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _relative(diagnostic: Diagnostic, root: str | os.PathLike[str]) -> Diagnostic:
    if not diagnostic.file:
        return diagnostic
    path = Path(diagnostic.file)
    try:
        shorter = path.resolve().relative_to(Path(root).resolve())
    except ValueError:
        return diagnostic
    return replace(diagnostic, file=shorter.as_posix())
