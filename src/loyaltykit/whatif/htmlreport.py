"""The what-if report as one self-contained HTML page.

The page is rendered from the same JSON document ``--json`` prints, so it can never show a
figure the JSON does not have. Each figure cell carries ``data-figure`` and ``data-side``
attributes, which lets tests (and scrapers) find the numbers without parsing prose. The
markup is well-formed XML (every element closed, entities escaped) and needs no script.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from loyaltykit.whatif.charts import BASELINE, CANDIDATE, line_chart, matrix_chart, stacked_bars

__all__ = ["MOVERS_SHOWN", "render_html"]

MOVERS_SHOWN = 500  # the page lists this many movers; the JSON has all of them

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; color: #111;
       padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.2rem; }
.meta { color: #4b5563; } table { border-collapse: collapse; width: 100%; margin: .6rem 0; }
th, td { border-bottom: 1px solid #e5e7eb; padding: .3rem .5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; white-space: normal; }
td { white-space: nowrap; } th { background: #f3f4f6; }
.up { color: #047857; } .down { color: #b91c1c; } .key { font-size: 1.05rem; }
.more { color: #1d4ed8; } .less { color: #b45309; } svg { max-width: 100%; height: auto; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; } .card { border: 1px solid #e5e7eb;
  border-radius: 8px; padding: .6rem .9rem; min-width: 12rem; }
.card b { display: block; font-size: 1.3rem; } .note { color: #92400e; }
@media print { h2 { page-break-before: auto; } }
"""


def _int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _cell(value: Any, unit: str, currency: str) -> str:
    if value is None:
        return "n/a"
    if unit == "money":
        return f"{Decimal(value):,} {escape(currency)}"
    return _int(value)


def _signed(value: Any, unit: str, currency: str) -> str:
    if value is None:
        return "n/a"
    text = _cell(value, unit, currency)
    negative = str(value).startswith("-")
    zero = str(value).strip("-0.") == ""
    return text if negative or zero else f"+{text}"


def _pct(value: str | None) -> str:
    if value is None:
        return "new"
    return f"{value}%" if value.startswith("-") or value.strip("-0.") == "" else f"+{value}%"


def _tone(delta: Any) -> str:
    text = str(delta)
    if delta is None or text.strip("-0.") == "":
        return ""
    return ' class="less"' if text.startswith("-") else ' class="more"'


def _figures_table(figures: Mapping[str, Mapping[str, Any]], names: Sequence[str],
                   currency: str) -> str:
    rows = ["<table><thead><tr><th>Figure</th><th>Baseline</th><th>Candidate</th>"
            "<th>Difference</th><th>Change</th></tr></thead><tbody>"]
    for name in names:
        f = figures[name]
        unit = f["unit"]
        rows.append(
            f'<tr id="figure-{escape(name)}"><td title="{escape(name)}">{escape(f["label"])}</td>'
            f'<td data-figure="{escape(name)}" data-side="baseline">'
            f'{_cell(f["baseline"], unit, currency)}</td>'
            f'<td data-figure="{escape(name)}" data-side="candidate">'
            f'{_cell(f["candidate"], unit, currency)}</td>'
            f'<td data-figure="{escape(name)}" data-side="delta"{_tone(f["delta"])}>'
            f'{_signed(f["delta"], unit, currency)}</td>'
            f'<td data-figure="{escape(name)}" data-side="delta_pct">{_pct(f["delta_pct"])}'
            "</td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _cards(data: Mapping[str, Any]) -> str:
    figures, currency = data["figures"], data["currency"]
    moves = data["tier_movement"]
    picks = [("Liability", "liability", "points"), ("Liability value", "liability_value", "money"),
             ("Points issued", "points_issued", "points"),
             ("Referral cost", "referral_cost_value", "money")]
    cards = []
    for title, name, unit in picks:
        f = figures[name]
        cards.append(f'<div class="card">{escape(title)}<b>{_signed(f["delta"], unit, currency)}'
                     f'</b>{_cell(f["baseline"], unit, currency)} &#8594; '
                     f'{_cell(f["candidate"], unit, currency)} ({_pct(f["delta_pct"])})</div>')
    cards.append(f'<div class="card">Customers changing tier<b>{_int(moves["moved"])}</b>'
                 f'<span class="up">{_int(moves["up"])} up</span>, '
                 f'<span class="down">{_int(moves["down"])} down</span></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _liability(data: Mapping[str, Any]) -> str:
    rows = data["liability_monthly"]
    months = [r["month"] for r in rows]
    chart = line_chart(months, [("Baseline", BASELINE, [r["baseline"] for r in rows]),
                                ("Candidate", CANDIDATE, [r["candidate"] for r in rows])],
                       "Outstanding points at the end of each month", "points")
    currency = data["currency"]
    table = ["<table><thead><tr><th>Month</th><th>Baseline</th><th>Candidate</th>"
             "<th>Difference</th><th>Baseline value</th><th>Candidate value</th></tr></thead>"
             "<tbody>"]
    for r in rows:
        table.append(f'<tr><td>{escape(r["month"])}</td><td>{_int(r["baseline"])}</td>'
                     f'<td>{_int(r["candidate"])}</td><td{_tone(r["delta"])}>'
                     f'{_signed(r["delta"], "points", currency)}</td>'
                     f'<td>{_cell(r["baseline_value"], "money", currency)}</td>'
                     f'<td>{_cell(r["candidate_value"], "money", currency)}</td></tr>')
    table.append("</tbody></table>")
    return chart + "<details><summary>Monthly figures</summary>" + "".join(table) + "</details>"


def _tiers(data: Mapping[str, Any], tier_names: Sequence[str]) -> str:
    figures = data["figures"]
    rows = [(side.capitalize(), [(name[5:], figures[name][side] or 0) for name in tier_names])
            for side in ("baseline", "candidate")]
    return stacked_bars(rows, "Customers per tier at the end, baseline and candidate")


def _movement(data: Mapping[str, Any]) -> str:
    moves = data["tier_movement"]
    matrix = moves["matrix"]
    parts = [matrix_chart(matrix["rows"], matrix["columns"], matrix["counts"],
                          "Tier movement: baseline tier (rows) to candidate tier (columns)",
                          "baseline tier", "candidate tier"),
             f'<p class="key"><span class="up">{_int(moves["up"])} customers move up</span>, '
             f'<span class="down">{_int(moves["down"])} move down</span>, '
             f'{_int(moves["sideways"])} change to a tier of the same rank.</p>']
    movers = moves["customers"]
    if movers:
        shown = movers[:MOVERS_SHOWN]
        more = (f" (the first {len(shown):,} of {len(movers):,}; the JSON lists all)"
                if len(movers) > len(shown) else "")
        rows = "".join(f'<tr><td>{escape(m["customer_id"])}</td><td>{escape(m["baseline"])}'
                       f'</td><td>{escape(m["candidate"])}</td>'
                       f'<td class="{escape(m["direction"])}">{escape(m["direction"])}</td></tr>'
                       for m in shown)
        parts.append(f"<details><summary>Who moves{more}</summary><table><thead><tr>"
                     "<th>Customer</th><th>Baseline tier</th><th>Candidate tier</th>"
                     f"<th>Direction</th></tr></thead><tbody>{rows}</tbody></table></details>")
    return "".join(parts)


def _programs(data: Mapping[str, Any]) -> str:
    items = []
    for side in ("baseline", "candidate"):
        info = data[side]
        files = f' from {escape(", ".join(info["files"]))}' if info["files"] else ""
        value = (f'one point is worth {escape(info["point_value"])} {escape(data["currency"])}'
                 if info["point_value"] else "no redemption.point_value stated")
        items.append(f'<li><b>{side.capitalize()}</b>: {escape(", ".join(info["programs"]))}'
                     f'{files}; {value}; {_int(info["events_replayed"])} events replayed in '
                     f'{info["seconds"]} s</li>')
    return f'<ul>{"".join(items)}</ul>'


def render_html(data: Mapping[str, Any]) -> str:
    """The page for a comparison's JSON document (:meth:`Comparison.as_json`)."""
    figures, currency = data["figures"], data["currency"]
    history = data["history"]
    names = list(figures)
    tier_names = [n for n in names if n.startswith("tier_")]
    sections = [
        ("Summary", _cards(data) + _programs(data)),
        ("Liability over time", _liability(data)),
        ("Tier mix at the end", _tiers(data, tier_names)
         + _figures_table(figures, [*tier_names, "customers"], currency)),
        ("Tier movement", _movement(data)),
        ("Points", _figures_table(figures, [n for n in names if n.startswith("points_")
                                            or n.startswith("liability")], currency)),
        ("Segments at the end", _figures_table(
            figures, [n for n in names if n.startswith("segment_")], currency)),
        ("Referrals", _figures_table(figures, [n for n in names if n.startswith("referral")],
                                     currency)),
        ("Events", _figures_table(figures, ["rejected_events"], currency)),
    ]
    notes = "".join(f'<li class="note">{escape(n)}</li>' for n in data.get("notes", []))
    conditions = "".join(
        f'<li>{escape(c["expression"])}: <b>{"holds" if c["holds"] else "does not hold"}</b></li>'
        for c in data.get("conditions", []))
    body = "".join(f'<section id="{escape(title.lower().replace(" ", "-"))}"><h2>'
                   f'{escape(title)}</h2>{content}</section>' for title, content in sections)
    extra = ""
    if notes:
        extra += f"<h2>Notes</h2><ul>{notes}</ul>"
    if conditions:
        extra += f"<h2>Conditions (--fail-if)</h2><ul>{conditions}</ul>"
    title = (f'What-if: {", ".join(data["candidate"]["programs"])} instead of '
             f'{", ".join(data["baseline"]["programs"])}')
    return (
        '<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head>'
        '<meta charset="utf-8"/><meta name="viewport" content="width=device-width, '
        f'initial-scale=1"/><title>{escape(title)}</title><style>{_CSS}</style></head><body>'
        f'<h1>{escape(title)}</h1><p class="meta">{_int(history["events"])} events from '
        f'{escape(history["source"])}, {escape(str(history["first_event"]))} to '
        f'{escape(data["as_of"])} (as of); months in {escape(data["timezone"])}; money in '
        f'{escape(currency)}.</p>{body}{extra}</body></html>\n')
