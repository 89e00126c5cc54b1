"""Scenario tests: the example programs' scenarios pass, the pytest plugin collects scenario
files with readable failures, ``loyaltykit test`` runs them, and bad files are pinpointed."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from loyaltykit.errors import ConfigurationError, ProgramError
from loyaltykit.rules.loader import load_program, validate_program_text
from loyaltykit.rules.program import json_schema
from loyaltykit.rules.scenarios import Scenario
from loyaltykit.testing import discover, load_suite, memory_ledger, run_scenario
from loyaltykit.testing.cli import register

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).parent.parent / "examples"
TAOBAO = EXAMPLES / "taobao-tea-shop" / "program.yaml"
SHOPIFY = EXAMPLES / "shopify-apparel" / "program.yaml"
EXAMPLE_FILES = discover([EXAMPLES])


def scenario(text: str) -> Scenario:
    import yaml

    return Scenario.model_validate(yaml.safe_load(textwrap.dedent(text)))


# --------------------------------------------------------------------------- the examples


def test_both_examples_ship_scenario_files_and_inline_tests() -> None:
    names = {p.name for p in EXAMPLE_FILES}
    assert {"member-day.loyalty-test.yaml", "vip-tiers.loyalty-test.yaml",
            "birthday.loyalty-test.yaml", "referral.loyalty-test.yaml"} <= names
    assert SHOPIFY in EXAMPLE_FILES  # a program with inline tests is found too


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_scenarios_pass(path: Path) -> None:
    suite = load_suite(path)
    assert suite.scenarios
    for located in suite.scenarios:
        result = run_scenario(suite.programs, located.scenario)
        assert result.passed, "\n".join([str(m) for m in result.mismatches] + result.trace)


def test_the_gold_member_day_scenario_is_there_and_checks_3x() -> None:
    suite = load_suite(EXAMPLES / "taobao-tea-shop" / "tests" / "member-day.loyalty-test.yaml")
    located = next(s for s in suite.scenarios
                   if s.scenario.name == "a Gold customer's order on member day earns 3x")
    assert located.line == 5
    expect = located.scenario.expect
    assert expect is not None and expect.orders["member-day-order"].earned == 300


# --------------------------------------------------------------------------- the runner

TAOBAO_ORDER = """
    name: {name}
    given:
      orders:
        - {{id: o1, customer: wang, at: 2025-04-17T10:00:00+08:00, amount: 88.00}}
    expect:
      orders:
        o1: {{earned: {earned}}}
"""


def test_a_wrong_expectation_fails_with_expected_actual_and_the_trace() -> None:
    program = load_program(TAOBAO)
    result = run_scenario(program, scenario(TAOBAO_ORDER.format(name="x", earned=176)))
    assert not result.passed
    [mismatch] = result.mismatches
    assert (mismatch.where, mismatch.expected, mismatch.actual) == ("orders.o1.earned", "176", "88")
    trace = "\n".join(result.trace)
    assert "+88 earn (earn.base, order o1): 88.00 CNY at 1 pt per 1.00 CNY = 88" in trace
    assert "tier - -> member" in trace
    assert "member day is the 18th; the order was placed on the 17th" in trace


def test_every_mismatch_is_reported_not_only_the_first() -> None:
    program = load_program(TAOBAO)
    result = run_scenario(program, scenario("""
        name: several
        given:
          orders:
            - {id: o1, customer: wang, at: 2025-04-17T10:00:00+08:00, amount: 88.00}
        expect:
          customers:
            wang: {balance: 1, tier: gold, segment: lost}
    """))
    assert [m.where for m in result.mismatches] == [
        "customers.wang.balance", "customers.wang.tier", "customers.wang.segment"]


def test_a_refused_event_fails_the_scenario_unless_it_is_expected() -> None:
    program = load_program(TAOBAO)
    refund = """
        name: refund of more than was paid
        given:
          orders:
            - {id: o1, customer: wang, at: 2025-04-17T10:00:00+08:00, amount: 88.00}
          refunds:
            - {order: o1, at: 2025-04-18T10:00:00+08:00, amount: 100.00, id: r1}
        expect:
          customers:
            wang: {balance: 138}
    """
    failed = run_scenario(program, scenario(refund))
    assert [m.where for m in failed.mismatches] == ["rejected"]
    assert "refund:r1: refund r1 of 100.00 CNY exceeds" in failed.mismatches[0].actual
    listed = refund + """
          rejected:
            - {event: "refund:r1", reason: exceeds}
    """
    assert run_scenario(program, scenario(listed)).passed


def test_checkpoints_run_the_same_ledger_forward() -> None:
    program = load_program(TAOBAO)
    result = run_scenario(program, scenario("""
        name: expiry
        given:
          orders:
            - {id: o1, customer: ma, at: 2025-02-10T10:00:00+08:00, amount: 100.00}
        as_of: 2025-03-01T00:00:00+08:00
        expect:
          customers: {ma: {balance: 150}}
        then:
          - as_of: 2026-03-01T00:00:00+08:00
            expect:
              customers: {ma: {balance: 1}}
    """))
    assert [m.where for m in result.mismatches] == [
        "at 2026-03-01T00:00:00+08:00: customers.ma.balance"]
    assert result.mismatches[0].actual == "0"


def test_checkpoints_must_go_forward() -> None:
    with pytest.raises(ConfigurationError, match=r"then\[0\].as_of .* is before"):
        run_scenario(load_program(TAOBAO), scenario("""
            name: backwards
            given:
              orders:
                - {id: o1, customer: ma, at: 2025-02-10T10:00:00+08:00, amount: 100.00}
            as_of: 2025-03-01T00:00:00+08:00
            expect: {}
            then:
              - {as_of: 2025-02-01T00:00:00+08:00, expect: {}}
        """))


def test_a_refund_of_an_order_not_given_needs_its_amount() -> None:
    with pytest.raises(ConfigurationError, match="state the refund's amount"):
        run_scenario(load_program(TAOBAO), scenario("""
            name: refund
            given:
              refunds:
                - {order: elsewhere, at: 2025-02-10T10:00:00+08:00}
            as_of: 2025-03-01T00:00:00+08:00
            expect: {}
        """))


def test_scenario_models_refuse_what_cannot_be_meant() -> None:
    with pytest.raises(ValidationError, match="needs an amount or lines"):
        scenario("""
            name: x
            given: {orders: [{id: o1, customer: a, at: 2025-01-01T00:00:00+08:00}]}
            expect: {}
        """)
    with pytest.raises(ValidationError, match="nothing to check"):
        scenario("name: x")
    with pytest.raises(ValidationError, match="timezone"):
        scenario("""
            name: x
            as_of: 2025-01-01T00:00:00
            expect: {}
        """)


# --------------------------------------------------------------------------- files


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_bad_scenario_file_is_pinpointed(tmp_path: Path) -> None:
    shutil.copy(TAOBAO, tmp_path / "program.yaml")
    bad = write(tmp_path, "bad.loyalty-test.yaml", """\
        program: program.yaml
        scenarios:
          - name: typo
            given:
              orders:
                - {id: o1, customer: a, at: 2025-02-10T10:00:00+08:00, amonut: 5}
            expect: {}
    """)
    with pytest.raises(ProgramError) as caught:
        load_suite(bad)
    codes = {(d.code, d.line, d.path) for d in caught.value.diagnostics}
    assert ("LK302", 6, "scenarios[0].given.orders[0].amonut") in codes


def test_a_missing_program_and_duplicate_names_are_reported(tmp_path: Path) -> None:
    missing = write(tmp_path, "a.loyalty-test.yaml", """\
        program: nowhere.yaml
        scenarios:
          - {name: a, as_of: 2025-01-01T00:00:00+08:00, expect: {}}
    """)
    with pytest.raises(ProgramError) as caught:
        load_suite(missing)
    [problem] = caught.value.diagnostics
    assert (problem.code, problem.line) == ("LK303", 1)
    shutil.copy(TAOBAO, tmp_path / "program.yaml")
    twice = write(tmp_path, "b.loyalty-test.yaml", """\
        program: program.yaml
        scenarios:
          - {name: same, as_of: 2025-01-01T00:00:00+08:00, expect: {}}
          - {name: same, as_of: 2025-01-01T00:00:00+08:00, expect: {}}
    """)
    with pytest.raises(ProgramError) as caught:
        load_suite(twice)
    assert [(d.code, d.line) for d in caught.value.diagnostics] == [("LK304", 4)]


def test_an_expectation_written_twice_is_refused(tmp_path: Path) -> None:
    shutil.copy(TAOBAO, tmp_path / "program.yaml")
    twice = write(tmp_path, "c.loyalty-test.yaml", """\
        program: program.yaml
        scenarios:
          - name: x
            as_of: 2025-01-01T00:00:00+08:00
            expect:
              customers:
                lin: {balance: 1}
                lin: {balance: 2}
    """)
    with pytest.raises(ProgramError) as caught:
        load_suite(twice)
    assert [(d.code, d.line) for d in caught.value.diagnostics] == [("LK305", 8)]


def test_mistakes_in_inline_tests_get_program_diagnostics_with_lines() -> None:
    text = SHOPIFY.read_text(encoding="utf-8").replace(
        "ana: {balance: 89, tier: insider", "ana: {balanse: 89, tier: insider")
    _, diagnostics = validate_program_text(text, file="program.yaml")
    [problem] = [d for d in diagnostics if d.severity == "error"]
    line = next(n for n, s in enumerate(text.splitlines(), 1) if "balanse" in s)
    assert (problem.code, problem.line) == ("LK102", line)
    assert problem.path.startswith("tests[0].expect.customers")


def test_inline_tests_do_not_change_the_program_a_ledger_runs() -> None:
    program = load_program(SHOPIFY)
    assert program.tests
    without = program.model_copy(update={"tests": []})
    with memory_ledger(program) as ledger:
        assert ledger.install(without) is False  # same content: tests are not part of it


def test_editors_see_tests_in_the_program_schema() -> None:
    schema = json_schema()
    assert "tests" in schema["properties"]  # type: ignore[operator]
    assert "Scenario" in schema["$defs"]  # type: ignore[operator]


# --------------------------------------------------------------------------- the plugin

FAILING = """\
    program: program.yaml
    scenarios:
      - name: member day triples
        given:
          orders:
            - {id: o1, customer: wang, at: 2025-04-18T10:00:00+08:00, amount: 100.00}
        expect:
          orders:
            o1: {earned: 300}
      - name: member day doubles
        given:
          orders:
            - {id: o1, customer: wang, at: 2025-04-18T10:00:00+08:00, amount: 100.00}
        expect:
          orders:
            o1: {earned: 200}
"""


@pytest.fixture
def plugin_run(pytester: pytest.Pytester,
               monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose runs load the plugin by -p, whether or not its entry point exists."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    shutil.copy(TAOBAO, pytester.path / "program.yaml")
    return pytester


def test_the_plugin_collects_scenarios_as_test_items(plugin_run: pytest.Pytester) -> None:
    write(plugin_run.path, "member.loyalty-test.yaml", FAILING)
    result = plugin_run.runpytest("-p", "loyaltykit.testing.plugin", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*member.loyalty-test.yaml::member day triples FAILED*",
        "*member.loyalty-test.yaml::member day doubles PASSED*",
    ])


def test_a_failure_shows_expected_actual_and_the_decision(plugin_run: pytest.Pytester) -> None:
    write(plugin_run.path, "member.loyalty-test.yaml", FAILING)
    result = plugin_run.runpytest("-p", "loyaltykit.testing.plugin")
    result.stdout.fnmatch_lines([
        "scenario 'member day triples' (member.loyalty-test.yaml:3) failed:",
        "  orders.o1.earned: expected 300, got 200",
        "trace:",
        "  wang: balance 250, tier member, active",
        "*+200 earn (earn.base, order o1): 100.00 CNY at 1 pt per 1.00 CNY x2 member-day*",
        "*tier - -> member*",
        "*[[]x] member-day: x2 member_day: 2025-04-18 is member day (the 18th)",
        "*[[] ] tier: the customer had no tier yet when ordering",
    ])
    assert "Traceback" not in result.stdout.str()


def test_scenarios_can_be_selected_by_name(plugin_run: pytest.Pytester) -> None:
    write(plugin_run.path, "member.loyalty-test.yaml", FAILING)
    result = plugin_run.runpytest("-p", "loyaltykit.testing.plugin", "-k", "doubles")
    result.assert_outcomes(passed=1, deselected=1)


def test_a_broken_file_is_a_collection_error_with_its_diagnostic(
        plugin_run: pytest.Pytester) -> None:
    write(plugin_run.path, "broken.loyalty-test.yaml", """\
        program: program.yaml
        scenarios:
          - name: x
            expect: {customers: {a: {balanse: 1}}}
    """)
    result = plugin_run.runpytest("-p", "loyaltykit.testing.plugin")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*broken.loyalty-test.yaml:4:*LK302: unknown field 'balanse'*"])


def test_programs_listed_in_the_ini_have_their_inline_tests_collected(
        plugin_run: pytest.Pytester) -> None:
    shutil.copy(SHOPIFY, plugin_run.path / "shop.yaml")
    plugin_run.makeini("[pytest]\nloyaltykit_programs = shop.yaml\n")
    result = plugin_run.runpytest("-p", "loyaltykit.testing.plugin", "shop.yaml", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*shop.yaml::500 points buy a $5 discount code PASSED*"])


# --------------------------------------------------------------------------- loyaltykit test


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """loyaltykit"""

    return app


def test_the_test_command_passes_on_an_example() -> None:
    member_day = EXAMPLES / "taobao-tea-shop" / "tests" / "member-day.loyalty-test.yaml"
    result = CliRunner().invoke(cli(), ["test", str(member_day), "--no-annotations"])
    assert result.exit_code == 0, result.output
    assert "PASS  a Gold customer's order on member day earns 3x" in result.output
    assert "FAIL" not in result.output and "3 passed" in result.output


def test_the_test_command_exits_1_with_an_annotation_on_failure(tmp_path: Path) -> None:
    shutil.copy(TAOBAO, tmp_path / "program.yaml")
    write(tmp_path, "member.loyalty-test.yaml", FAILING)
    result = CliRunner().invoke(cli(), ["test", str(tmp_path), "--annotations"])
    assert result.exit_code == 1
    assert "FAIL  member day triples" in result.output
    assert "orders.o1.earned: expected 300, got 200" in result.output
    assert "::error file=" in result.output and ",line=3,title=scenario::" in result.output
    assert "1 passed, 1 failed" in result.output


def test_the_test_command_exits_2_when_a_file_cannot_be_read(tmp_path: Path) -> None:
    write(tmp_path, "x.loyalty-test.yaml", "program: nowhere.yaml\nscenarios: []\n")
    result = CliRunner().invoke(cli(), ["test", str(tmp_path), "--no-annotations"])
    assert result.exit_code == 2
    assert "LK302" in result.output and "cannot be read" in result.output


# --------------------------------------------------------------------------- engine findings


def test_progress_forgets_spend_that_left_the_rolling_window() -> None:
    result = run_scenario(load_program(SHOPIFY), scenario("""
        name: progress after the window
        given:
          orders:
            - {id: "1", customer: dev, at: 2025-01-05T12:00:00-05:00, amount: 300.00}
        as_of: 2026-03-01T00:00:00-05:00
        expect:
          customers:
            dev: {tier: insider, progress: "500.00 USD more net spend to vip"}
    """))
    assert result.passed, "\n".join(map(str, result.mismatches))


def test_the_test_command_exits_2_when_nothing_ran(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli(), ["test", str(tmp_path), "--no-annotations"])
    assert result.exit_code == 2
    assert "no scenario file or program with inline tests found to run" in result.output
    member_day = EXAMPLES / "taobao-tea-shop" / "tests" / "member-day.loyalty-test.yaml"
    result = CliRunner().invoke(cli(), ["test", str(member_day), "-k", "no such name"])
    assert result.exit_code == 2
    assert "no scenario found to run" in result.output


def test_scenario_counts_refuse_yes_for_a_number() -> None:
    """YAML reads ``yes`` as True; `times: yes` must not silently mean one repetition."""
    import pydantic

    from loyaltykit.rules.scenarios import GivenLine, Repeat

    with pytest.raises(pydantic.ValidationError, match="int"):
        Repeat.model_validate({"times": True})
    with pytest.raises(pydantic.ValidationError, match="int"):
        GivenLine.model_validate({"sku": "a", "amount": "1.00", "quantity": True})
    assert Repeat.model_validate({"times": 3}).times == 3
