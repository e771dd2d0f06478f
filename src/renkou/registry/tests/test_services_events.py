from datetime import date

import pytest

from renkou.core.errors import NotFound, RuleViolation
from renkou.registry.models import Event, Marriage, Person, PersonHistory
from renkou.registry.services import (
    death_register,
    marriage_end,
    marriage_register,
    move_in_register,
    move_out_register,
)
from renkou.testing import id_number_for, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def couple(county, personas):
    wife = make_person(county.dc_village1, name="陈红", sex="2", birth_date=date(1990, 3, 3))
    husband = make_person(county.dc_village1, name="刘军", sex="1", birth_date=date(1988, 8, 8))
    marriage = marriage_register(by=personas.dongcheng, husband=husband, wife=wife, married_on=date(2015, 5, 1))
    return husband, wife, marriage


def test_death_ends_the_marriage_and_widows_the_spouse(personas, couple):
    husband, wife, marriage = couple
    event = death_register(by=personas.dongcheng, person=husband, died_on=date(2023, 2, 1))
    husband.refresh_from_db()
    wife.refresh_from_db()
    marriage.refresh_from_db()
    assert husband.death_date == date(2023, 2, 1) and not husband.alive
    assert (marriage.ended_on, marriage.end_reason) == (date(2023, 2, 1), "death")
    assert wife.marital_status == "30"
    assert event.kind == "death" and event.unit_id == husband.residence_unit_id
    assert PersonHistory.objects.filter(person=wife, action="widowed").exists()


def test_death_twice_or_before_birth_is_refused(personas, county):
    p = make_person(county.dc_village1, birth_date=date(2000, 1, 1))
    with pytest.raises(RuleViolation) as info:
        death_register(by=personas.dongcheng, person=p, died_on=date(1999, 1, 1))
    assert info.value.field == "died_on"
    death_register(by=personas.dongcheng, person=p, died_on=date(2020, 1, 1))
    with pytest.raises(RuleViolation) as info:
        death_register(by=personas.dongcheng, person=p, died_on=date(2021, 1, 1))
    assert info.value.field == "person"


def test_no_move_after_death(personas, county):
    p = make_person(county.dc_village1, birth_date=date(2000, 1, 1))
    death_register(by=personas.dongcheng, person=p, died_on=date(2020, 1, 1))
    with pytest.raises(RuleViolation) as info:
        move_out_register(by=personas.dongcheng, person=p, moved_on=date(2021, 1, 1), to_county="440305")
    assert info.value.field == "moved_on" and info.value.code == "after_death"


def test_moving_out_to_another_county_keeps_the_registration(personas, county):
    p = make_person(county.dc_village1, birth_date=date(1998, 1, 1))
    event = move_out_register(by=personas.dongcheng, person=p, moved_on=date(2022, 3, 1), to_county="440305")
    p.refresh_from_db()
    assert (p.residence_status, p.other_county_code, p.residence_unit_id) == ("out", "440305", None)
    assert p.registration_unit_id == county.dc_village1.pk
    assert (event.to_county, event.from_unit_id, event.unit_id) == ("440305", county.dc_village1.pk,
                                                                    county.dc_village1.pk)
    history = PersonHistory.objects.get(person=p, action="move_out")
    assert history.changes["residence_status"] == ["resident", "out"]
    # Still visible to the officer of the township of registration.
    from renkou.registry.selectors import person_get_for_user

    assert person_get_for_user(user=personas.dongcheng, person_id=p.pk).pk == p.pk
    # ... and coming back makes a resident again.
    move_in_register(by=personas.dongcheng, person=p, moved_on=date(2024, 1, 1), to_unit=county.dc_village2,
                     from_county="440305")
    p.refresh_from_db()
    assert (p.residence_status, p.other_county_code, p.residence_unit_id) == ("resident", "", county.dc_village2.pk)


def test_moving_within_the_county_changes_the_village(personas, county):
    p = make_person(county.dc_village1, birth_date=date(1998, 1, 1))
    move_out_register(by=personas.admin, person=p, moved_on=date(2022, 3, 1), to_unit=county.xc_village1)
    p.refresh_from_db()
    assert p.residence_unit_id == county.xc_village1.pk and p.residence_status == "resident"


def test_move_needs_exactly_one_destination_and_a_county_code(personas, county):
    p = make_person(county.dc_village1, birth_date=date(1998, 1, 1))
    with pytest.raises(RuleViolation) as info:
        move_out_register(by=personas.dongcheng, person=p, moved_on=date(2022, 3, 1))
    assert info.value.field == "to_unit"
    with pytest.raises(RuleViolation) as info:
        move_out_register(by=personas.dongcheng, person=p, moved_on=date(2022, 3, 1), to_county="44")
    assert info.value.field == "to_county"
    assert Event.objects.count() == 0


def test_a_newcomer_from_another_county(personas, county):
    event = move_in_register(
        by=personas.dongcheng, moved_on=date(2023, 7, 1), to_unit=county.dc_village2, from_county="510104",
        new_person={"name": "孙丽", "sex": "2", "birth_date": date(1997, 2, 2),
                    "id_number": id_number_for(date(1997, 2, 2), "2", address="510104")},
    )
    p = event.person
    assert (p.residence_status, p.other_county_code, p.registration_unit_id) == ("in", "510104", None)
    assert p.residence_unit_id == county.dc_village2.pk and event.from_county == "510104"


def test_move_in_outside_scope_is_refused(personas, county):
    with pytest.raises(RuleViolation) as info:
        move_in_register(by=personas.xicheng, moved_on=date(2023, 7, 1), to_unit=county.dc_village2,
                         from_county="510104", new_person={"name": "某", "sex": "2", "birth_date": date(1997, 2, 2)})
    assert info.value.field == "to_unit"
    assert Person.objects.count() == 0


def test_one_current_marriage_per_person(personas, couple, county):
    husband, wife, _ = couple
    other = make_person(county.dc_village1, name="吴芳", sex="2", birth_date=date(1992, 1, 1))
    with pytest.raises(RuleViolation) as info:
        marriage_register(by=personas.dongcheng, husband=husband, wife=other, married_on=date(2020, 1, 1))
    assert info.value.field == "husband"
    assert Marriage.objects.count() == 1


def test_divorce_then_remarriage(personas, couple, county):
    husband, wife, marriage = couple
    marriage_end(by=personas.dongcheng, marriage=marriage, ended_on=date(2019, 1, 1), reason="divorce")
    husband.refresh_from_db()
    assert husband.marital_status == "40"
    other = make_person(county.dc_village1, name="吴芳", sex="2", birth_date=date(1992, 1, 1))
    marriage_register(by=personas.dongcheng, husband=husband, wife=other, married_on=date(2020, 1, 1))
    husband.refresh_from_db()
    other.refresh_from_db()
    assert husband.marital_status == "22" and other.marital_status == "20"


def test_marriage_below_legal_age_or_same_sex_is_refused(personas, county):
    young = make_person(county.dc_village1, name="少年", sex="1", birth_date=date(2004, 1, 1))
    woman = make_person(county.dc_village1, name="女", sex="2", birth_date=date(2000, 1, 1))
    with pytest.raises(RuleViolation) as info:
        marriage_register(by=personas.dongcheng, husband=young, wife=woman, married_on=date(2025, 1, 1))
    assert info.value.field == "husband"
    with pytest.raises(RuleViolation) as info:
        marriage_register(by=personas.dongcheng, husband=woman, wife=young, married_on=date(2026, 1, 1))
    assert {"husband", "wife"} <= {v.field for v in getattr(info.value, "violations", [info.value])}


def test_marriage_is_refused_when_neither_spouse_is_in_scope(personas, couple):
    husband, wife, marriage = couple
    with pytest.raises(NotFound):
        marriage_end(by=personas.xicheng, marriage=marriage, ended_on=date(2020, 1, 1))


def test_a_departed_person_stays_reachable_and_can_return(personas, county):
    newcomer = move_in_register(
        by=personas.dongcheng, moved_on=date(2020, 1, 1), to_unit=county.dc_village1, from_county="510104",
        new_person={"name": "过客", "sex": "1", "birth_date": date(1990, 5, 5)}).person
    move_out_register(by=personas.dongcheng, person=newcomer, moved_on=date(2022, 1, 1), to_county="510104")
    newcomer.refresh_from_db()
    assert newcomer.residence_status == "left" and newcomer.registration_unit_id == county.dc_village1.pk
    from renkou.registry.selectors import person_get_for_user

    assert person_get_for_user(user=personas.dongcheng, person_id=newcomer.pk).pk == newcomer.pk
    move_in_register(by=personas.dongcheng, person=newcomer, moved_on=date(2024, 1, 1),
                     to_unit=county.dc_village2, from_county="510104")
    newcomer.refresh_from_db()
    assert (newcomer.residence_status, newcomer.registration_unit_id, newcomer.residence_unit_id) == (
        "in", None, county.dc_village2.pk)


def test_registration_moving_away_keeps_the_record_with_its_unit(personas, county):
    p = make_person(county.dc_village1, birth_date=date(1995, 1, 1))
    move_out_register(by=personas.dongcheng, person=p, moved_on=date(2023, 1, 1), to_county="440305",
                      registration_moved=True)
    p.refresh_from_db()
    assert (p.residence_status, p.registration_unit_id, p.residence_unit_id) == ("left", county.dc_village1.pk,
                                                                                None)


def test_remarriage_status_is_each_spouses_own(personas, couple, county):
    husband, wife, marriage = couple
    marriage_end(by=personas.dongcheng, marriage=marriage, ended_on=date(2019, 1, 1), reason="divorce")
    first_timer = make_person(county.dc_village1, name="初婚女", sex="2", birth_date=date(1993, 1, 1))
    second = marriage_register(by=personas.dongcheng, husband=husband, wife=first_timer,
                               married_on=date(2020, 1, 1))
    husband.refresh_from_db()
    first_timer.refresh_from_db()
    assert (husband.marital_status, first_timer.marital_status) == ("22", "20")
    marriage_end(by=personas.dongcheng, marriage=second, ended_on=date(2021, 1, 1), reason="divorce")
    marriage_register(by=personas.dongcheng, husband=husband, wife=wife, married_on=date(2022, 1, 1))
    husband.refresh_from_db()
    wife.refresh_from_db()
    assert (husband.marital_status, wife.marital_status) == ("23", "23")


def test_registration_moving_to_another_village_leaves_the_household(personas, county):
    from renkou.testing import make_household

    hh = make_household(county.dc_village1, "50023000100100077")
    p = make_person(county.dc_village1, birth_date=date(1995, 1, 1), household=hh, relation="20")
    move_out_register(by=personas.admin, person=p, moved_on=date(2023, 1, 1), to_unit=county.xc_village1,
                      registration_moved=True)
    p.refresh_from_db()
    assert (p.household_id, p.relation_to_head, p.registration_unit_id) == (None, "", county.xc_village1.pk)
    assert PersonHistory.objects.get(person=p, action="move_out").changes["household"] == [hh.pk, None]
