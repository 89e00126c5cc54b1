"""The HTML report: well-formed, self-contained, and showing exactly the JSON's figures."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from whatif_kit import program, referral_history, tier_history

from loyaltykit.whatif import history_from_events, htmlreport, render_html, simulate

VOID = {"meta", "br", "hr", "img", "input", "link"}


class _Page(HTMLParser):
    """Checks that every element is closed in order and collects the figure cells."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.cells: dict[tuple[str, str], str] = {}
        self.text: list[str] = []
        self.tags: set[str] = set()
        self.links: list[str] = []
        self._cell: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        found = dict(attrs)
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag not in VOID:
            self.stack.append(tag)
        if "data-figure" in found:
            self._cell = (found["data-figure"] or "", found["data-side"] or "")
            self.cells[self._cell] = ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag == "td":
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self.cells[self._cell] += data


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.problems == []
    assert parser.stack == []
    return parser


def _shown(text: str, currency: str) -> str | None:
    """A cell's text as the JSON writes the value ('+1,234 CNY' -> '1234', 'n/a' -> None)."""
    if text in ("n/a", "new"):
        return None
    return text.removesuffix(f" {currency}").removesuffix("%").lstrip("+").replace(",", "")


@pytest.fixture(scope="module")
def money_data() -> dict[str, Any]:
    history = history_from_events(referral_history())
    data = simulate(history, [program("shop-v1.yaml")], [program("shop-v2.yaml")]).as_json()
    data["conditions"] = [{"expression": "liability_delta_pct > 10", "holds": False}]
    return data


@pytest.fixture(scope="module")
def tier_data() -> dict[str, Any]:
    history = history_from_events(tier_history())
    return simulate(history, [program("tiers-v1.yaml")], [program("tiers-v2.yaml")]).as_json()


def test_the_page_is_well_formed_xml_and_balanced_html(money_data: dict[str, Any],
                                                       tier_data: dict[str, Any]) -> None:
    for data in (money_data, tier_data):
        page = render_html(data)
        root = ET.fromstring(page.split("\n", 1)[1])  # after <!DOCTYPE html>
        svgs = root.findall(".//{http://www.w3.org/2000/svg}svg")
        assert len(svgs) == 3  # liability over time, tier mix, movement matrix
        _parse(page)


def test_the_page_needs_nothing_from_the_network_and_no_script(
        money_data: dict[str, Any]) -> None:
    parser = _parse(render_html(money_data))
    assert "script" not in parser.tags
    assert parser.links == []
    assert "style" in parser.tags  # styles are inline


def test_every_figure_of_the_json_is_on_the_page(money_data: dict[str, Any]) -> None:
    parser = _parse(render_html(money_data))
    currency = money_data["currency"]
    for name, figure in money_data["figures"].items():
        for side in ("baseline", "candidate", "delta", "delta_pct"):
            expected = figure[side]
            shown = _shown(parser.cells[(name, side)].strip(), currency)
            assert shown == (None if expected is None else str(expected)), (name, side)
    text = "".join(parser.text)
    for row in money_data["liability_monthly"]:
        assert row["month"] in text
        assert f"{row['candidate']:,}" in text and f"{row['baseline']:,}" in text
    assert "liability_delta_pct > 10: does not hold" in text


def test_the_movers_and_the_matrix_are_on_the_page(tier_data: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    text = "".join(_parse(render_html(tier_data)).text)
    assert "c1membersilverup" in text.replace(" ", "")
    assert "c3goldsilverdown" in text.replace(" ", "")
    assert "gold -> silver: 1" in text  # the matrix cell's tooltip
    assert "1 customers move up" in text and "1 move down" in text
    monkeypatch.setattr(htmlreport, "MOVERS_SHOWN", 1)
    text = "".join(_parse(render_html(tier_data)).text)
    assert "the first 1 of 2; the JSON lists all" in text
    assert "c3" not in text.split("Who moves")[1]


def test_text_from_the_data_is_escaped(money_data: dict[str, Any]) -> None:
    data = dict(money_data, notes=["<script>alert(1)</script> & more"])
    page = render_html(data)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    _parse(page)


def _chromium() -> str | None:
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome",
                 "chrome", "headless_shell"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_the_page_renders_in_headless_chromium(money_data: dict[str, Any],
                                               tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium or Chrome on PATH; the page is validated as XML and HTML above")
    page = tmp_path / "report.html"
    page.write_text(render_html(money_data), encoding="utf-8")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "Outstanding points (liability)" in done.stdout
    assert done.stdout.count("<svg") == 3
