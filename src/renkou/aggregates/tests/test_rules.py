"""Validation-rule expressions, rules and outliers over any value rows (no database)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkou.aggregates import seed
from renkou.aggregates.expressions import ExpressionError, evaluate, parse
from renkou.aggregates.outliers import flag_series, modified_z_scores, outliers_in
from renkou.aggregates.validation import violations_in


@dataclass
class Rule:
    code: str
    left: str
    operator: str
    right: str
    name: str = ""
    instruction: str = ""
    importance: str = "high"
    missing_values: str = "skip_if_all"


BIRTHS_RULE = next(Rule(code=r[0], name=r[1], instruction=r[2], left=r[3], operator=r[4], right=r[5],
                        importance=r[6], missing_values=r[7]) for r in seed.RULES if r[0] == "BIRTHS_BY_SEX")


def row(element, value, coc="", unit="500230001000", period="2025"):
    return {"data_element": element, "category_option_combo": coc, "org_unit": unit, "period": period,
            "value": value}


def test_births_rule_over_disaggregated_rows_like_the_stats_module_gives():
    rows = [row("LIVE_BIRTHS", 10), row("LIVE_BIRTHS", 6, "MALE"), row("LIVE_BIRTHS", 4, "FEMALE"),
            row("LIVE_BIRTHS", 9, unit="500230002000"), row("LIVE_BIRTHS", 5, "MALE", unit="500230002000"),
            row("LIVE_BIRTHS", 3, "FEMALE", unit="500230002000")]
    [v] = violations_in([BIRTHS_RULE], rows)
    assert (v.rule, v.org_unit, v.period, v.left, v.operator, v.right) == (
        "BIRTHS_BY_SEX", "500230002000", "2025", 8.0, "==", 9.0)


def test_births_rule_over_elements_named_births_male_and_female():
    rows = [row("LIVE_BIRTHS", 10, period="202501"), row("LIVE_BIRTHS.MALE", 6, period="202501"),
            row("LIVE_BIRTHS.FEMALE", 5, period="202501")]
    [v] = violations_in([BIRTHS_RULE], rows)
    assert (v.left, v.right, v.period) == (11.0, 10.0, "202501")


def test_a_total_is_the_sum_of_option_combos_when_no_total_row_exists():
    expr = parse("#{CONSULTATIONS} - #{CONSULTATIONS.MALE}")
    assert evaluate(expr, {("CONSULTATIONS", "MALE"): 4.0, ("CONSULTATIONS", "FEMALE"): 9.0}) == (9.0, 0)


def test_missing_value_strategies():
    rows = [row("A", 5)]
    all_missing = Rule("R1", "#{B}", ">", "#{C}")
    some_missing = Rule("R2", "#{A}", "<=", "#{C}")
    assert violations_in([all_missing], rows) == []
    [v] = violations_in([some_missing], rows)  # C counts as 0
    assert (v.left, v.right) == (5.0, 0.0)
    assert violations_in([Rule("R3", "#{A}", "<=", "#{C}", missing_values="skip_if_any")], rows) == []
    assert len(violations_in([Rule("R4", "#{B}", ">", "#{C}", missing_values="never_skip")], rows)) == 1


def test_division_by_zero_says_nothing_and_text_values_are_ignored():
    rows = [row("A", 5), row("B", 0), row("T", "备注")]
    assert violations_in([Rule("R", "#{A} / #{B}", ">", "100")], rows) == []
    assert violations_in([Rule("R", "#{T}", "==", "1", missing_values="skip_if_any")], rows) == []


@pytest.mark.parametrize("bad", ["", "#{A} +", "__import__('os')", "#{A} ** 2", "#{a-b}", "A", "#{A}; 1",
                                 "[1]", "#{A} if 1 else 2"])
def test_expressions_that_are_refused(bad):
    with pytest.raises(ExpressionError):
        parse(bad)


@settings(deadline=None)  # timings vary on a loaded machine
@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=6),
       st.lists(st.sampled_from(["+", "-", "*"]), min_size=5, max_size=5))
def test_expressions_compute_like_python(numbers, ops):
    refs = [f"#{{E{i}}}" for i in range(len(numbers))]
    text = refs[0] + "".join(f" {op} {ref}" for op, ref in zip(ops, refs[1:], strict=False))
    python = str(numbers[0]) + "".join(f" {op} {n}" for op, n in zip(ops, numbers[1:], strict=False))
    values = {(f"E{i}", ""): float(n) for i, n in enumerate(numbers)}
    assert evaluate(parse(text), values) == (float(eval(python)), 0)  # noqa: S307 - digits and + - * only


def test_modified_z_by_hand():
    # median 11, deviations 1 0 2 1 89 → MAD 1
    assert modified_z_scores([10, 11, 9, 12, 100]) == pytest.approx([0.6745, 0, 1.349, 0.6745, 60.0305])
    assert modified_z_scores([3, 3, 3, 3, 9]) == [None] * 5  # MAD 0: undefined, nothing flagged
    points = flag_series([("202501", 10), ("202502", 11), ("202503", 9), ("202504", 12), ("202505", 100)])
    assert [p.outlier for p in points] == [False, False, False, False, True]
    assert all(p.z is None for p in flag_series([("202501", 1), ("202502", 50), ("202503", 2)]))  # too short


@settings(deadline=None)  # timings vary on a loaded machine
@given(st.lists(st.integers(min_value=-10**6, max_value=10**6), min_size=4, max_size=40),
       st.integers(min_value=-1000, max_value=1000), st.integers(min_value=1, max_value=50))
def test_modified_z_is_non_negative_and_shift_and_scale_invariant(values, shift, scale):
    scores = modified_z_scores(values)
    moved = modified_z_scores([v * scale + shift for v in values])
    for a, b in zip(scores, moved, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a >= 0 and b == pytest.approx(a, rel=1e-9, abs=1e-9)


def test_outliers_in_keeps_monthly_numeric_rows_per_series():
    rows = [row("X", v, period=f"2025{m:02d}") for m, v in enumerate([5, 6, 5, 6, 50], start=1)]
    rows += [row("X", 999, period="2025Q1"), row("X", "text", period="202506"),
             row("X", 1, unit="500230002000", period="202501")]
    result = outliers_in(rows)
    assert list(result) == [("X", "", "500230001000"), ("X", "", "500230002000")]
    assert [p.period for p in result[("X", "", "500230001000")] if p.outlier] == ["202505"]
