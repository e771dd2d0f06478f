"""core.bulk.build_unsaved makes the instance Model(**kwargs) makes, without Model.__init__."""

from datetime import date

import pytest
from django.forms.models import model_to_dict

from renkou.core.bulk import build_unsaved
from renkou.registry.models import Household, Person

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_the_same_values_defaults_and_cached_references_as_the_constructor(county):
    household = Household.objects.create(number="50023000100100009", address="测试路", unit=county.dc_village1)
    values = {"name": "王芳", "sex": "2", "birth_date": date(1990, 3, 3), "relation_to_head": "02"}
    built = build_unsaved(Person, values, {"household": household, "residence_unit": county.dc_village1})
    plain = Person(**values, household=household, residence_unit=county.dc_village1)
    assert _fields(built) == _fields(plain)
    assert built.id_number_warnings == [] and built.id_number_warnings is not plain.id_number_warnings
    assert built.ethnicity == "01" and built.version == 1 and built.pk is None and built._state.adding
    # references are served from the cache: no query
    assert built.household is household and built.residence_unit is county.dc_village1
    assert built.registration_unit is None and built.mother is None
    assert model_to_dict(built) == model_to_dict(plain)
    built.save()
    assert Person.objects.get(pk=built.pk).household_id == household.pk


def test_an_unknown_field_is_refused():
    with pytest.raises(TypeError, match="no field"):
        build_unsaved(Person, {"nmae": "王芳"})
