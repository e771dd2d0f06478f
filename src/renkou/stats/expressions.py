"""Indicator expressions: arithmetic over data element values (pure, no database).

Grammar: numbers, ``+ - * /``, parentheses, element references ``#{ELEMENT}`` (the total) or
``#{ELEMENT.COC}`` (one category option combo, e.g. ``#{LIVE_BIRTHS.FEMALE}``), ``years()`` (the length of
the period in years: 1 for a year or family-planning year, ½ for a half-year, ¼ a quarter, 1/12 a month), and
``sumratio(#{A}, #{B})``: the sum over the option combos of A of A.c ÷ B.c (combos where B.c is 0 are left out)
— the sum of age-specific rates of a total fertility rate.

Expressions are evaluated on NumPy arrays (one entry per unit × period), so an indicator is computed for every
unit and period in one pass.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

REF_RE = re.compile(r"#\{\s*([A-Za-z0-9_]+)(?:\.([A-Za-z0-9_.]+))?\s*\}")
SUMRATIO_RE = re.compile(r"sumratio\(\s*#\{\s*([A-Za-z0-9_]+)\s*\}\s*,\s*#\{\s*([A-Za-z0-9_]+)\s*\}\s*\)")


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Parsed:
    text: str
    tree: ast.Expression
    refs: dict[str, tuple[str, str]]  # placeholder → (element, coc)
    sums: dict[str, tuple[str, str]]  # placeholder → (numerator element, denominator element)

    def keys(self, cocs_of: Callable[[str], list[str]]) -> set[tuple[str, str]]:
        out = set(self.refs.values())
        for a, b in self.sums.values():
            for c in cocs_of(a):
                out |= {(a, c), (b, c)}
        return out


_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load, ast.Add, ast.Sub, ast.Mult,
            ast.Div, ast.USub, ast.UAdd, ast.Call)


def parse(text: str, *, known: Callable[[str, str], bool], cocs_of: Callable[[str], list[str]]) -> Parsed:
    """Parse and check an expression. ``known(element, coc)`` says whether a reference exists."""
    text = (text or "").strip()
    if not text:
        raise ExpressionError(_("The expression is empty."))
    refs: dict[str, tuple[str, str]] = {}
    sums: dict[str, tuple[str, str]] = {}

    def sub_sum(m: re.Match) -> str:
        a, b = m.group(1), m.group(2)
        for e in (a, b):
            if not known(e, ""):
                raise ExpressionError(_("Unknown data element “%(code)s”.") % {"code": e})
        if not cocs_of(a):
            raise ExpressionError(
                _("sumratio needs an element with category option combos; “%(code)s” has none.") % {"code": a})
        missing = [c for c in cocs_of(a) if not known(b, c)]
        if missing:
            raise ExpressionError(_("sumratio: “%(b)s” has no option combo “%(coc)s” of “%(a)s”.")
                                  % {"b": b, "coc": missing[0], "a": a})
        name = f"_s{len(sums)}"
        sums[name] = (a, b)
        return name

    def sub_ref(m: re.Match) -> str:
        element, coc = m.group(1), m.group(2) or ""
        if not known(element, ""):
            raise ExpressionError(_("Unknown data element “%(code)s”.") % {"code": element})
        if not known(element, coc):
            raise ExpressionError(_("The data element “%(code)s” has no category option combo “%(coc)s”.")
                                  % {"code": element, "coc": coc})
        key = (element, coc)
        for name, k in refs.items():
            if k == key:
                return name
        name = f"_r{len(refs)}"
        refs[name] = key
        return name

    body = REF_RE.sub(sub_ref, SUMRATIO_RE.sub(sub_sum, text))
    if "#" in body or "{" in body:
        raise ExpressionError(_("A reference is malformed: write #{ELEMENT} or #{ELEMENT.COC}."))
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(
            _("The expression is not valid arithmetic (near column %(col)s).") % {"col": exc.offset}) from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(_("“%(part)s” is not allowed in an expression.") % {"part": ast.unparse(node)})
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool)
                                               or not isinstance(node.value, int | float)):
            raise ExpressionError(_("“%(part)s” is not a number.") % {"part": repr(node.value)})
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id == "years"
                                               and not node.args and not node.keywords):
            raise ExpressionError(_("Unknown function “%(name)s”: only years() and sumratio().")
                                  % {"name": ast.unparse(node.func)})
        if isinstance(node, ast.Name) and node.id not in refs and node.id not in sums and node.id != "years":
            raise ExpressionError(_("“%(name)s” is not a reference: write #{%(name)s}.") % {"name": node.id})
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _constant(node.right) == 0:
            raise ExpressionError(_("The expression divides by zero."))
    return Parsed(text=text, tree=tree, refs=refs, sums=sums)


def _constant(node: ast.AST) -> float | None:
    """The value of a sub-expression made only of numbers, else None."""
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        v = _constant(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp):
        a, b = _constant(node.left), _constant(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return None if b == 0 else a / b
    return None


def is_constant_zero(parsed: Parsed) -> bool:
    return _constant(parsed.tree.body) == 0


def evaluate(parsed: Parsed, values: Mapping[tuple[str, str], np.ndarray], years: np.ndarray,
             cocs_of: Callable[[str], list[str]]) -> np.ndarray:
    """The expression for every row: missing values count as 0; a division by 0 gives NaN."""
    n = len(years)
    zero = np.zeros(n)

    def get(key: tuple[str, str]) -> np.ndarray:
        return values.get(key, zero)

    env: dict[str, np.ndarray] = {name: get(key) for name, key in parsed.refs.items()}
    for name, (a, b) in parsed.sums.items():
        total = np.zeros(n)
        for c in cocs_of(a):
            num, den = get((a, c)), get((b, c))
            total += np.divide(num, den, out=np.zeros(n), where=den != 0)
        env[name] = total

    def ev(node: ast.AST) -> np.ndarray:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return np.full(n, float(node.value))
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.Call):
            return years
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        a, b = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return np.divide(a, b, out=np.full(n, np.nan), where=b != 0)

    return ev(parsed.tree)


def wilson(successes: np.ndarray, failures: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval of the ratio successes ÷ failures (e.g. boys per girl), NaN when no data."""
    n = successes + failures
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        lo_p, hi_p = centre - half, centre + half
        lo = lo_p / (1 - lo_p)
        hi = np.where(hi_p >= 1, np.inf, hi_p / (1 - hi_p))
    bad = n <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)
