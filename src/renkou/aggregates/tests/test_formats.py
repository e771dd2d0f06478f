"""Periods ↔ ADX and DHIS2, and export → import round trips of any value rows (no database)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkou.aggregates.formats import (
    ADX_NS,
    DHIS2_DEFAULT_COC,
    Mapper,
    adx_export,
    adx_parse,
    dhis2_export,
    dhis2_parse,
    period_from_adx,
    period_to_adx,
)
from renkou.orgunits.periods import Period, PeriodError, PeriodType

periods = st.builds(Period.containing, st.sampled_from(list(PeriodType)),
                    st.dates(min_value=date(1901, 1, 1), max_value=date(2199, 6, 30)))


@pytest.mark.parametrize(("code", "adx"), [
    ("2025", "2025-01-01/P1Y"), ("FP2025", "2024-10-01/P1Y"), ("FP2025H1", "2024-10-01/P6M"),
    ("FP2025H2", "2025-04-01/P6M"), ("2025S2", "2025-07-01/P6M"), ("2025Q3", "2025-07-01/P3M"),
    ("202507", "2025-07-01/P1M"),
])
def test_adx_periods(code, adx):
    assert period_to_adx(code) == adx
    assert period_from_adx(adx).code == code


@settings(deadline=None)  # timings vary on a loaded machine
@given(periods)
def test_every_period_round_trips_through_adx_and_dhis2(period):
    adx = period_to_adx(period)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}/P(1Y|6M|3M|1M)", adx)
    assert period_from_adx(adx) == period
    assert Period.from_dhis2(period.dhis2) == period


@pytest.mark.parametrize("bad", ["2025-01-02/P1M", "2025-02-01/P1Y", "2025-01-01/P2M", "2025-13-01/P1M",
                                 "2025-01-01", "garbage", "2025-03-01/P6M"])
def test_adx_periods_renkou_does_not_use_are_refused(bad):
    with pytest.raises(PeriodError):
        period_from_adx(bad)


row_strategy = st.fixed_dictionaries({
    "data_element": st.sampled_from(["BIRTHS", "DEATHS", "PUBLICITY_EVENTS", "REWARD_AMOUNT"]),
    "category_option_combo": st.sampled_from(["", "MALE", "FEMALE"]),
    "org_unit": st.sampled_from(["500230001000", "500230002000", "500230001001"]),
    "period": periods.map(lambda p: p.code),
    "value": st.one_of(st.integers(min_value=-10**9, max_value=10**9),
                       st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda f: round(f, 3))),
})


def _unique(rows):
    return list({(r["data_element"], r["category_option_combo"], r["org_unit"], r["period"]): r
                 for r in rows}.values())


def _norm(rows):
    return sorted((r["data_element"], r["category_option_combo"], r["org_unit"], r["period"], float(r["value"]))
                  for r in rows)


MAPPER = Mapper.from_pairs([("element", "BIRTHS", "deBirths001"), ("coc", "MALE", "cocMale0001"),
                            ("coc", "", DHIS2_DEFAULT_COC), ("unit", "500230001000", "ouDC0000001")])


@settings(deadline=None)  # timings vary on a loaded machine
@given(st.lists(row_strategy, max_size=25).map(_unique))
def test_dhis2_export_then_parse_gives_the_same_values(rows):
    body = json.loads(json.dumps(dhis2_export(rows, mapper=MAPPER)))
    _ds, _done, back = dhis2_parse(body, mapper=MAPPER)
    assert all(not v.problem for v in back)
    assert _norm([{"data_element": v.data_element, "category_option_combo": v.category_option_combo,
                   "org_unit": v.org_unit, "period": v.period, "value": v.value} for v in back]) == _norm(rows)


@settings(deadline=None)  # timings vary on a loaded machine
@given(st.lists(row_strategy, max_size=25).map(_unique))
def test_adx_export_then_parse_gives_the_same_values(rows):
    assert _norm(adx_parse(adx_export(rows, mapper=MAPPER), mapper=MAPPER)) == _norm(rows)


def test_dhis2_export_shape_and_header_defaults_on_parse():
    rows = [{"data_element": "BIRTHS", "category_option_combo": "MALE", "org_unit": "500230001000",
             "period": "FP2025H1", "value": 7}]
    body = dhis2_export(rows, mapper=MAPPER, data_set="BIRTHS_SET", complete_date="2025-04-10")
    assert body == {"dataSet": "BIRTHS_SET", "completeDate": "2025-04-10", "period": "2024AprilS2",
                    "orgUnit": "ouDC0000001", "dataValues": [
                        {"dataElement": "deBirths001", "categoryOptionCombo": "cocMale0001", "period": "2024AprilS2",
                         "orgUnit": "ouDC0000001", "value": "7"}]}
    ds, done, values = dhis2_parse({"dataSet": "X", "period": "2024Oct", "orgUnit": "ouDC0000001",
                                    "dataValues": [{"dataElement": "deBirths001", "value": 3},
                                                   {"value": 1}, "junk"]}, mapper=MAPPER)
    assert (ds, done) == ("X", "")
    assert (values[0].data_element, values[0].category_option_combo, values[0].org_unit, values[0].period,
            values[0].value) == ("BIRTHS", "", "500230001000", "FP2025", "3")
    assert values[1].problem == "dataElement is missing" and values[2].problem == "not an object"


def test_adx_document_structure():
    rows = [{"data_element": "BIRTHS", "category_option_combo": "", "org_unit": "500230001000", "period": "2025",
             "value": 12},
            {"data_element": "NOTE", "category_option_combo": "", "org_unit": "500230001000", "period": "2025",
             "value": "备注"}]
    from xml.etree import ElementTree as ET

    root = ET.fromstring(adx_export(rows, data_set="DS", exported="2025-02-01T00:00:00"))
    assert root.tag == f"{{{ADX_NS}}}adx" and root.get("exported") == "2025-02-01T00:00:00"
    [group] = root
    assert group.tag == f"{{{ADX_NS}}}group"
    assert group.attrib == {"orgUnit": "500230001000", "period": "2025-01-01/P1Y", "dataSet": "DS"}
    values = list(group)
    assert [v.tag for v in values] == [f"{{{ADX_NS}}}dataValue"] * 2
    assert values[0].attrib == {"dataElement": "BIRTHS", "value": "12"}
    # text travels in an annotation; the value attribute stays numeric as the schema requires
    assert values[1].get("value") == "0" and values[1][0].text == "备注"
    assert adx_parse(adx_export(rows))[1]["value"] == "备注"
    with pytest.raises(ValueError, match="not adx"):
        adx_parse(b"<other/>")
