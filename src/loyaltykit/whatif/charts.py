"""Inline SVG charts for the what-if page: a line chart, stacked bars and a heat-map matrix.

The page must open anywhere (an e-mail attachment, an air-gapped office PC), so charts are
static SVG written into the HTML: no script, no CDN, no fonts to fetch. Every mark carries a
``<title>`` with its exact number, which browsers show on hover. Output is well-formed XML.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["BASELINE", "CANDIDATE", "line_chart", "matrix_chart", "stacked_bars"]

BASELINE = "#6b7280"
CANDIDATE = "#2563eb"
PALETTE = ("#cbd5e1", "#93c5fd", "#60a5fa", "#2563eb", "#1e40af", "#172554", "#f59e0b",
           "#10b981", "#ef4444", "#a855f7")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}" {_FONT}>'
            f'<title>{escape(label)}</title>{"".join(body)}</svg>')


def _nice_top(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        top = step * magnitude
        if top >= value:
            return top
    return 10 * magnitude


def _number(value: int) -> str:
    return f"{value:,}"


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[int]]],
               title: str, unit: str) -> str:
    """One line per series over ``labels`` (months), with a zero-based y axis."""
    width, height, left, right, top, bottom = 760, 300, 70, 34, 20, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_top(max((max(values, default=0) for _, _, values in series), default=0))
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: int) -> float:
        return top + plot_h - (v / peak) * plot_h

    body = []
    for k in range(5):
        value = peak * k // 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" '
                    f'y2="{y(value):.1f}" stroke="#e5e7eb"/>'
                    f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
                    f'{_number(value)}</text>')
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            body.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" '
                        f'text-anchor="middle">{escape(label)}</text>')
    for index, (name, color, values) in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        dash = ' stroke-dasharray="6 4"' if index == 0 and len(series) > 1 else ""
        body.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} '
                    f'points="{points}"><title>{escape(name)}</title></polyline>')
        for i, v in enumerate(values):
            body.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}">'
                        f'<title>{escape(name)} {escape(labels[i])}: {_number(v)} {unit}'
                        f'</title></circle>')
        body.append(f'<rect x="{left + 10 + 150 * index}" y="{height - 18}" width="12" '
                    f'height="12" fill="{color}"/><text x="{left + 28 + 150 * index}" '
                    f'y="{height - 8}">{escape(name)}</text>')
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" '
                f'stroke="#9ca3af"/>')
    return _svg(width, height, title, body)


def stacked_bars(rows: Sequence[tuple[str, Sequence[tuple[str, int]]]], title: str) -> str:
    """One 100%-wide bar per row (e.g. baseline, candidate), split by category (tiers)."""
    width, left, right, bar_h, gap = 760, 90, 20, 34, 18
    names = list(dict.fromkeys(name for _, parts in rows for name, _ in parts))
    color = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    height = 20 + len(rows) * (bar_h + gap) + 30
    plot_w = width - left - right
    body = []
    for r, (label, parts) in enumerate(rows):
        y0 = 10 + r * (bar_h + gap)
        total = sum(value for _, value in parts) or 1
        body.append(f'<text x="{left - 8}" y="{y0 + bar_h / 2 + 4:.1f}" text-anchor="end">'
                    f'{escape(label)}</text>')
        x0 = float(left)
        for name, value in parts:
            w = plot_w * value / total
            share = 100 * value / total
            body.append(f'<rect x="{x0:.1f}" y="{y0}" width="{w:.1f}" height="{bar_h}" '
                        f'fill="{color[name]}"><title>{escape(label)}, {escape(name)}: '
                        f'{_number(value)} ({share:.1f}%)</title></rect>')
            if w > 48:
                ink = "#fff" if names.index(name) >= 3 else "#111"
                body.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + bar_h / 2 + 4:.1f}" '
                            f'text-anchor="middle" fill="{ink}">{_number(value)}</text>')
            x0 += w
    legend_y = height - 14
    for i, name in enumerate(names):
        body.append(f'<rect x="{left + 110 * i}" y="{legend_y - 10}" width="12" height="12" '
                    f'fill="{color[name]}"/><text x="{left + 16 + 110 * i}" y="{legend_y}">'
                    f'{escape(name)}</text>')
    return _svg(width, height, title, body)


def matrix_chart(rows: Sequence[str], columns: Sequence[str], counts: Sequence[Sequence[int]],
                 title: str, row_axis: str, column_axis: str) -> str:
    """A heat map: rows are the baseline's tiers, columns the candidate's. The diagonal
    (same tier id) is grey and outlined; cells off it are customers who move, shaded blue
    against the largest move, so a small move stays visible next to a large stay."""
    cell, left, top = 70, 110, 60
    width = left + cell * len(columns) + 20
    height = top + cell * len(rows) + 20
    stay = [counts[i][j] for i, r in enumerate(rows) for j, c in enumerate(columns) if r == c]
    move = [counts[i][j] for i, r in enumerate(rows) for j, c in enumerate(columns) if r != c]
    peaks = (max(stay, default=0) or 1, max(move, default=0) or 1)
    body = [f'<text x="{left + cell * len(columns) / 2:.1f}" y="16" text-anchor="middle" '
            f'font-weight="bold">{escape(column_axis)}</text>',
            f'<text x="12" y="{top + cell * len(rows) / 2:.1f}" text-anchor="middle" '
            f'font-weight="bold" transform="rotate(-90 12 {top + cell * len(rows) / 2:.1f})">'
            f'{escape(row_axis)}</text>']
    for j, name in enumerate(columns):
        body.append(f'<text x="{left + cell * j + cell / 2:.1f}" y="{top - 8}" '
                    f'text-anchor="middle">{escape(name)}</text>')
    for i, name in enumerate(rows):
        body.append(f'<text x="{left - 8}" y="{top + cell * i + cell / 2 + 4:.1f}" '
                    f'text-anchor="end">{escape(name)}</text>')
        for j, value in enumerate(counts[i]):
            same = name == columns[j]
            body.append(_matrix_cell(left + cell * j, top + cell * i, cell, value,
                                     value / peaks[0 if same else 1], same,
                                     f"{name} -> {columns[j]}"))
    return _svg(width, height, title, body)


def _matrix_cell(x: int, y: int, size: int, value: int, strength: float, same: bool,
                 label: str) -> str:
    rgb = "107, 114, 128" if same else "37, 99, 235"
    fill = f"rgba({rgb}, {0.10 + 0.80 * strength:.2f})" if value else "#f9fafb"
    outline = ' stroke="#111" stroke-width="2"' if same else ' stroke="#e5e7eb"'
    ink = "#fff" if strength > 0.5 and value else "#111"
    return (f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{fill}"{outline}>'
            f'<title>{escape(label)}: '
            f'{_number(value)}</title></rect><text x="{x + size / 2:.1f}" '
            f'y="{y + size / 2 + 4:.1f}" text-anchor="middle" fill="{ink}">{_number(value)}'
            '</text>')
