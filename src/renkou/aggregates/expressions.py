"""Validation-rule expressions over value rows, with no database.

An expression is arithmetic (``+ - * /``, parentheses, numbers) over references ``#{CODE}`` or
``#{CODE.COC}``. A reference is resolved against the values of one unit and period:

- ``#{X}``: the row of element ``X`` with option combo "" (the total) if there is one, otherwise the sum of
  all rows of element ``X``;
- ``#{X.Y}``: the row of element ``X`` with option combo ``Y``; when there is none, the total of an element
  whose code is literally ``X.Y`` (so that ``#{BIRTHS.MALE}`` works whether the figure arrives as a
  disaggregation of BIRTHS or as an element of its own).
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass

REF_RE = re.compile(r"#\{([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)\}")

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Expression:
    text: str
    refs: tuple[str, ...]
    tree: ast.Expression


def parse(text: str) -> Expression:
    """Check and compile an expression; raises ExpressionError naming what is wrong."""
    if not text or not text.strip():
        raise ExpressionError("The expression is empty.")
    refs: list[str] = []

    def sub(m: re.Match) -> str:
        refs.append(m.group(1))
        return f"_r{len(refs) - 1}"

    python = REF_RE.sub(sub, text)
    if "#" in python or "{" in python or "}" in python:
        raise ExpressionError(f"“{text}”: a reference must look like #{{CODE}} or #{{CODE.COMBO}}.")
    try:
        tree = ast.parse(python, mode="eval")
    except SyntaxError:
        raise ExpressionError(f"“{text}” is not a valid expression.") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Expression | ast.BinOp | ast.UnaryOp | ast.Load) or type(node) in _BINOPS:
            continue
        if isinstance(node, ast.USub | ast.UAdd):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            continue
        if isinstance(node, ast.Name) and re.fullmatch(r"_r\d+", node.id):
            continue
        raise ExpressionError(f"“{text}”: only numbers, references, + - * / and parentheses are allowed.")
    return Expression(text=text, refs=tuple(refs), tree=tree)


def _eval(node: ast.AST, values: list[float]) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body, values)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[int(node.id[2:])]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, values)
        return -v if isinstance(node.op, ast.USub) else v
    assert isinstance(node, ast.BinOp)
    left, right = _eval(node.left, values), _eval(node.right, values)
    if isinstance(node.op, ast.Div) and right == 0:
        raise ZeroDivisionError
    return _BINOPS[type(node.op)](left, right)


def resolve(ref: str, values: Mapping[tuple[str, str], float]) -> float | None:
    """The number a reference stands for among ``values`` {(element, coc): number} of one unit and period."""
    element, _, coc = ref.partition(".")
    if coc:
        if (element, coc) in values:
            return values[(element, coc)]
        return resolve_total(ref, values)
    return resolve_total(element, values)


def resolve_total(element: str, values: Mapping[tuple[str, str], float]) -> float | None:
    if (element, "") in values:
        return values[(element, "")]
    parts = [v for (e, _c), v in values.items() if e == element]
    return sum(parts) if parts else None


def evaluate(expr: Expression, values: Mapping[tuple[str, str], float], *, missing_as_zero: bool = True
             ) -> tuple[float | None, int]:
    """(value, number of missing references). A missing reference counts as 0; a division by zero gives None."""
    resolved = [resolve(ref, values) for ref in expr.refs]
    missing = sum(v is None for v in resolved)
    try:
        return _eval(expr.tree, [0.0 if v is None else v for v in resolved]), missing
    except ZeroDivisionError:
        return None, missing
