"""Each data-quality check on a small hand-built case: it finds the faulty record and leaves the sound ones."""

from datetime import date

import pytest

from renkou.quality import selectors
from renkou.quality.checks import CHECKS, Check, register
from renkou.registry.models import Event, Person
from renkou.testing import make_household, make_person

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 29)


def _found(personas, key, unit=None):
    return set(selectors.check_records(user=personas.admin, key=key, unit=unit, today=TODAY)
               .values_list("name", flat=True))


def _total(personas, key, unit=None):
    return selectors.quality_report(user=personas.admin, unit=unit, today=TODAY).totals[key]


@pytest.fixture
def sound(county):
    """A sound person: every check must leave her alone."""
    hh = make_household(county.dc_village1, "H-OK")
    return make_person(county.dc_village1, name="正常", sex="2", household=hh, birth_date=date(1980, 5, 5))


def test_no_id_number(personas, county, sound):
    make_person(county.dc_village1, name="无证", id_number=None)
    dead = make_person(county.dc_village1, name="已故无证", id_number=None)
    Person.objects.filter(pk=dead.pk).update(death_date=date(2020, 1, 1))
    assert _found(personas, "no_id_number") == {"无证"}  # the dead no longer count
    assert _total(personas, "no_id_number") == 1


def test_no_registration_and_no_residence_unit(personas, county, sound):
    p = make_person(county.dc_village1, name="无户籍地")
    Person.objects.filter(pk=p.pk).update(registration_unit=None)
    migrant = make_person(county.dc_village1, name="外县户籍")  # registered in another county: not missing
    Person.objects.filter(pk=migrant.pk).update(registration_unit=None, residence_status="in",
                                                other_county_code="500101")
    q = make_person(county.dc_village2, name="无居住地")
    Person.objects.filter(pk=q.pk).update(residence_unit=None)
    assert _found(personas, "no_registration_unit") == {"无户籍地"}
    assert _found(personas, "no_residence_unit") == {"无居住地"}
    # without a unit of residence the person counts in the unit of registration
    assert _found(personas, "no_residence_unit", unit=county.dc_village2) == {"无居住地"}
    assert _total(personas, "no_residence_unit", unit=county.dc_village1) == 0


def test_no_ethnicity_and_unknown_sex(personas, county, sound):
    p = make_person(county.dc_village1, name="无民族")
    q = make_person(county.dc_village1, name="性别不明")
    Person.objects.filter(pk=p.pk).update(ethnicity="")
    Person.objects.filter(pk=q.pk).update(sex="9")
    assert _found(personas, "no_ethnicity") == {"无民族"}
    assert _found(personas, "sex_unknown") == {"性别不明"}


def test_id_number_warnings(personas, county, sound):
    p = make_person(county.dc_village1, name="校验码错")
    Person.objects.filter(pk=p.pk).update(id_number_warnings=["id_number.checksum"])
    assert _found(personas, "id_number_warnings") == {"校验码错"}


def test_alive_and_older_than_110(personas, county, sound):
    make_person(county.dc_village1, name="超高龄", birth_date=date(1916, 11, 28))
    make_person(county.dc_village1, name="刚好110", birth_date=date(1916, 11, 29))
    dead = make_person(county.dc_village1, name="已故高龄", birth_date=date(1900, 1, 1))
    Person.objects.filter(pk=dead.pk).update(death_date=date(1990, 1, 1))
    assert _found(personas, "over_max_age") == {"超高龄"}


def test_mothers_age_at_the_birth_outside_12_to_60(personas, county, sound):
    mother = make_person(county.dc_village1, name="母亲", sex="2", birth_date=date(1960, 6, 15))
    make_person(county.dc_village1, name="母11岁生", mother=mother, birth_date=date(1972, 6, 14))  # 11 years
    make_person(county.dc_village1, name="母12岁生", mother=mother, birth_date=date(1972, 6, 15))  # 12: allowed
    make_person(county.dc_village1, name="母60岁生", mother=mother, birth_date=date(2021, 6, 14))  # 60: allowed
    make_person(county.dc_village1, name="母61岁生", mother=mother, birth_date=date(2021, 6, 15))  # 61
    make_person(county.dc_village1, name="正常子女", mother=sound, birth_date=date(2005, 1, 1))
    assert _found(personas, "mother_age_at_birth") == {"母11岁生", "母61岁生"}


def test_born_before_a_parent(personas, county, sound):
    mother = make_person(county.dc_village1, name="年轻母亲", sex="2", birth_date=date(1990, 1, 1))
    father = make_person(county.dc_village1, name="年轻父亲", sex="1", birth_date=date(1995, 1, 1))
    make_person(county.dc_village1, name="早于母亲", mother=mother, birth_date=date(1989, 1, 1))
    child = make_person(county.dc_village1, name="早于父亲", birth_date=date(1994, 1, 1))
    Person.objects.filter(pk=child.pk).update(father=father)
    assert _found(personas, "born_before_parent") == {"早于母亲", "早于父亲"}
    assert "早于母亲" not in _found(personas, "mother_age_at_birth")  # counted once, as the impossible one


def test_died_before_being_born(personas, county, sound):
    p = make_person(county.dc_village1, name="死于出生前", birth_date=date(2000, 1, 1))
    Person.objects.filter(pk=p.pk).update(death_date=date(1999, 1, 1))
    assert _found(personas, "death_before_birth") == {"死于出生前"}


def test_events_after_death(personas, county, sound):
    mother = make_person(county.dc_village1, name="已故母亲", sex="2", birth_date=date(1970, 1, 1))
    Person.objects.filter(pk=mother.pk).update(death_date=date(2010, 1, 1))
    Event.objects.create(kind="birth", mother=mother, date=date(2011, 1, 1), unit=county.dc_village1,
                         recorded_at="2011-01-02T00:00:00Z", sex="1", live_born=False)
    mover = make_person(county.dc_village1, name="死后迁出", birth_date=date(1950, 1, 1))
    Person.objects.filter(pk=mover.pk).update(death_date=date(2015, 1, 1))
    Event.objects.create(kind="move_out", person=mover, date=date(2016, 1, 1), unit=county.dc_village1,
                         recorded_at="2016-01-02T00:00:00Z")
    Event.objects.create(kind="death", person=mover, date=date(2015, 1, 1), unit=county.dc_village1,
                         recorded_at="2015-01-02T00:00:00Z")
    fine = make_person(county.dc_village1, name="死前迁出", birth_date=date(1950, 1, 1))
    Person.objects.filter(pk=fine.pk).update(death_date=date(2015, 1, 1))
    Event.objects.create(kind="move_out", person=fine, date=date(2014, 1, 1), unit=county.dc_village1,
                         recorded_at="2014-01-02T00:00:00Z")
    assert _found(personas, "events_after_death") == {"已故母亲", "死后迁出"}


def test_persons_without_a_household(personas, county, sound):
    make_person(county.dc_village1, name="无户")
    left = make_person(county.dc_village1, name="已迁走无户")
    Person.objects.filter(pk=left.pk).update(residence_status="left")
    assert _found(personas, "no_household") == {"无户"}


def test_a_sound_register_has_no_findings(personas, county, sound):
    report = selectors.quality_report(user=personas.admin, today=TODAY)
    assert set(report.totals) == set(CHECKS)
    assert all(n == 0 for n in report.totals.values()), report.totals


def test_a_check_needs_persons_or_a_count_and_a_unique_key():
    with pytest.raises(ValueError, match="registered already"):
        register(Check(key="no_household", label="x", group="g", count=lambda ids: 0))
    with pytest.raises(ValueError, match="one of where, query or count"):
        register(Check(key="new_one", label="x", group="g"))


def test_a_count_check_of_another_module_is_counted_per_child(personas, county, monkeypatch):
    """The place the lead registers the duplicates check: a count over unit ids, called per child unit."""
    calls = []

    def pending(unit_ids):
        calls.append(sorted(unit_ids))
        return 2 if county.dc_village1.pk in unit_ids else 0

    monkeypatch.setitem(CHECKS, "pending_test", Check(key="pending_test", label="待核重复", group="重复",
                                                     count=pending, link=lambda unit: f"/duplicates/?unit={unit.pk}"))
    report = selectors.quality_report(user=personas.admin, unit=county.dongcheng, today=TODAY)
    assert report.totals["pending_test"] == 2
    assert {f.unit.name: f.counts["pending_test"] for f in report.children} == {"第一社区": 2, "第二社区": 0}
    assert [county.dc_village1.pk] in calls
