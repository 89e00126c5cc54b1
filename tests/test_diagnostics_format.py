"""Diagnostics rendered for people (text), tools (JSON) and GitHub Actions (annotations)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loyaltykit.errors import Diagnostic
from loyaltykit.rules.diagnostics_format import (
    Format,
    github_annotation,
    render,
    to_json,
    to_text,
)
from loyaltykit.rules.loader import validate_program_text

UNKNOWN_FIELD = Diagnostic("LK102", "unknown field 'factr'", path="earning.multipliers[0].factr",
                           line=12, column=7, hint="did you mean 'factor'?",
                           file="shop/program.yaml")
LOW_TIER = Diagnostic("LK204", "gold needs less net spend than silver", line=30, column=5,
                      file="shop/program.yaml", severity="warning")

BAD_PROGRAM = """\
id: tea
version: 1
effective_from: 2025-01-01T00:00:00+08:00
timezone: Asia/Shanghai
currency: CNY
earning:
  multipliers:
    - {type: member_day, id: md, day_of_month: 18, factr: 2}
  bonuses:
    - {type: first_order, id: hello, points: -5}
"""


def test_text_is_one_problem_per_line_with_its_hint() -> None:
    assert to_text([UNKNOWN_FIELD, LOW_TIER]) == (
        "shop/program.yaml:12:7: error LK102: unknown field 'factr' "
        "(at earning.multipliers[0].factr)\n    hint: did you mean 'factor'?\n"
        "shop/program.yaml:30:5: warning LK204: gold needs less net spend than silver")


def test_json_carries_every_field_and_the_counts() -> None:
    document = json.loads(to_json([UNKNOWN_FIELD, LOW_TIER]))
    assert (document["version"], document["errors"], document["warnings"]) == (1, 1, 1)
    assert document["diagnostics"][0] == {
        "code": "LK102", "severity": "error", "message": "unknown field 'factr'",
        "file": "shop/program.yaml", "line": 12, "column": 7,
        "path": "earning.multipliers[0].factr", "hint": "did you mean 'factor'?"}
    assert document["diagnostics"][1]["path"] is None


def test_json_keeps_non_ascii_text_readable() -> None:
    text = to_json([Diagnostic("LK105", "名称 '会员日' is not valid", file="计划.yaml")])
    assert "会员日" in text and "计划.yaml" in text


def test_github_annotations_place_the_problem_on_its_line() -> None:
    assert github_annotation(UNKNOWN_FIELD) == (
        "::error file=shop/program.yaml,line=12,col=7,title=LK102::unknown field 'factr' "
        "(at earning.multipliers[0].factr)%0Ahint: did you mean 'factor'?")
    assert github_annotation(LOW_TIER).startswith(
        "::warning file=shop/program.yaml,line=30,col=5,title=LK204::")


def test_github_annotations_escape_what_would_break_the_command() -> None:
    tricky = Diagnostic("LK105", "100% wrong:\r\nsecond line", file="a,b:c.yaml", line=1)
    assert github_annotation(tricky) == (
        "::error file=a%2Cb%3Ac.yaml,line=1,title=LK105::100%25 wrong:%0D%0Asecond line")


def test_a_problem_without_a_file_is_still_an_annotation() -> None:
    assert github_annotation(Diagnostic("LK210", "two program ids")) == \
        "::error title=LK210::two program ids"


def test_relative_paths_for_annotations(tmp_path: Path) -> None:
    absolute = Diagnostic("LK102", "x", file=str(tmp_path / "shop" / "program.yaml"), line=1)
    outside = Diagnostic("LK102", "y", file="/elsewhere/program.yaml", line=2)
    rendered = render([absolute, outside], Format.github, relative_to=tmp_path)
    assert rendered.splitlines() == [
        "::error file=shop/program.yaml,line=1,title=LK102::x",
        "::error file=/elsewhere/program.yaml,line=2,title=LK102::y"]


def test_a_real_program_renders_in_every_format() -> None:
    _, diagnostics = validate_program_text(BAD_PROGRAM, file="program.yaml")
    codes = {(d.code, d.line) for d in diagnostics}
    assert {("LK102", 8), ("LK104", 10)} <= codes
    annotations = render(diagnostics, "github").splitlines()
    assert len(annotations) == len(diagnostics)
    assert all(a.startswith("::error file=program.yaml,line=") for a in annotations)
    assert json.loads(render(diagnostics, "json"))["errors"] == len(diagnostics)
    assert render(diagnostics, "text") == "\n".join(map(str, diagnostics))


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'xml' is not a valid Format"):
        render([UNKNOWN_FIELD], "xml")
