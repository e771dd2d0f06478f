"""The cell parsers: every date form, codes by code or name, units, row references, ID-number cells."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renkou.core.errors import RuleViolation
from renkou.intake import fields as f
from renkou.registry import idnumbers

dates = st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 12, 31))


@given(dates)
def test_every_typed_form_of_a_date_parses_to_the_same_day(d):
    forms = [d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d.year}.{d.month}.{d.day}", d.strftime("%Y%m%d"),
             f"{d.year}年{d.month}月{d.day}日", f"{d.year}-{d.month:02d}-{d.day:02d} 00:00:00",
             f" {d.year} 年 {d.month} 月 {d.day} 日 "]
    assert {f.parse_date(x) for x in forms} == {d}


@given(dates)
def test_spreadsheet_serials_and_date_cells(d):
    serial = (d - date(1899, 12, 30)).days
    assert f.parse_date(float(serial)) == d
    assert f.parse_date(str(serial)) == d
    assert f.parse_date(serial + 0.5) == d  # a date with a time of day
    assert f.parse_date(datetime(d.year, d.month, d.day, 13, 5)) == d
    assert f.parse_date(d) == d


def test_excels_1900_leap_day_and_the_first_serials():
    assert f.parse_date(1.0) == date(1900, 1, 1)
    assert f.parse_date(59) == date(1900, 2, 28)
    assert f.parse_date(61) == date(1900, 3, 1)
    with pytest.raises(RuleViolation):
        f.parse_date(60)


@pytest.mark.parametrize("value", ["2008-02-30", "2008/13/1", "2007.2.29", "20080230", "2008年4月31日", "0", "99999999",
                                   "2008-00-10"])
def test_impossible_dates_are_rejected(value):
    with pytest.raises(RuleViolation) as exc:
        f.parse_date(value)
    assert exc.value.code == "date_impossible"
    assert value in str(exc.value.message)


@pytest.mark.parametrize("value", ["昨天", "5/3/2008", "2008-3", "", "20080305X"])
def test_unreadable_dates_say_which_forms_are_accepted(value):
    with pytest.raises(RuleViolation) as exc:
        f.parse_date(value)
    assert exc.value.code in {"date_format", "required"}


@given(st.dates(min_value=date(1880, 1, 1), max_value=date(2025, 12, 31)), st.integers(1, 999))
def test_an_id_number_survives_full_width_spaces_and_a_lowercase_x(born, seq):
    number = idnumbers.make("500230", born, seq)
    mangled = " ".join(number[i:i + 4] for i in range(0, 18, 4)).lower()
    mangled = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() and i % 2 else c for i, c in enumerate(mangled))
    result = f.parse_id_number(mangled)
    assert result.ok and result.number == number and not result.warnings


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), st.integers(1, 999))
def test_a_number_that_became_a_float_is_rejected_not_guessed(born, seq):
    number = idnumbers.make("500230", born, seq).replace("X", "0")
    for cell in (float(number), f"{float(number):.5E}", f"{float(number):E}"):
        result = f.parse_id_number(cell)
        assert [e.code for e in result.errors] == ["id_number.scientific"], cell


def test_a_legacy_number_in_a_numeric_cell_is_exact():
    assert f.parse_id_number(500230900506123.0).number == idnumbers.normalize("500230900506123")


CODES = {"sex": {"1": "男", "2": "女"}, "ethnicity": {"01": "汉族", "03": "回族"},
         "marital_status": {"10": "未婚", "20": "已婚"}}


@pytest.mark.parametrize(("list_name", "raw", "code"), [
    ("sex", "男", "1"), ("sex", "2", "2"), ("sex", 2.0, "2"), ("sex", "２", "2"), ("ethnicity", "汉族", "01"),
    ("ethnicity", "1", "01"), ("ethnicity", 3.0, "03"), ("marital_status", " 已婚 ", "20"),
])
def test_codes_by_code_or_by_chinese_name(list_name, raw, code):
    assert f.parse_code(list_name, raw, CODES) == code


def test_an_unknown_code_names_the_value():
    with pytest.raises(RuleViolation) as exc:
        f.parse_code("ethnicity", "火星族", CODES)
    assert "火星族" in str(exc.value.message)


@given(st.text(max_size=6))
def test_parse_code_returns_a_listed_code_or_raises(raw):
    try:
        assert f.parse_code("sex", raw, CODES) in CODES["sex"]
    except RuleViolation as exc:
        assert exc.code == "code"


class _U:
    def __init__(self, pk, code, name, parent_id=None):
        self.pk, self.code, self.name, self.parent_id, self.level = pk, code, name, parent_id, 3


def test_units_by_code_and_by_name_within_scope():
    units = [_U(1, "500230001000", "东城街道"), _U(2, "500230001001", "第一社区", 1),
             _U(3, "500230002000", "西城街道"), _U(4, "500230002001", "第一社区", 3)]
    index = f.UnitIndex(units, frozenset({1, 2, 3, 4}))
    assert index.find("500230002001").pk == 4
    assert index.find("东城街道/第一社区").pk == 2 and index.find("西城街道第一社区").pk == 4
    with pytest.raises(RuleViolation) as exc:
        index.find("第一社区")
    assert exc.value.code == "unit_ambiguous"
    only_east = f.UnitIndex(units, frozenset({1, 2}))
    assert only_east.find("第一社区").pk == 2
    with pytest.raises(RuleViolation):
        only_east.find("西城街道")  # a name outside the scope is not found
    with pytest.raises(RuleViolation):
        index.find("999999999999")


@pytest.mark.parametrize(("raw", "row"), [("第5行", 5), ("第 12 行", 12), ("#7", 7), ("＃7", 7), ("row 3", 3),
                                          ("500230199001011232", None), ("", None)])
def test_row_references(raw, row):
    assert f.parse_row_ref(raw) == row


@given(st.one_of(st.text(max_size=12), st.floats(allow_nan=False), st.integers(-10**6, 10**7)))
def test_parse_date_gives_a_date_or_a_rule_violation(raw):
    try:
        assert isinstance(f.parse_date(raw), date)
    except RuleViolation as exc:
        assert exc.code in {"date_format", "date_impossible", "required"}


def test_serial_range_edges():
    assert f.parse_date(float(f.MAX_SERIAL)) == date(9999, 12, 31)
    with pytest.raises(RuleViolation):
        f.parse_date(float(f.MAX_SERIAL + 1))
    assert f.parse_date(2.0) - f.parse_date(1.0) == timedelta(days=1)
