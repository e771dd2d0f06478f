"""Validation rules evaluated over any value rows (no database): rows are grouped by unit and period, each
rule's two sides are computed from that group, and a rule that does not hold gives a violation."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from renkou.aggregates.expressions import evaluate, parse

_COMPARE = {
    "==": lambda a, b: math.isclose(a, b, rel_tol=0, abs_tol=1e-9),
    "!=": lambda a, b: not math.isclose(a, b, rel_tol=0, abs_tol=1e-9),
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b - 1e-9,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b + 1e-9,
}


@dataclass(frozen=True)
class Violation:
    rule: str
    name: str
    instruction: str
    importance: str
    org_unit: str
    period: str
    left: float | None
    operator: str
    right: float | None


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def group_rows(rows: Iterable[Mapping]) -> dict[tuple[str, str], dict[tuple[str, str], float]]:
    """{(unit, period): {(element, coc): number}}; non-numeric values are left out."""
    groups: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
    for row in rows:
        number = _number(row["value"])
        if number is None:
            continue
        key = (row["org_unit"], str(row["period"]))
        groups.setdefault(key, {})[(row["data_element"], row.get("category_option_combo") or "")] = number
    return groups


def violations_in(rules: Iterable, rows: Iterable[Mapping]) -> list[Violation]:
    """Every (rule, unit, period) where the rule does not hold. ``rules`` need ``code, name, instruction,
    importance, left, operator, right, missing_values`` (ValidationRule rows fit)."""
    groups = group_rows(rows)
    compiled = [(r, parse(r.left), parse(r.right)) for r in rules]
    out = []
    for (unit, period), values in sorted(groups.items()):
        for rule, left, right in compiled:
            lv, lmiss = evaluate(left, values)
            rv, rmiss = evaluate(right, values)
            total = len(left.refs) + len(right.refs)
            missing = lmiss + rmiss
            if rule.missing_values == "skip_if_any" and missing:
                continue
            if rule.missing_values == "skip_if_all" and missing == total:
                continue
            if lv is None or rv is None:  # a division by zero: the rule says nothing here
                continue
            if not _COMPARE[rule.operator](lv, rv):
                out.append(Violation(rule=rule.code, name=rule.name, instruction=rule.instruction,
                                     importance=rule.importance, org_unit=unit, period=period, left=lv,
                                     operator=rule.operator, right=rv))
    return out
