"""``--fail-if``: a tiny condition language over a comparison's figures, for CI gates.

Grammar (keywords are case-insensitive)::

    condition  := clause ("or" clause)*
    clause     := term ("and" term)*
    term       := "not" term | "(" condition ")" | comparison
    comparison := metric OP number | number OP metric
    OP         := ">" | ">=" | "<" | "<=" | "==" | "!="

A metric is a figure name with a suffix: ``_baseline``, ``_candidate``, ``_delta`` or
``_delta_pct`` (``liability_delta_pct``, ``points_expired_candidate``, ``tier_gold_delta``),
or a tier movement count: ``tier_moves``, ``tier_moves_up``, ``tier_moves_down``,
``tier_moves_sideways``. Numbers are exact decimals (``10``, ``-2.5``).

Two values need a rule: a percentage change from a zero baseline counts as +infinity (or
-infinity for a fall), so ``x_delta_pct > 10`` holds when something appears from nothing;
a money figure of a program without ``redemption.point_value`` is unknown, and a comparison
with an unknown value is false.

The condition is parsed by a small recursive-descent parser, never by ``eval``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeAlias

from loyaltykit.errors import ConfigurationError
from loyaltykit.whatif.compare import Comparison

__all__ = ["Condition", "ConditionError", "metric_names", "metric_values", "parse_condition"]

SUFFIXES = ("_baseline", "_candidate", "_delta", "_delta_pct")
MOVES = ("tier_moves", "tier_moves_up", "tier_moves_down", "tier_moves_sideways")
_OPS = {
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
_MIRROR = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
_TOKEN = re.compile(r"""\s*(?:
    (?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+))
  | (?P<op>>=|<=|==|!=|>|<)
  | (?P<paren>[()])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
  | (?P<bad>\S)
)""", re.VERBOSE)
_INF = Decimal("Infinity")


class ConditionError(ConfigurationError):
    """A ``--fail-if`` condition that cannot be parsed or names an unknown metric."""


@dataclass(frozen=True, slots=True)
class _Compare:
    metric: str
    op: str
    number: Decimal

    def holds(self, values: Mapping[str, Decimal | None]) -> bool:
        value = values[self.metric]
        return value is not None and bool(_OPS[self.op](value, self.number))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.number}"


@dataclass(frozen=True, slots=True)
class _Not:
    term: _Node

    def holds(self, values: Mapping[str, Decimal | None]) -> bool:
        return not self.term.holds(values)


@dataclass(frozen=True, slots=True)
class _Join:
    word: str  # "and" / "or"
    terms: tuple[_Node, ...]

    def holds(self, values: Mapping[str, Decimal | None]) -> bool:
        results = (term.holds(values) for term in self.terms)
        return all(results) if self.word == "and" else any(results)


_Node: TypeAlias = "_Compare | _Not | _Join"


@dataclass(frozen=True, slots=True)
class Condition:
    text: str
    root: _Compare | _Not | _Join
    metrics: tuple[str, ...]

    def holds(self, values: Mapping[str, Decimal | None]) -> bool:
        return self.root.holds(values)

    def explain(self, values: Mapping[str, Decimal | None]) -> str:
        shown = ", ".join(f"{m} = {_show(values[m])}" for m in self.metrics)
        return f"{self.text!r} holds ({shown})"


def _show(value: Decimal | None) -> str:
    if value is None:
        return "unknown"
    return "+infinity" if value == _INF else "-infinity" if value == -_INF else str(value)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        self.metrics: list[str] = []

    def fail(self, message: str) -> ConditionError:
        where = self.tokens[self.pos][2] if self.pos < len(self.tokens) else len(self.text)
        return ConditionError(f"--fail-if {self.text!r}: {message} at column {where + 1}; "
                              "write e.g. \"liability_delta_pct > 10 or tier_moves_down > 0\"")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise self.fail("the condition ends too early")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.pos += 1
            return True
        return False

    def condition(self) -> _Compare | _Not | _Join:
        terms = [self.clause()]
        while self.keyword("or"):
            terms.append(self.clause())
        return terms[0] if len(terms) == 1 else _Join("or", tuple(terms))

    def clause(self) -> _Compare | _Not | _Join:
        terms = [self.term()]
        while self.keyword("and"):
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else _Join("and", tuple(terms))

    def term(self) -> _Compare | _Not | _Join:
        if self.keyword("not"):
            return _Not(self.term())
        token = self.peek()
        if token is not None and token[:2] == ("paren", "("):
            self.pos += 1
            inner = self.condition()
            closing = self.peek()
            if closing is None or closing[:2] != ("paren", ")"):
                raise self.fail("expected ')'")
            self.pos += 1
            return inner
        return self.comparison()

    def comparison(self) -> _Compare:
        left = self.take()
        op = self.take()
        if op[0] != "op":
            self.pos -= 1
            raise self.fail(f"expected a comparison (> >= < <= == !=), found {op[1]!r}")
        right = self.take()
        if right[0] == "op":
            self.pos -= 1
            raise self.fail(f"unexpected {right[1]!r}")
        if left[0] == "word" and right[0] == "number":
            metric, number, operator = left[1], right[1], op[1]
        elif left[0] == "number" and right[0] == "word":
            metric, number, operator = right[1], left[1], _MIRROR[op[1]]
        else:
            self.pos -= 3
            raise self.fail("a comparison needs one metric name and one number")
        self.metrics.append(metric)
        return _Compare(metric, operator, Decimal(number))


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        if kind == "bad":
            raise ConditionError(f"--fail-if {text!r}: unexpected {match.group(kind)!r} at "
                                 f"column {match.start(kind) + 1}")
        out.append((kind, match.group(kind), match.start(kind)))
    return out


def parse_condition(text: str, figures: Iterable[str] | None = None) -> Condition:
    """Parse ``text``; given the comparison's ``figures`` (see :func:`figure_names`), refuse
    unknown metrics, naming each (with the closest valid one) and listing the valid ones."""
    parser = _Parser(text)
    if not parser.tokens:
        raise ConditionError("--fail-if needs a condition, e.g. \"liability_delta_pct > 10\"")
    try:
        root = parser.condition()
    except InvalidOperation:
        raise parser.fail("bad number") from None
    if parser.peek() is not None:
        raise parser.fail(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    metrics = tuple(dict.fromkeys(parser.metrics))
    if figures is not None:
        _refuse_unknown(text, metrics, list(figures))
    return Condition(text, root, metrics)


def _refuse_unknown(text: str, metrics: Sequence[str], figures: list[str]) -> None:
    valid = set(metric_names(figures))
    unknown = [m for m in metrics if m not in valid]
    if not unknown:
        return
    named = []
    for metric in unknown:
        close = difflib.get_close_matches(metric, sorted(valid), n=1)
        named.append(f"{metric} (did you mean {close[0]}?)" if close else metric)
    raise ConditionError(
        f"--fail-if {text!r}: unknown metric{'s' if len(unknown) > 1 else ''} "
        f"{', '.join(named)}. A metric is a figure followed by {', '.join(SUFFIXES)}, or one "
        f"of {', '.join(MOVES)}. Figures: {', '.join(figures)}")


def metric_names(figures: Iterable[str]) -> list[str]:
    """Every metric a condition may name, given the comparison's figure names."""
    return [f"{figure}{suffix}" for figure in figures for suffix in SUFFIXES] + list(MOVES)


def metric_values(comparison: Comparison) -> dict[str, Decimal | None]:
    values: dict[str, Decimal | None] = {}
    for name, figure in comparison.figures.items():
        for suffix, value in (("_baseline", figure.baseline), ("_candidate", figure.candidate),
                              ("_delta", figure.delta)):
            values[name + suffix] = None if value is None else Decimal(value)
        pct = figure.delta_pct
        delta = figure.delta
        if pct is None and delta is not None:  # growth from a zero baseline
            pct = _INF if delta > 0 else -_INF
        values[name + "_delta_pct"] = pct
    moves = comparison.movement
    values["tier_moves"] = Decimal(len(moves.customers))
    for direction in ("up", "down", "sideways"):
        values[f"tier_moves_{direction}"] = Decimal(moves.count(direction))
    return values
