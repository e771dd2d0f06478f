"""The contract other modules join on: stored values as value rows, and the element catalogue; query counts."""

from __future__ import annotations

import pytest

from renkou.aggregates.selectors import data_set_get, element_catalogue, reporting, values
from renkou.aggregates.services import complete_register, values_save
from renkou.orgunits.periods import Period

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(county, personas):
    fam, reward = data_set_get(code="FAMSVC_M"), data_set_get(code="REWARD_Q")
    for unit in (county.dongcheng, county.xicheng):
        values_save(by=personas.statistician, data_set=fam, unit=unit, period="202501",
                    entries={"PUBLICITY_EVENTS": "2", "CONSULTATIONS.MALE": "5"})
    values_save(by=personas.statistician, data_set=reward, unit=county.dongcheng, period="2025Q1",
                entries={"REWARD_AMOUNT": "1200.5", "REWARD_PERSONS": "5"})
    return county


def test_values_are_value_rows_with_typed_values(stored, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = values(["PUBLICITY_EVENTS", "CONSULTATIONS", "REWARD_AMOUNT"], ["500230001000"],
                      ["202501", Period.parse("2025Q1")])
    assert rows == [
        {"data_element": "CONSULTATIONS", "category_option_combo": "MALE", "org_unit": "500230001000",
         "period": "202501", "value": 5},
        {"data_element": "PUBLICITY_EVENTS", "category_option_combo": "", "org_unit": "500230001000",
         "period": "202501", "value": 2},
        {"data_element": "REWARD_AMOUNT", "category_option_combo": "", "org_unit": "500230001000",
         "period": "2025Q1", "value": 1200.5},
    ]
    assert len(values(None, None, None)) == 6
    assert values(["PUBLICITY_EVENTS"], ["500230000000"], ["202501"]) == []  # no roll-up: exactly these units


def test_element_catalogue(stored, django_assert_num_queries):
    with django_assert_num_queries(2):
        catalogue = {e["code"]: e for e in element_catalogue()}
    assert catalogue["SPECIAL_PERSONS"]["category_option_combos"] == [{"code": "DEATH", "name": "独生子女死亡"},
                                                                      {"code": "DISABILITY", "name": "独生子女伤残"}]
    assert catalogue["REWARD_AMOUNT"] == {"code": "REWARD_AMOUNT", "name": "奖励扶助发放金额",
                                          "name_en": "Reward and assistance paid", "value_type": "non_negative_number",
                                          "category_option_combos": [{"code": "", "name": "合计"}]}


def test_reporting_takes_a_fixed_number_of_queries(stored, personas, django_assert_max_num_queries):
    fam = data_set_get(code="FAMSVC_M")
    for unit in (stored.dongcheng, stored.xicheng, stored.longhe):
        complete_register(by=personas.statistician, data_set=fam, unit=unit, period="202501")
    with django_assert_max_num_queries(4):
        rows = reporting(fam, stored.county, Period.parse("2025"), Period.parse("2025"))
    assert [(r.unit.code, r.expected, r.actual) for r in rows] == [
        ("500230000000", 36, 3), ("500230001000", 12, 1), ("500230002000", 12, 1), ("500230101000", 12, 1)]
    assert rows[0].rate == 8.3


def test_services_refuse_a_unit_the_data_set_is_not_assigned_to(county, personas):
    from renkou.core.errors import RuleViolation

    with pytest.raises(RuleViolation) as caught:
        values_save(by=personas.statistician, data_set=data_set_get(code="FAMSVC_M"), unit=county.dc_village1,
                    period="202501", entries={"PUBLICITY_EVENTS": "1"})
    assert (caught.value.field, caught.value.code) == ("unit", "unit.not_assigned")
    with pytest.raises(RuleViolation):
        complete_register(by=personas.statistician, data_set=data_set_get(code="FAMSVC_M"), unit=county.county,
                          period="202501")
