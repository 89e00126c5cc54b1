"""The seller's own 商家编码 -> category table, for category rules.

Taobao exports carry no category a program can rely on (the platform's category tree is not
in the reports), so a shop lists its codes once in a two-column CSV::

    商家编码,category
    TEA-LJ-250,tea
    WARE-GB-02,teaware
"""

from __future__ import annotations

import csv
from pathlib import Path

from loyaltykit.adapters.taobao.sniff import sniff_encoding
from loyaltykit.errors import InputError, InputProblem


def read_categories(path: Path, encoding: str = "auto") -> dict[str, str]:
    """The mapping, or an InputError naming every incomplete or contradictory row."""
    with path.open(encoding=sniff_encoding(path, encoding), newline="") as handle:
        rows = list(csv.reader(handle))
    mapping: dict[str, str] = {}
    problems = []
    for line, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            problems.append(InputProblem(path.name, line, None, "expected 商家编码,category",
                                         "fill both columns or delete the row"))
        elif mapping.get(cells[0], cells[1]) != cells[1]:
            problems.append(InputProblem(
                path.name, line, "category", f"{cells[0]} is already in {mapping[cells[0]]!r}",
                "give each 商家编码 one category"))
        else:
            mapping[cells[0]] = cells[1]
    if problems:
        raise InputError(problems)
    return mapping
