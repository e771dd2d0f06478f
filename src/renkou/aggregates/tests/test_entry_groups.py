"""The entry form groups an element's option combos under its category (性别: 男 女), a combo crossing two
categories by its first option; elements with a total only stand alone."""

from __future__ import annotations

import re

import pytest

from renkou.aggregates import selectors
from renkou.aggregates.models import CategoryCombo, CategoryOptionCombo, DataElement, DataSet, DataSetElement
from renkou.orgunits.periods import Period
from renkou.testing import client_for

pytestmark = pytest.mark.django_db


def test_form_groups_option_combos_by_category(personas):
    html = client_for(personas.dongcheng).get(
        "/datasets/?data_set=FAMSVC_M&unit=500230001000&period=202502").content.decode()
    group = re.search(r'<fieldset class="coc-group" data-category="SEX"><legend>性别</legend>(.*?)</fieldset>', html,
                      re.S)
    assert group is not None
    assert 'name="CONSULTATIONS.MALE"' in group.group(1) and 'name="CONSULTATIONS.FEMALE"' in group.group(1)
    assert ">男<" in group.group(1) and ">女<" in group.group(1)
    assert html.count('class="coc-group"') == 1  # the four total-only elements have no group
    assert 'name="PUBLICITY_EVENTS"' in html


def test_a_combo_of_two_categories_is_grouped_by_its_first_option(county):
    combo = CategoryCombo.objects.create(code="SEX_TYPE", name="性别和类别")
    for i, (code, name) in enumerate((("MALE.DEATH", "男，死亡"), ("MALE.DISABILITY", "男，伤残"),
                                      ("FEMALE.DEATH", "女，死亡"), ("FEMALE.DISABILITY", "女，伤残"))):
        CategoryOptionCombo.objects.create(combo=combo, code=code, name=name, sort_order=i)
    element = DataElement.objects.create(code="X_PERSONS", name_zh="甲", name_en="X", value_type="non_negative_integer",
                                         combo=combo)
    ds = DataSet.objects.create(code="X_Q", name="甲表", period_type="quarter", due_days=10, unit_level=2)
    DataSetElement.objects.create(data_set=ds, element=element, sort_order=1)
    form = selectors.form_get(ds, county.dongcheng, Period.parse("2025Q1"))
    (row,) = form.rows
    assert row.category == "性别和类别"
    assert [(g, [c.coc for c in cells]) for g, cells in row.groups] == [
        ("MALE", ["MALE.DEATH", "MALE.DISABILITY"]), ("FEMALE", ["FEMALE.DEATH", "FEMALE.DISABILITY"])]
