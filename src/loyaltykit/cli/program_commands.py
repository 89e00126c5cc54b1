"""Commands about program files: validate them and publish their schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from loyaltykit.errors import Diagnostic
from loyaltykit.rules.diagnostics_format import Format, render
from loyaltykit.rules.loader import validate_program_text
from loyaltykit.rules.program import json_schema


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)


def validate(
    programs: Annotated[list[Path], typer.Argument(help="Program YAML files", exists=True,
                                                   dir_okay=False)],
    fmt: Annotated[Format, typer.Option("--format", help="text, json, or github (Actions "
                                        "annotations)")] = Format.text,
) -> None:
    """Check program files; print every problem at once. Exit 2 if any has an error."""
    failed = False
    found: list[Diagnostic] = []
    for path in programs:
        text = path.read_text(encoding="utf-8")
        program, diagnostics = validate_program_text(text, file=str(path))
        found.extend(diagnostics)
        if fmt is Format.text:
            for diagnostic in diagnostics:
                typer.echo(str(diagnostic))
        if program is None or any(d.severity == "error" for d in diagnostics):
            failed = True
        elif fmt is Format.text:
            typer.echo(f"{path}: ok ({program.label}, effective from "
                       f"{program.effective_from.isoformat()})")
    if fmt is not Format.text:
        typer.echo(render(found, fmt, relative_to=Path.cwd()))
    if failed:
        raise typer.Exit(2)


def schema(
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout")]
    = None,
) -> None:
    """Print the JSON Schema of the program format (for editors and CI)."""
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
