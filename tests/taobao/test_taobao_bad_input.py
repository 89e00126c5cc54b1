"""Broken files: a precise error naming file, line and column, and nothing imported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loyaltykit.adapters.taobao import import_files
from loyaltykit.errors import InputError, InputProblem

from .corpus import LAYOUT_46, MemorySink, csv_text, order, write_csv, write_xlsx

FILES = Path(__file__).parent / "files"
BAD = FILES / "bad"

# file -> (line, column label, words the message must contain)
EXPECTED = {
    "truncated.csv": (6, "收货地址, column N", "cut short"),
    "truncated-row.csv": (7, "联系电话, column P", "15 fields but the header has 46"),
    "wrong-encoding.csv": (1, None, "not a known report"),
    "mixed-encoding.csv": (4, "买家会员名, column B", "not valid utf-8"),
    "duplicated-column.csv": (1, "买家会员名, column AU", "duplicated column"),
    "duplicated-header.csv": (5, "订单编号, column A", "header row appears again"),
    "shifted-columns.csv": (4, "column AU", "47 fields but the header has 46"),
    "non-numeric-amount.csv": (5, "买家实际支付金额, column I", "not an amount"),
    "empty.csv": (1, None, "empty"),
    "actually-xlsx.csv": (1, None, "Excel workbook (xlsx) but is named .csv"),
}


def only_problem(paths: list[Path]) -> tuple[InputProblem, MemorySink]:
    sink = MemorySink()
    with pytest.raises(InputError) as caught:
        import_files(sink, paths)
    assert len(caught.value.problems) == 1, caught.value
    return caught.value.problems[0], sink


def test_the_corpus_has_every_kind_of_breakage() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_broken_file_is_refused_precisely(name: str) -> None:
    line, column, words = EXPECTED[name]
    problem, sink = only_problem([BAD / name])
    assert (problem.file, problem.line, problem.field) == (name, line, column)
    assert words in problem.message
    assert problem.hint  # always says what to do
    assert sink.calls == 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_broken_file_stops_the_good_ones_beside_it(tmp_path: Path, name: str) -> None:
    good = sorted((FILES / "good").iterdir())
    sink = MemorySink()
    with pytest.raises(InputError):
        import_files(sink, [*good, BAD / name])
    assert sink.calls == 0 and not sink.events


def test_huge_field_is_refused_with_its_column(tmp_path: Path) -> None:
    rows = [order("51"), order("52", message="很长" * 80_000)]  # 160k characters
    path = write_csv(tmp_path / "huge.csv", LAYOUT_46, rows)
    problem, _ = only_problem([path])
    assert (problem.line, problem.field) == (3, "买家留言, column L")
    assert "longer than" in problem.message


def test_long_field_under_the_csv_limit_is_still_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "long.csv", LAYOUT_46, [order("53", message="x" * 40_000)])
    problem, _ = only_problem([path])
    assert (problem.line, problem.field) == (2, "买家留言, column L")


def test_file_cut_inside_a_quoted_field(tmp_path: Path) -> None:
    text = csv_text(LAYOUT_46, [order("54"), order("55")])
    path = tmp_path / "cut.csv"
    path.write_bytes(text[:text.rindex("广州市")].encode("gbk"))
    problem, _ = only_problem([path])
    assert (problem.line, problem.field) == (3, "收货地址, column N")
    assert "cut short" in problem.message


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    rows = [order(str(600 + n), paid="x" if n % 2 else "10.00") for n in range(6)]
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, rows)
    with pytest.raises(InputError) as caught:
        import_files(MemorySink(), [path])
    assert [p.line for p in caught.value.problems] == [3, 5, 7]


def test_a_bad_last_row_of_a_long_file_means_nothing_is_ingested(tmp_path: Path) -> None:
    rows = [order(str(700000 + n), f"b{n}") for n in range(3000)]
    rows[-1]["订单创建时间"] = "yesterday"
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, rows)
    problem, sink = only_problem([path])
    assert (problem.line, problem.field) == (3001, "订单创建时间, column R")
    assert sink.calls == 0


def test_masked_buyer_names_are_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, [order("56", "t**1")])
    problem, _ = only_problem([path])
    assert problem.field == "买家会员名, column B" and "masked" in problem.message


def test_forcing_the_wrong_encoding_fails_at_the_first_bad_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, [order("57")])
    sink = MemorySink()
    with pytest.raises(InputError) as caught:
        from loyaltykit.adapters.taobao import ImportOptions

        import_files(sink, [path], options=ImportOptions(encoding="utf-8"))
    assert caught.value.problems[0].line == 1
    assert "--encoding" in caught.value.problems[0].hint


def test_old_binary_xls_and_utf16_text_say_how_to_resave(tmp_path: Path) -> None:
    xls = tmp_path / "退款报表.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    utf16 = tmp_path / "orders.txt"
    utf16.write_bytes(csv_text(LAYOUT_46, [order("58")]).encode("utf-16"))
    for path, words in ((xls, "save it as .xlsx"), (utf16, "CSV UTF-8")):
        problem, _ = only_problem([path])
        assert words in problem.hint


def test_damaged_xlsx_is_refused(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "full.xlsx", LAYOUT_46, [[""] * 46])
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[:2000])
    problem, _ = only_problem([cut])
    assert problem.file == "cut.xlsx" and "download it again" in problem.hint


def test_item_report_alone_is_refused(tmp_path: Path) -> None:
    items = FILES / "good" / "ExportOrderDetailList201707081200.csv"
    copy = shutil.copy(items, tmp_path / items.name)
    problem, _ = only_problem([Path(copy)])
    assert "order report" in problem.hint
