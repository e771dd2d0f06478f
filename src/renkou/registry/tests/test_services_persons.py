from datetime import date

import pytest

from renkou.accounts.models import AuditEntry
from renkou.core.errors import RuleViolation, violations_of
from renkou.registry import idnumbers
from renkou.registry.models import Person, PersonHistory
from renkou.registry.services import household_create, person_create, person_update
from renkou.testing import make_person

pytestmark = pytest.mark.django_db


def test_person_create_normalises_the_id_number(personas, county):
    number = idnumbers.make("500230", date(1985, 7, 1), 12)
    messy = " ".join(number[:6]) + number[6:].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    p = person_create(by=personas.dongcheng, name=" 林静 ", sex="2", birth_date=date(1985, 7, 1), id_number=messy,
                      residence_unit=county.dc_village1, registration_unit=county.dc_village1)
    assert p.id_number == number and p.name == "林静"
    assert AuditEntry.objects.filter(action="create", object_id=str(p.pk)).exists()


def test_legacy_fifteen_digit_number_is_converted(personas, county):
    p = person_create(by=personas.dongcheng, name="老号", sex="2", birth_date=date(1949, 12, 31),
                      id_number="110105491231002", residence_unit=county.dc_village1,
                      registration_unit=county.dc_village1)
    assert p.id_number == "11010519491231002X"


def test_id_number_unique_in_the_county(personas, county):
    existing = make_person(county.dc_village1, birth_date=date(1990, 1, 1), sex="1")
    with pytest.raises(RuleViolation) as info:
        person_create(by=personas.admin, name="重复", sex="1", birth_date=date(1990, 1, 1),
                      id_number=existing.id_number, residence_unit=county.xc_village1,
                      registration_unit=county.xc_village1)
    assert (info.value.field, info.value.code) == ("id_number", "duplicate")


def test_every_bad_field_is_named_at_once(personas, county):
    with pytest.raises(RuleViolation) as info:
        person_create(by=personas.dongcheng, name="", sex="7", birth_date=date(2090, 1, 1), ethnicity="99",
                      residence_unit=county.dc_village1, registration_unit=county.dc_village1)
    assert {v.field for v in violations_of(info.value)} >= {"name", "sex", "birth_date", "ethnicity"}
    assert Person.objects.count() == 0


def test_id_number_contradicting_the_birth_date_is_an_error(personas, county):
    number = idnumbers.make("500230", date(1985, 7, 1), 11)
    with pytest.raises(RuleViolation) as info:
        person_create(by=personas.dongcheng, name="甲", sex="1", birth_date=date(1985, 7, 2), id_number=number,
                      residence_unit=county.dc_village1, registration_unit=county.dc_village1)
    assert (info.value.field, info.value.code) == ("id_number", "id_number.birth_date_mismatch")


def test_writing_outside_scope_is_refused(personas, county):
    with pytest.raises(RuleViolation) as info:
        person_create(by=personas.dongcheng, name="甲", sex="1", birth_date=date(1985, 7, 2),
                      residence_unit=county.xc_village1, registration_unit=county.xc_village1)
    assert info.value.field == "residence_unit"


def test_person_update_keeps_before_and_after(personas, county):
    p = make_person(county.dc_village1, name="张伟", birth_date=date(1980, 1, 1))
    person_update(by=personas.dongcheng, person=p, changes={"name": "张维", "education": "20"}, expected_version=1)
    p.refresh_from_db()
    assert (p.name, p.education, p.version) == ("张维", "20", 2)
    h = PersonHistory.objects.get(person=p, action="update")
    assert h.changes == {"name": ["张伟", "张维"], "education": ["", "20"]} and h.username == "dongcheng"


def test_person_update_detects_a_concurrent_change(personas, county):
    p = make_person(county.dc_village1, birth_date=date(1980, 1, 1))
    person_update(by=personas.dongcheng, person=p, changes={"name": "一"}, expected_version=1)
    with pytest.raises(RuleViolation) as info:
        person_update(by=personas.dongcheng, person=p, changes={"name": "二"}, expected_version=1)
    assert info.value.code == "conflict"


def test_person_update_refuses_unknown_fields(personas, county):
    p = make_person(county.dc_village1, birth_date=date(1980, 1, 1))
    with pytest.raises(RuleViolation) as info:
        person_update(by=personas.dongcheng, person=p, changes={"death_date": date(2020, 1, 1)})
    assert info.value.field == "death_date"


def test_household_numbers_follow_the_village_code(personas, county):
    a = household_create(by=personas.dongcheng, unit=county.dc_village1, address="东城路1号")
    b = household_create(by=personas.dongcheng, unit=county.dc_village1, address="东城路2号")
    assert (a.number, b.number) == ("50023000100100001", "50023000100100002")
    with pytest.raises(RuleViolation) as info:
        household_create(by=personas.dongcheng, unit=county.dongcheng, address="x")
    assert info.value.field == "unit"
