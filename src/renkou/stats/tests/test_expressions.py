"""Indicator expressions (pure): parsing, checking and evaluation, with property tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkou.stats import expressions
from renkou.stats.indicators import cocs_of, parse

KNOWN = {("A", ""), ("A", "X"), ("A", "Y"), ("B", ""), ("B", "X"), ("B", "Y")}


def _parse(text):
    return expressions.parse(text, known=lambda e, c: (e, c) in KNOWN,
                             cocs_of=lambda e: ["X", "Y"] if e in {"A", "B"} else [])


def _eval(text, values, years=1.0):
    parsed = _parse(text)
    return expressions.evaluate(parsed, {k: np.array([v]) for k, v in values.items()}, np.array([years]),
                                lambda e: ["X", "Y"])[0]


def test_references_arithmetic_and_functions():
    vals = {("A", ""): 10, ("A", "X"): 4, ("A", "Y"): 6, ("B", ""): 5, ("B", "X"): 2, ("B", "Y"): 3}
    assert _eval("#{A} / #{B} * 2", vals) == 4
    assert _eval("(#{A.X} - #{A.Y}) * -1", vals) == 2
    assert _eval("#{A} / years()", vals, years=0.25) == 40
    assert _eval("sumratio(#{A}, #{B})", vals) == 4 / 2 + 6 / 3
    assert np.isnan(_eval("#{A} / (#{B} - 5)", vals))


@pytest.mark.parametrize("text", ["", "#{C}", "#{A.Z}", "#{A} / 0", "#{A} / (1 - 1)", "#{A} ** 2", "x + 1",
                                  "#{A}.X", "len(#{A})", "'a'", "True", "#{A", "sumratio(#{A}, #{C})",
                                  "lambda: 1", "#{A} if 1 else 2", "[1]"])
def test_bad_expressions_are_refused_with_a_message(text):
    with pytest.raises(expressions.ExpressionError) as err:
        _parse(text)
    assert str(err.value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="#{}AB.XY()+-*/ 0123456789sumratioyears,_", max_size=40))
def test_any_text_parses_or_is_refused_cleanly(text):
    try:
        _parse(text)
    except expressions.ExpressionError:
        pass


_num = st.integers(min_value=-50, max_value=50)


@st.composite
def arithmetic(draw, depth=3):
    """An expression over #{A} and #{B} and its value computed by Python."""
    if depth == 0 or draw(st.booleans()):
        choice = draw(st.sampled_from(["A", "B", "n"]))
        if choice == "n":
            n = draw(_num)
            return f"({n})", float(n)
        return f"#{{{choice}}}", {"A": 7.0, "B": 3.0}[choice]
    left, lv = draw(arithmetic(depth - 1))
    right, rv = draw(arithmetic(depth - 1))
    op = draw(st.sampled_from("+-*/"))
    if op == "/" and rv == 0:
        op = "+"
    value = {"+": lv + rv, "-": lv - rv, "*": lv * rv, "/": lv / rv if rv else 0}[op]
    return f"({left} {op} {right})", value


@settings(max_examples=200, deadline=None)
@given(arithmetic())
def test_evaluation_equals_python_arithmetic(case):
    text, expected = case
    try:
        got = _eval(text, {("A", ""): 7, ("B", ""): 3})
    except expressions.ExpressionError as exc:  # a constant sub-expression that is zero under a division
        assert "zero" in str(exc)
        return
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_wilson_interval_of_a_sex_ratio():
    lo, hi = expressions.wilson(np.array([111.0]), np.array([100.0]))
    assert lo[0] < 1.11 < hi[0]
    # by hand: n = 211, p = 0.5261, centre 0.5256, half-width 0.0668 → 0.4588 and 0.5924 as ratios p ÷ (1 − p)
    assert round(lo[0], 3) == 0.848 and round(hi[0], 3) == 1.453
    lo, hi = expressions.wilson(np.array([0.0]), np.array([0.0]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_shipped_definitions_parse():
    from renkou.stats.indicators import DEFAULT_INDICATORS

    for spec in DEFAULT_INDICATORS:
        parse(spec["numerator"])
        parse(spec["denominator"])
    assert cocs_of("LIVE_BIRTHS_MAGE1")[0] == "A15"
