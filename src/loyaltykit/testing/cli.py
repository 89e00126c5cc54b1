"""``loyaltykit test`` and ``loyaltykit explain``: scenario tests and decisions, from a shell.

``test`` runs scenario files and programs' inline tests without any Python: the same
runner as the pytest plugin, with rich output, GitHub Actions annotations on the failing
scenario's line when run in Actions, and exit code 1 when a scenario fails (2 when a file
cannot be read). ``explain`` replays the rules against one order or customer of a ledger.
"""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from loyaltykit.cli.options import DEFAULT_DB, AsOf, Db, ledger_from, parse_instant
from loyaltykit.errors import ConfigurationError, Diagnostic, ProgramError
from loyaltykit.rules.diagnostics_format import github_annotation
from loyaltykit.rules.explain import explain_customer, explain_order
from loyaltykit.testing.facts import customer_facts, order_record
from loyaltykit.testing.runner import ScenarioResult, run_scenario
from loyaltykit.testing.scenario_files import Located, discover, load_suite
from loyaltykit.testing.trace import customer_timeline

out = Console(highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``test`` and ``explain`` to the ``loyaltykit`` command line."""
    app.command("test")(test)
    app.command("explain")(explain)


def test(
    paths: Annotated[list[Path], typer.Argument(
        help="Scenario files (*.loyalty-test.yaml), programs with inline tests, or folders "
             "to search for both", exists=True)],
    match: Annotated[str | None, typer.Option(
        "-k", "--match", help="Run only scenarios whose name contains this text")] = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Print the trace of passing scenarios too")] = False,
    annotations: Annotated[bool | None, typer.Option(
        "--annotations/--no-annotations",
        help="Print GitHub Actions annotations (default: when GITHUB_ACTIONS is set)")] = None,
) -> None:
    """Run scenario tests; exit 1 if one fails, 2 if a file cannot be read or none ran."""
    github = annotations if annotations is not None else os.environ.get("GITHUB_ACTIONS") == "true"
    files = discover(paths)
    started = time.perf_counter()
    passed = failed = broken = 0
    for file in files:
        try:
            suite = load_suite(file)
        except ProgramError as error:
            broken += 1
            _print_diagnostics(file, error.diagnostics, github)
            continue
        out.print(Text(str(file), style="bold"))
        for located in suite.scenarios:
            if match is not None and match not in located.scenario.name:
                continue
            ok = _run_one(located, suite.programs, verbose, github)
            passed, failed = passed + ok, failed + (not ok)
    _summary(passed, failed, broken, time.perf_counter() - started, len(files))
    if broken or passed + failed == 0:
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(1)


def _run_one(located: Located, programs: tuple, verbose: bool,  # type: ignore[type-arg]
             github: bool) -> bool:
    name = located.scenario.name
    try:
        result = run_scenario(programs, located.scenario)
    except ConfigurationError as error:
        result = ScenarioResult(name)
        message = f"cannot run: {error}"
        out.print(Text.assemble(("  ERROR ", "bold red"), name))
        out.print(Text(f"      {message}"))
        if github:
            _annotate(located, message)
        return False
    if result.passed:
        out.print(Text.assemble(("  PASS  ", "green"), name))
        if verbose:
            _print_trace(result.trace)
        return True
    out.print(Text.assemble(("  FAIL  ", "bold red"), name,
                            (f"  ({located.file.name}:{located.line})", "dim")))
    for mismatch in result.mismatches:
        out.print(Text(textwrap.indent(str(mismatch), "      "), style="red"))
    _print_trace(result.trace)
    if github:
        _annotate(located, "\n".join(str(m) for m in result.mismatches))
    return False


def _print_trace(trace: list[str]) -> None:
    if trace:
        out.print(Text("      trace:", style="dim"))
        for line in trace:
            out.print(Text(f"        {line}", style="dim"))


def _annotate(located: Located, message: str) -> None:
    print(github_annotation(Diagnostic(
        "scenario", f"scenario {located.scenario.name!r} failed: {message}",
        file=_relative(located.file), line=located.line)))


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _print_diagnostics(file: Path, diagnostics: tuple[Diagnostic, ...], github: bool) -> None:
    out.print(Text.assemble((str(file), "bold"), ("  cannot be read", "bold red")))
    for diagnostic in diagnostics:
        out.print(Text(f"  {diagnostic}", style="red"))
        if github:
            print(github_annotation(diagnostic))


def _summary(passed: int, failed: int, broken: int, seconds: float, files: int) -> None:
    parts = [f"{passed} passed"]
    if failed:
        parts.append(f"{failed} failed")
    if broken:
        parts.append(f"{broken} file{'s' if broken != 1 else ''} with errors")
    style = "bold red" if failed or broken else "bold green"
    if passed + failed + broken == 0:
        what = "scenario" if files else "scenario file or program with inline tests"
        parts, style = [f"no {what} found to run"], "bold red"
    out.print(Text(f"{', '.join(parts)} in {seconds:.2f}s", style=style))


def explain(
    order: Annotated[str | None, typer.Option("--order", help="Order id")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Customer id")] = None,
    db: Db = DEFAULT_DB,
    as_of: AsOf = None,
    history: Annotated[bool, typer.Option(
        "--history", help="With --customer: also list entries and tier changes")] = False,
) -> None:
    """Why an order earned its points, or where a customer stands, rule by rule."""
    if (order is None) == (customer is None):
        raise typer.BadParameter("give exactly one of --order ID or --customer ID")
    with ledger_from(db, None) as ledger:
        if order is not None:
            record = order_record(ledger, order)
            explained = explain_order(record.program, record.facts)
            for line in explained.lines():
                out.print(Text(line))
            recorded = sum(e.points for e in record.entries
                           if e.kind in ("earn", "bonus"))
            out.print(Text(f"  ledger: {record.status}; "
                           + (", ".join(f"{e.points:+d} {e.kind} ({e.rule_id})"
                                        for e in record.entries) or "no entries")))
            if recorded != explained.total:
                out.print(Text(f"  note: the ledger credited {recorded} points; the rules "
                               f"give {explained.total} from the facts known now (a tier or "
                               "birthday recorded after the order changes the inputs)",
                               style="yellow"))
            return
        assert customer is not None
        instant = parse_instant(as_of) if as_of else (ledger.processed_until()
                                                      or parse_instant("now"))
        program, facts = customer_facts(ledger, customer, instant)
        for line in explain_customer(program, facts).lines():
            out.print(Text(line))
        if history:
            for line in customer_timeline(ledger, customer, program.tz):
                out.print(Text(f"  {line}"))
