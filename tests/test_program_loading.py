"""Loading program files: exact values, and precise diagnostics for every kind of mistake."""

from __future__ import annotations

import logging
import textwrap
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyaltykit.errors import Diagnostic, ProgramError
from loyaltykit.rules.loader import load_program, load_programs, validate_program_text
from loyaltykit.rules.program import (
    BirthdayBonus,
    CampaignBonus,
    CategoryMultiplier,
    DateWindow,
    DiscountReward,
    FirstOrderBonus,
    GracePeriod,
    MemberDay,
    PointsReward,
    RollingWindow,
    SkuMultiplier,
    SpecificDates,
)

PROGRAMS = Path(__file__).parent / "programs"

# Lines 1-5 of every inline program; the sections under test start on line 6.
HEADER = """\
id: tea
version: 1
effective_from: 2025-01-01T00:00:00+08:00
timezone: Asia/Shanghai
currency: CNY
"""


def program_text(body: str = "", header: str = HEADER) -> str:
    return header + textwrap.dedent(body)


def diagnose(body: str = "", header: str = HEADER) -> list[Diagnostic]:
    _, diagnostics = validate_program_text(program_text(body, header), file="tea.yaml")
    return diagnostics


def only(diagnostics: list[Diagnostic], code: str) -> Diagnostic:
    found = [d for d in diagnostics if d.code == code]
    assert len(found) == 1, f"expected one {code}, got:\n" + "\n".join(map(str, diagnostics))
    return found[0]


# --------------------------------------------------------------------------- valid programs


def test_full_program_loads_with_every_feature() -> None:
    program = load_program(PROGRAMS / "full.yaml")

    assert (program.id, program.version, program.currency) == ("leaf-and-cup", 1, "CNY")
    assert program.tz.key == "Asia/Shanghai"
    earning = program.earning
    assert [type(m) for m in earning.multipliers] == [
        MemberDay, DateWindow, SpecificDates, CategoryMultiplier, SkuMultiplier]
    member_day = earning.multipliers[0]
    assert isinstance(member_day, MemberDay)
    assert (member_day.day_of_month, member_day.factor) == (30, Decimal(2))
    assert member_day.clamp_to_month_end
    assert [type(b) for b in earning.bonuses] == [FirstOrderBonus, BirthdayBonus, CampaignBonus]
    assert (earning.caps.per_order, earning.caps.per_customer_per_year) == (5000, 50000)

    assert program.tiers is not None
    assert program.tiers.window == RollingWindow(type="rolling_days", days=365)
    assert program.tiers.retention == GracePeriod(type="grace_period", days=30)
    assert program.tier_ids() == ["customer", "member", "senior", "vip"]
    assert program.tiers.levels[0].qualify is None
    vip = program.tiers.levels[3]
    assert vip.qualify is not None and vip.qualify.match == "any"
    assert (vip.qualify.net_spend, vip.qualify.paid_orders) == (Decimal("5000.00"), 15)
    assert vip.benefits.tags == ["vip", "free-shipping"]
    assert vip.name == "VIP会员"

    referrals = program.referrals
    assert referrals is not None
    assert isinstance(referrals.referee_reward, DiscountReward)
    assert referrals.referrer_reward == PointsReward(type="points", points=500)
    assert (referrals.referrer_delay_days, referrals.cap_per_referrer_per_year) == (14, 20)
    assert referrals.trigger.min_order_amount == Decimal("99.00")
    assert program.expiry is not None and program.expiry.days == 365
    assert program.segments.at_risk_days == 360
    assert [r.id for r in program.redemption.rewards] == ["ten-yuan-off", "five-percent-off"]


def test_full_program_has_only_the_order_line_warnings() -> None:
    text = (PROGRAMS / "full.yaml").read_text(encoding="utf-8")
    program, diagnostics = validate_program_text(text)

    assert program is not None
    assert [(d.code, d.severity, d.path) for d in diagnostics] == [
        ("LK206", "warning", "earning.multipliers[3]"),
        ("LK206", "warning", "earning.multipliers[4]"),
    ]


def test_decimal_numbers_are_exact_never_floats() -> None:
    program = load_program(PROGRAMS / "full.yaml")

    sku = program.earning.multipliers[4]
    assert isinstance(sku, SkuMultiplier)
    assert sku.factor == Decimal("1.1")  # Decimal(1.1) would be 1.100000000000000088817...
    assert str(sku.factor) == "1.1"
    assert str(program.earning.multipliers[3].factor) == "1.5"
    assert program.redemption.point_value == Decimal("0.01")
    assert str(program.earning.bonuses[0].min_amount) == "50.00"


def test_effective_from_keeps_the_written_offset() -> None:
    program = load_program("tea.yaml", text=program_text())

    assert program.effective_from.utcoffset() == timedelta(hours=8)
    assert program.effective_from == datetime(2024, 12, 31, 16, tzinfo=timezone.utc)


def test_effective_from_in_utc_with_z() -> None:
    header = HEADER.replace("2025-01-01T00:00:00+08:00", "2025-01-01T00:00:00Z")
    program = load_program("tea.yaml", text=program_text(header=header))

    assert program.effective_from == datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_merge_keys_are_not_duplicate_keys() -> None:
    program, diagnostics = validate_program_text(program_text("""\
        earning:
          multipliers:
            - &double {type: date_window, id: d1, start: 2025-11-01, end: 2025-11-11, factor: 2}
            - <<: *double
              id: d2
        """))

    assert diagnostics == []
    assert program is not None
    assert [m.id for m in program.earning.multipliers] == ["d1", "d2"]


def test_warnings_do_not_stop_loading_and_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    text = program_text("""\
        earning:
          multipliers:
            - {type: member_day, id: month-end, day_of_month: 31, factor: 2}
        """)
    with caplog.at_level(logging.WARNING, logger="loyaltykit.rules.loader"):
        program = load_program("tea.yaml", text=text)

    assert program.earning.multipliers[0].id == "month-end"
    assert "LK207" in caplog.text and "tea.yaml:8" in caplog.text


# --------------------------------------------------------------------------- each code

CASES = [
    pytest.param("""\
        earning:
          caps: {per_order: 5
        tiers: x
        """, "LK100", "", 8, "", id="LK100-unclosed-flow-mapping"),
    pytest.param("""\
        earning:
        \tcaps: {}
        """, "LK100", "", 7, "indent with spaces", id="LK100-tab"),
    pytest.param("""\
        earning:
          multipliers:
            - type: member_day
              id: md
              day_of_month: 30
        """, "LK101", "earning.multipliers[0].factor", 8, "multiplier such as 2",
        id="LK101-missing-field"),
    pytest.param("""\
        earning:
          multipliers:
            - id: md
              factor: 2
        """, "LK101", "earning.multipliers[0].type", 8, "member_day, dates",
        id="LK101-missing-type"),
    pytest.param("""\
        earning:
          multipliers:
            - type: member_day
              id: md
              dayofmonth: 30
              day_of_month: 30
              factor: 2
        """, "LK102", "earning.multipliers[0].dayofmonth", 10, "did you mean 'day_of_month'?",
        id="LK102-typo"),
    pytest.param("""\
        colour: green
        """, "LK102", "colour", 6, "allowed fields here: id, version, effective_from",
        id="LK102-no-close-match"),
    pytest.param("x: " + "[" * 5000 + "]" * 5000 + "\n", "LK100", "", 1, "unclosed",
                 id="LK100-absurd-nesting"),
    pytest.param("""\
        earning:
          caps:
            per_order: lots
        """, "LK103", "earning.caps.per_order", 8, "a whole number", id="LK103-int"),
    pytest.param("""\
        redemption:
          rewards:
            - id: 2025
              points: 100
              discount: {value_type: fixed_amount, value: 5}
        """, "LK103", "redemption.rewards[0].id", 8, "quote it: id: '2025'", id="LK103-quote"),
    pytest.param("""\
        tiers:
          retention: grace_period
          levels: [{id: base}]
        """, "LK103", "tiers.retention", 7, "'type:' one of none, grace_period",
        id="LK103-mapping-expected"),
    pytest.param("""\
        tiers:
          levels:
            - id: base
            - gold
        """, "LK103", "tiers.levels[1]", 9, "fields: id, name, qualify", id="LK103-list-item"),
    pytest.param("""\
        2025: leaf
        """, "LK102", "[2025]", 6, "allowed fields here", id="LK102-number-key"),
    pytest.param("""\
        earning:
          multipliers:
            - {type: member_day, id: md, day_of_month: 30, factor: 150}
        """, "LK104", "earning.multipliers[0].factor", 8, "", id="LK104-factor"),
    pytest.param("""\
        tiers:
          window: {type: rolling_days, days: 0}
          levels: [{id: base}]
        """, "LK104", "tiers.window.days", 7, "", id="LK104-window-days"),
    pytest.param("""\
        referrals:
          referrer_reward: {type: points, points: 0}
        """, "LK104", "referrals.referrer_reward.points", 7, "", id="LK104-reward-points"),
    pytest.param("""\
        tiers:
          levels: []
        """, "LK104", "tiers.levels", 7, "", id="LK104-empty-list"),
    pytest.param("""\
        referrals:
          referee_reward:
            type: discount
            discount: {value_type: percent, value: 10}
        """, "LK105", "referrals.referee_reward.discount.value_type", 9,
        "did you mean 'percentage'?", id="LK105-choice"),
    pytest.param("""\
        earning:
          multipliers:
            - {type: date_window, id: feb, start: 2025-02-01, end: 2025-02-30, factor: 2}
        """, "LK105", "earning.multipliers[0].end", 8, "YYYY-MM-DD", id="LK105-impossible-date"),
    pytest.param("""\
        earning:
          multipliers:
            - {type: coupon, id: md, factor: 2}
        """, "LK106", "earning.multipliers[0].type", 8, "valid types here: member_day, dates",
        id="LK106-multiplier"),
    pytest.param("""\
        referrals:
          referee_reward: {type: point, points: 10}
        """, "LK106", "referrals.referee_reward.type", 7, "did you mean 'points'?",
        id="LK106-reward"),
    pytest.param("""\
        expiry:
          days: 365
          days: 180
        """, "LK107", "expiry.days", 8, "first written on line 7", id="LK107"),
]


@pytest.mark.parametrize(("body", "code", "path", "line", "hint"), CASES)
def test_structural_problem_is_reported_with_code_path_and_line(
    body: str, code: str, path: str, line: int, hint: str,
) -> None:
    diagnostic = only(diagnose(body), code)

    assert (diagnostic.path, diagnostic.line, diagnostic.severity) == (path, line, "error")
    assert hint in diagnostic.hint
    assert diagnostic.file == "tea.yaml"


@pytest.mark.parametrize(("header", "path", "line", "hint"), [
    (HEADER.replace("id: tea", "id: Tea Shop"), "id", 1, "'tea-shop'"),
    (HEADER.replace("Asia/Shanghai", "Asia/Shangai"), "timezone", 4,
     "did you mean 'Asia/Shanghai'?"),
    (HEADER.replace("CNY", "cny"), "currency", 5, "did you mean 'CNY'?"),
    (HEADER.replace("+08:00", ""), "effective_from", 3, "write 2025-01-01T00:00:00+08:00"),
])
def test_invalid_top_level_value(header: str, path: str, line: int, hint: str) -> None:
    diagnostic = only(diagnose(header=header), "LK105")

    assert (diagnostic.path, diagnostic.line) == (path, line)
    assert hint in diagnostic.hint


def test_offset_hint_follows_the_shops_timezone() -> None:
    header = HEADER.replace("+08:00", "").replace("Asia/Shanghai", "America/New_York")

    diagnostic = only(diagnose(header=header), "LK105")

    assert "2025-01-01T00:00:00-05:00" in diagnostic.hint


@pytest.mark.parametrize(("body", "path", "line", "written"), [
    ("segments: {active_days: yes}\n", "segments.active_days", 6, "yes"),
    ("earning:\n  caps: {per_order: true}\n", "earning.caps.per_order", 7, "true"),
    ("referrals:\n  referrer_delay_days: on\n  referee_reward: {type: points, points: 5}\n",
     "referrals.referrer_delay_days", 7, "on"),
    ("tiers:\n  levels:\n    - id: base\n    - {id: gold, qualify: {paid_orders: yes}}\n",
     "tiers.levels[1].qualify.paid_orders", 9, "yes"),
], ids=["active_days", "per_order", "referrer_delay_days", "paid_orders"])
def test_a_yes_where_a_whole_number_belongs_is_a_wrong_type_not_one(
    body: str, path: str, line: int, written: str,
) -> None:
    """YAML reads yes/true/on as a boolean, which a lax integer would take as 1 (one day)."""
    program, diagnostics = validate_program_text(program_text(body), file="tea.yaml")

    diagnostic = only(diagnostics, "LK103")
    assert program is None
    assert (diagnostic.path, diagnostic.line) == (path, line)
    assert diagnostic.message.endswith(f"must be a whole number; got {written}")


def test_range_and_type_hints_say_what_the_field_is_for() -> None:
    zero_days = only(diagnose("segments: {active_days: 0}\n"), "LK104")
    not_a_day = only(diagnose("""\
        earning:
          multipliers:
            - {type: member_day, id: md, day_of_month: last, factor: 2}
        """), "LK103")

    assert zero_days.hint.startswith("use a value greater than 0 (")
    assert "last paid order" in zero_days.hint
    assert not_a_day.hint.startswith("replace it with a whole number (")
    assert "clamp_to_month_end" in not_a_day.hint


def test_missing_top_level_field_points_at_the_top_mapping() -> None:
    diagnostic = only(diagnose(header=HEADER.replace("currency: CNY\n", "")), "LK101")

    assert (diagnostic.path, diagnostic.line) == ("currency", 1)


@pytest.mark.parametrize(("text", "found"), [
    ("", "empty"),
    ("# only a comment\n", "empty"),
    ("- id: tea\n- version: 1\n", "a list"),
    ("tea\n", "'tea'"),
])
def test_top_level_must_be_a_mapping(text: str, found: str) -> None:
    program, diagnostics = validate_program_text(text)

    assert program is None
    assert [d.code for d in diagnostics] == ["LK108"]
    assert found in diagnostics[0].message


def test_duplicate_key_does_not_hide_other_problems() -> None:
    diagnostics = diagnose("""\
        expiry:
          days: 365
          days: 0
        """)

    assert [(d.code, d.line) for d in diagnostics] == [("LK107", 8), ("LK104", 8)]


# --------------------------------------------------------------------------- semantic checks

SEMANTIC_CASES = [
    pytest.param("""\
        earning:
          multipliers:
            - {type: member_day, id: promo, day_of_month: 15, factor: 2}
            - {type: dates, id: promo, dates: [2025-05-20], factor: 2}
        """, "LK201", "earning.multipliers[1].id", 9, id="LK201-multipliers"),
    pytest.param("""\
        tiers:
          levels:
            - id: base
            - id: base
              qualify: {paid_orders: 2}
        """, "LK201", "tiers.levels[1].id", 9, id="LK201-tiers"),
    pytest.param("""\
        earning:
          bonuses:
            - type: campaign
              id: spring
              points: 100
              start: 2026-02-10
              end: 2026-01-26
        """, "LK202", "earning.bonuses[0].end", 12, id="LK202-campaign"),
    pytest.param("""\
        tiers:
          levels:
            - id: base
              qualify: {paid_orders: 1}
        """, "LK203", "tiers.levels[0].qualify", 9, id="LK203-entry-level-qualifies"),
    pytest.param("""\
        tiers:
          levels:
            - id: base
            - id: gold
        """, "LK203", "tiers.levels[1]", 9, id="LK203-later-level-without-qualify"),
    pytest.param("""\
        tiers:
          levels:
            - id: base
            - {id: silver, qualify: {net_spend: 2000}}
            - {id: gold, qualify: {net_spend: 1000}}
        """, "LK204", "tiers.levels[2].qualify.net_spend", 10, id="LK204"),
    pytest.param("""\
        segments:
          active_days: 90
          silent_days: 90
        """, "LK205", "segments.silent_days", 8, id="LK205"),
    pytest.param("""\
        earning:
          multipliers:
            - {type: category, id: teaware, categories: [teaware], factor: 1.5}
        """, "LK206", "earning.multipliers[0]", 8, id="LK206"),
    pytest.param("""\
        earning:
          multipliers:
            - type: member_day
              id: month-end
              day_of_month: 31
              factor: 2
        """, "LK207", "earning.multipliers[0].day_of_month", 10, id="LK207"),
    pytest.param("""\
        referrals:
          referrer_delay_days: 14
        """, "LK208", "referrals", 7, id="LK208"),
    pytest.param("""\
        redemption:
          rewards:
            - id: free
              points: 100
              discount: {value_type: percentage, value: 120}
        """, "LK209", "redemption.rewards[0].discount.value", 10, id="LK209"),
]

WARNINGS = {"LK204", "LK206", "LK207", "LK208"}


@pytest.mark.parametrize(("body", "code", "path", "line"), SEMANTIC_CASES)
def test_semantic_problem_is_reported_with_code_path_and_line(
    body: str, code: str, path: str, line: int,
) -> None:
    program, diagnostics = validate_program_text(program_text(body), file="tea.yaml")

    diagnostic = only(diagnostics, code)
    assert (diagnostic.path, diagnostic.line) == (path, line)
    assert diagnostic.severity == ("warning" if code in WARNINGS else "error")
    assert diagnostic.hint
    assert (program is None) == (diagnostic.severity == "error")


def test_a_default_that_breaks_a_rule_points_at_its_section() -> None:
    diagnostic = only(diagnose("segments:\n  active_days: 200\n"), "LK205")

    assert (diagnostic.path, diagnostic.line) == ("segments.silent_days", 7)
    assert "180, the default" in diagnostic.message


def test_semantic_checks_wait_for_a_valid_structure() -> None:
    diagnostics = diagnose("""\
        earning:
          multipliers:
            - {type: member_day, id: promo, day_of_month: 15, factor: 2}
            - {type: member_day, id: promo, day_of_month: 16, factor: two}
        """)

    assert [d.code for d in diagnostics] == ["LK103"]


# --------------------------------------------------------------------------- all at once


def test_a_file_with_many_problems_reports_all_of_them() -> None:
    with pytest.raises(ProgramError) as caught:
        load_program(PROGRAMS / "many_problems.yaml")

    found = [(d.code, d.path, d.line) for d in caught.value.diagnostics]
    assert found == [
        ("LK105", "id", 2),
        ("LK105", "effective_from", 4),
        ("LK105", "timezone", 5),
        ("LK101", "earning.multipliers[0].day_of_month", 9),
        ("LK102", "earning.multipliers[0].dayofmonth", 11),
        ("LK106", "earning.multipliers[1].type", 13),
        ("LK107", "earning.caps.per_order", 17),
        ("LK104", "tiers.levels[0].benefits.discount_percent", 22),
    ]


def test_program_error_lists_every_problem_with_file_and_line() -> None:
    path = PROGRAMS / "many_problems.yaml"
    with pytest.raises(ProgramError) as caught:
        load_program(path)

    message = str(caught.value)
    assert message.startswith("8 problems in program:")
    for diagnostic in caught.value.diagnostics:
        assert f"{path}:{diagnostic.line}:{diagnostic.column}: error {diagnostic.code}" in message


def test_file_that_is_not_utf8_names_the_line() -> None:
    with pytest.raises(ProgramError) as caught:
        load_program(PROGRAMS / "gbk-encoded.yaml")

    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.line) == ("LK100", 3)
    assert "UTF-8" in diagnostic.hint


_FULL_LINES = (PROGRAMS / "full.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
_EDITS = st.lists(st.tuples(
    st.sampled_from(["delete", "duplicate", "replace", "drop"]),
    st.integers(0, len(_FULL_LINES) - 1), st.integers(0, 80),
    st.sampled_from([*" :-[]{}#'\"\tx1.&*!?|>%@`,", "\n", "  ", "é", "\x00"]),
), min_size=1, max_size=5)


def _edit(lines: list[str], edits: list[tuple[str, int, int, str]]) -> str:
    lines = list(lines)
    for op, row, col, char in edits:
        row %= len(lines)
        line = lines[row]
        col = min(col, len(line))
        if op == "delete":
            del lines[row]
        elif op == "duplicate":
            lines.insert(row, line)
        elif op == "replace":
            lines[row] = line[:col] + char + line[col + 1:]
        else:
            lines[row] = line[:col] + line[col + 1:]
        if not lines:
            break
    return "".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_EDITS)
def test_any_edit_of_a_valid_file_gets_diagnostics_not_exceptions(
    edits: list[tuple[str, int, int, str]],
) -> None:
    program, diagnostics = validate_program_text(_edit(_FULL_LINES, edits))

    assert (program is None) == any(d.severity == "error" for d in diagnostics)
    assert all(d.line is not None and d.code.startswith("LK") for d in diagnostics)


# --------------------------------------------------------------------------- versions


def test_versions_load_in_version_order() -> None:
    programs = load_programs([PROGRAMS / "tea-v2.yaml", PROGRAMS / "tea-v1.yaml"])

    assert [p.label for p in programs] == ["tea@v1", "tea@v2"]


def test_two_files_with_one_version_clash() -> None:
    second = PROGRAMS / "tea-v2-again.yaml"
    with pytest.raises(ProgramError) as caught:
        load_programs([PROGRAMS / "tea-v1.yaml", PROGRAMS / "tea-v2.yaml", second])

    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.file, diagnostic.path, diagnostic.line) == (
        "LK211", str(second), "version", 3)
    assert "tea-v2.yaml" in diagnostic.message


def test_later_version_must_take_effect_later(tmp_path: Path) -> None:
    early = tmp_path / "tea-v3.yaml"
    early.write_text(program_text(header=HEADER.replace("version: 1", "version: 3")),
                     encoding="utf-8")

    with pytest.raises(ProgramError) as caught:
        load_programs([PROGRAMS / "tea-v2.yaml", early])

    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.file, diagnostic.line) == ("LK212", str(early), 3)


def test_versions_of_different_programs_clash(tmp_path: Path) -> None:
    other = tmp_path / "coffee.yaml"
    other.write_text(program_text(header=HEADER.replace("id: tea", "id: coffee")
                                  .replace("version: 1", "version: 3")), encoding="utf-8")

    with pytest.raises(ProgramError) as caught:
        load_programs([PROGRAMS / "tea-v1.yaml", other])

    assert [(d.code, d.line) for d in caught.value.diagnostics] == [("LK210", 1)]


def test_problems_of_every_file_are_reported_together(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: tea\nversion: [\n", encoding="utf-8")

    with pytest.raises(ProgramError) as caught:
        load_programs([PROGRAMS / "many_problems.yaml", broken])

    files = {Path(d.file).name for d in caught.value.diagnostics}
    assert files == {"many_problems.yaml", "broken.yaml"}
