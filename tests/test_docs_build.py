"""The documentation site builds with warnings as errors, the published JSON Schemas match the
models, and the GitHub Actions example in the CI guide runs what it says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from loyaltykit.rules.program import json_schema
from loyaltykit.rules.scenarios import scenario_file_schema
from loyaltykit.testing.cli import register

ROOT = Path(__file__).parent.parent
SCHEMAS = {
    ROOT / "docs" / "schema" / "program.schema.json": json_schema,
    ROOT / "docs" / "schema" / "scenarios.schema.json": scenario_file_schema,
}
WORKFLOW = ROOT / "examples" / "github-actions" / "loyalty-program.yml"


@pytest.mark.parametrize("path", list(SCHEMAS), ids=lambda p: p.name)
def test_the_published_schema_matches_the_models(path: Path) -> None:
    expected = json.dumps(SCHEMAS[path](), indent=2, sort_keys=True) + "\n"
    if os.environ.get("LOYALTYKIT_UPDATE_SCHEMAS") == "1":
        path.write_text(expected, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.name} is out of date with the models: run "
        "LOYALTYKIT_UPDATE_SCHEMAS=1 pytest tests/test_docs_build.py and commit the result")


def test_the_docs_build_strict(tmp_path: Path) -> None:
    for package in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(package, reason="the docs need the packages mkdocs-material and "
                            "mkdocstrings[python] (pip install mkdocs-material "
                            "'mkdocstrings[python]')")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    program = (site / "reference" / "program" / "index.html").read_text(encoding="utf-8")
    for model in ("memberday", "tierlevel", "graceperiod", "referrals", "redemptionreward"):
        assert f'id="{model}"' in program
    diagnostics = (site / "reference" / "diagnostics" / "index.html").read_text(encoding="utf-8")
    assert "LK107" in diagnostics and "LK304" in diagnostics
    assert (site / "schema" / "program.schema.json").is_file()


def test_the_github_actions_example_runs_the_scenario_tests() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["check"]["steps"]
    uses = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    assert uses == ["actions/checkout", "actions/setup-python"]
    runs = [step["run"] for step in steps if "run" in step]
    assert runs[0] == "pip install loyaltykit"
    test_step = next(run for run in runs if run.startswith("loyaltykit test "))
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """loyaltykit"""

    target = test_step.split()[-1].replace("loyalty/", str(ROOT / "examples" / "taobao-tea-shop"))
    result = CliRunner().invoke(app, ["test", target], env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 0, result.output
    assert "::error" not in result.output
