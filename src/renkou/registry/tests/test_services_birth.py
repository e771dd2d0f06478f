from datetime import date

import pytest

from renkou.accounts.models import AuditEntry
from renkou.core.errors import NeedsConfirmation, NotFound, PermissionDenied, RuleViolation, violations_of
from renkou.registry.models import Event, Person, PersonHistory
from renkou.registry.services import birth_register, death_register, marriage_register
from renkou.testing import make_household, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(county):
    hh = make_household(county.dc_village1, "500230001001" + "00001")
    mother = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1995, 4, 2), household=hh,
                         relation="10", marital_status="20")
    father = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1993, 6, 9), household=hh,
                         relation="02", marital_status="20")
    return mother, father, hh


def test_live_birth_creates_the_child_with_history_and_audit(personas, county, family):
    mother, father, hh = family
    event = birth_register(by=personas.dongcheng, mother=mother, father=father, born_on=date(2024, 3, 5),
                           sex="2", name="王小花")
    child = event.person
    assert (child.name, child.sex, child.birth_date) == ("王小花", "2", date(2024, 3, 5))
    assert child.mother_id == mother.pk and child.father_id == father.pk
    assert child.household_id == hh.pk and child.relation_to_head == "30"
    assert child.residence_unit_id == county.dc_village1.pk
    assert event.birth_order == 1 and event.unit_id == county.dc_village1.pk and event.live_born is True
    assert PersonHistory.objects.filter(person=mother, action="birth_given").count() == 1
    assert PersonHistory.objects.filter(person=child, action="birth").count() == 1
    entry = AuditEntry.objects.get(object_type="event", object_id=str(event.pk))
    assert entry.username == "dongcheng" and entry.detail == {"what": "birth_register", "person": mother.pk}


def test_birth_order_counts_the_mothers_earlier_live_births(personas, family):
    mother, father, _ = family
    first = birth_register(by=personas.dongcheng, mother=mother, born_on=date(2020, 1, 1), sex="1", name="甲")
    still = birth_register(by=personas.dongcheng, mother=mother, born_on=date(2021, 6, 1), sex="1",
                           live_born=False)
    third = birth_register(by=personas.dongcheng, mother=mother, born_on=date(2023, 1, 1), sex="2", name="丙")
    # A child born earlier, registered late, shifts the later orders.
    late = birth_register(by=personas.dongcheng, mother=mother, born_on=date(2018, 5, 5), sex="2", name="乙")
    orders = dict(Event.objects.filter(mother=mother).values_list("id", "birth_order"))
    assert orders[late.pk] == 1
    assert orders[first.pk] == 2
    assert orders[third.pk] == 3
    assert orders[still.pk] is None  # a stillbirth is no live-born child
    assert still.person is None


@pytest.mark.parametrize(
    ("born_on", "field"),
    [
        (date(1994, 1, 1), "born_on"),  # before the mother was born
        (date(2006, 1, 1), "born_on"),  # mother aged 10
        (date(2056, 1, 1), "born_on"),  # in the future
    ],
)
def test_impossible_birth_dates_are_refused_naming_the_field(personas, family, born_on, field):
    mother, _, _ = family
    with pytest.raises(RuleViolation) as info:
        birth_register(by=personas.dongcheng, mother=mother, born_on=born_on, sex="1", name="某")
    assert field in {v.field for v in violations_of(info.value)}
    assert Person.objects.count() == 2 and Event.objects.count() == 0


def test_mother_over_sixty_is_refused(personas, county):
    old = make_person(county.dc_village1, name="老妇", sex="2", birth_date=date(1950, 1, 1))
    with pytest.raises(RuleViolation) as info:
        birth_register(by=personas.dongcheng, mother=old, born_on=date(2015, 1, 1), sex="1", name="某")
    assert "60" in str(violations_of(info.value)[0].message)


def test_no_birth_after_the_mothers_death(personas, family):
    mother, _, _ = family
    death_register(by=personas.dongcheng, person=mother, died_on=date(2022, 1, 1))
    with pytest.raises(RuleViolation) as info:
        birth_register(by=personas.dongcheng, mother=mother, born_on=date(2023, 1, 1), sex="1", name="某")
    assert {v.field for v in violations_of(info.value)} == {"born_on"}


def test_a_man_cannot_be_the_mother_and_a_woman_cannot_be_the_father(personas, family):
    mother, father, _ = family
    with pytest.raises(RuleViolation) as info:
        birth_register(by=personas.dongcheng, mother=father, father=mother, born_on=date(2024, 1, 1), sex="1",
                       name="某")
    assert {v.field for v in violations_of(info.value)} >= {"mother", "father"}


def test_live_birth_needs_a_name_and_nothing_is_half_written(personas, family):
    mother, _, _ = family
    with pytest.raises(RuleViolation) as info:
        birth_register(by=personas.dongcheng, mother=mother, born_on=date(2024, 1, 1), sex="1", name=" ")
    assert info.value.field == "name"
    assert Event.objects.count() == 0 and PersonHistory.objects.count() == 0


def test_child_id_number_is_checked_against_birth_date_and_sex(personas, family):
    mother, _, _ = family
    wrong_sex = "500230202401010031"  # odd sequence: a boy's number
    from renkou.registry import idnumbers

    wrong_sex = idnumbers.make("500230", date(2024, 1, 1), 3)
    with pytest.raises(RuleViolation) as info:
        birth_register(by=personas.dongcheng, mother=mother, born_on=date(2024, 1, 1), sex="2", name="某",
                       id_number=wrong_sex)
    assert info.value.field == "id_number" and info.value.code == "id_number.sex_mismatch"
    assert Person.objects.count() == 2


def test_checksum_warning_must_be_confirmed(personas, family):
    mother, _, _ = family
    from renkou.registry import idnumbers

    good = idnumbers.make("500230", date(2024, 1, 1), 4)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(NeedsConfirmation) as info:
        birth_register(by=personas.dongcheng, mother=mother, born_on=date(2024, 1, 1), sex="2", name="某",
                       id_number=bad)
    assert info.value.code == "id_number.checksum"
    assert Person.objects.count() == 2
    event = birth_register(by=personas.dongcheng, mother=mother, born_on=date(2024, 1, 1), sex="2", name="某",
                           id_number=bad, confirm=["id_number.checksum"])
    assert event.person.id_number == bad
    assert event.person.id_number_warnings == ["id_number.checksum"]


def test_another_townships_officer_cannot_register_a_birth(personas, family):
    mother, _, _ = family
    with pytest.raises(NotFound):
        birth_register(by=personas.xicheng, mother=mother, born_on=date(2024, 1, 1), sex="1", name="某")


def test_aggregate_viewer_cannot_write(personas, family):
    mother, _, _ = family
    with pytest.raises(PermissionDenied):
        birth_register(by=personas.viewer, mother=mother, born_on=date(2024, 1, 1), sex="1", name="某")


def test_father_must_be_old_enough_and_alive_near_the_birth(personas, family, county):
    mother, father, _ = family
    death_register(by=personas.dongcheng, person=father, died_on=date(2020, 1, 1))
    with pytest.raises(RuleViolation) as info:
        birth_register(by=personas.dongcheng, mother=mother, father=father, born_on=date(2022, 1, 1), sex="1",
                       name="某")
    assert info.value.field == "father"
    # Born within 300 days of the father's death: accepted.
    event = birth_register(by=personas.dongcheng, mother=mother, father=father, born_on=date(2020, 6, 1),
                           sex="1", name="遗腹子")
    assert event.father_id == father.pk


def test_marriage_then_birth_order_for_twins(personas, county):
    m = make_person(county.dc_village1, name="赵敏", sex="2", birth_date=date(1996, 1, 1))
    h = make_person(county.dc_village1, name="周杰", sex="1", birth_date=date(1994, 1, 1))
    marriage_register(by=personas.dongcheng, husband=h, wife=m, married_on=date(2019, 1, 1))
    a = birth_register(by=personas.dongcheng, mother=m, father=h, born_on=date(2021, 2, 2), sex="1", name="双一")
    b = birth_register(by=personas.dongcheng, mother=m, father=h, born_on=date(2021, 2, 2), sex="1", name="双二")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.birth_order, b.birth_order) == (1, 2)
