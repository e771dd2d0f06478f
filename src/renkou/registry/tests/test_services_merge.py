"""person_merge: a person registered twice becomes one record that keeps every event, marriage and child."""

from datetime import date

import pytest

from renkou.accounts.models import AuditEntry
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation
from renkou.registry import selectors
from renkou.registry.models import Event, Household, Marriage, Person, PersonHistory
from renkou.registry.services import (
    birth_register,
    marriage_register,
    move_out_register,
    person_merge,
)
from renkou.testing import make_household, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def twice(county, personas):
    """李梅 registered twice: once with her ID number, household and marriage, once (as 李枚, no ID number) with
    the births of her two children."""
    hh = make_household(county.dc_village1, "50023000100100001")
    husband = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1990, 6, 9), household=hh,
                          relation="02")
    wife = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1992, 4, 2), household=hh,
                       relation="10")
    marriage = marriage_register(by=personas.dongcheng, husband=husband, wife=wife, married_on=date(2015, 5, 1))
    dup = make_person(county.dc_village2, name="李枚", sex="2", birth_date=date(1992, 2, 4), id_number=None)
    dup.education = "20"
    dup.save(update_fields=["education"])
    births = [birth_register(by=personas.dongcheng, mother=dup, born_on=d, sex="1", name=n)
              for d, n in ((date(2016, 3, 1), "王一"), (date(2019, 8, 9), "王二"))]
    return {"wife": wife, "dup": dup, "husband": husband, "marriage": marriage, "births": births, "hh": hh}


def test_the_merge_keeps_every_event_marriage_and_child(personas, twice):
    wife, dup = twice["wife"], twice["dup"]
    event_ids = set(Event.objects.filter(mother=dup).values_list("pk", flat=True))
    children = [e.person_id for e in twice["births"]]
    history_before = PersonHistory.objects.filter(person__in=[wife, dup]).count()
    survivor = person_merge(by=personas.dongcheng, survivor=wife, duplicate=dup, purpose="核对户籍，同一人")

    assert set(Event.objects.filter(mother=survivor).values_list("pk", flat=True)) == event_ids
    assert len(event_ids) == 2 and not Event.objects.filter(mother=dup).exists()
    assert set(Person.objects.filter(mother=survivor).values_list("pk", flat=True)) == set(children)
    marriage = Marriage.objects.get(pk=twice["marriage"].pk)
    assert (marriage.husband_id, marriage.wife_id, marriage.ended_on) == (twice["husband"].pk, wife.pk, None)
    # her history (the two births given) moved with her, and both records got a merge entry
    assert PersonHistory.objects.filter(person=survivor).count() == history_before + 1
    assert PersonHistory.objects.filter(person=survivor, action="birth_given").count() == 2
    survivor.refresh_from_db()
    # kept: her own values; filled: what only the duplicate knew
    assert (survivor.name, survivor.birth_date, survivor.education) == ("李梅", date(1992, 4, 2), "20")
    assert survivor.household_id == twice["hh"].pk and survivor.merged_into_id is None


def test_the_retired_record_is_kept_and_traceable(personas, twice):
    wife, dup = twice["wife"], twice["dup"]
    person_merge(by=personas.dongcheng, survivor=wife, duplicate=dup, purpose="同一人")
    dup.refresh_from_db()
    assert dup.merged_into_id == wife.pk and dup.name == "李枚"
    entry = PersonHistory.objects.get(person=dup)
    assert entry.action == "merged_into" and entry.changes["merged_into"] == [None, wife.pk]
    assert PersonHistory.objects.get(person=wife, action="merge").changes["merged_from"] == [None, dup.pk]
    audit = AuditEntry.objects.get(object_type="person", object_id=str(wife.pk), detail__what="merge")
    assert audit.username == "dongcheng" and audit.purpose == "同一人"
    assert audit.detail["merged"] == dup.pk and audit.detail["moved"]["events"] == 2
    assert audit.detail["moved"]["history"] == 2
    # the retired record leaves the lists of the register
    assert dup.pk not in set(selectors.persons_in_scope(personas.dongcheng).values_list("pk", flat=True))


def test_the_id_number_and_headship_move_to_a_survivor_that_lacks_them(personas, county):
    hh = make_household(county.dc_village1, "50023000100100002")
    original = make_person(county.dc_village1, name="赵国华", birth_date=date(1960, 1, 2), household=hh,
                           relation="02")
    number = original.id_number
    Household.objects.filter(pk=hh.pk).update(head=original)
    survivor = make_person(county.dc_village1, name="赵国华", birth_date=date(1960, 1, 2), id_number=None)
    person_merge(by=personas.dongcheng, survivor=survivor, duplicate=original)
    survivor.refresh_from_db()
    original.refresh_from_db()
    assert survivor.id_number == number and original.id_number is None
    assert survivor.household_id == hh.pk and survivor.relation_to_head == "02"
    assert Household.objects.get(pk=hh.pk).head_id == survivor.pk
    assert original.household_id is None and original.merged_into_id == survivor.pk
    # the number is masked in the history, as everywhere in history
    changes = PersonHistory.objects.get(person=original).changes
    assert changes["id_number"][0] != number and changes["id_number"][0].endswith(number[-4:])


def test_a_move_event_of_the_duplicate_moves_to_the_survivor(personas, county):
    a = make_person(county.dc_village1, name="孙丽")
    b = make_person(county.dc_village1, name="孙莉", id_number=None)
    event = move_out_register(by=personas.dongcheng, person=b, moved_on=date(2024, 2, 1), to_county="110105")
    person_merge(by=personas.dongcheng, survivor=a, duplicate=b)
    event.refresh_from_db()
    assert event.person_id == a.pk


def test_a_person_merged_already_is_refused(personas, twice, county):
    other = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1992, 4, 2), id_number=None)
    person_merge(by=personas.dongcheng, survivor=twice["wife"], duplicate=twice["dup"])
    with pytest.raises(RuleViolation) as exc:
        person_merge(by=personas.dongcheng, survivor=other, duplicate=Person.objects.get(pk=twice["dup"].pk))
    assert exc.value.code == "merged" and exc.value.field == "duplicate"
    with pytest.raises(RuleViolation) as exc:
        person_merge(by=personas.dongcheng, survivor=twice["wife"], duplicate=twice["wife"])
    assert exc.value.code == "same"


def test_persons_outside_the_officers_area_are_refused_and_nothing_changes(personas, twice):
    with pytest.raises(NotFound):
        person_merge(by=personas.xicheng, survivor=twice["wife"], duplicate=twice["dup"])
    with pytest.raises(PermissionDenied):
        person_merge(by=personas.viewer, survivor=twice["wife"], duplicate=twice["dup"])
    assert Person.objects.get(pk=twice["dup"].pk).merged_into_id is None
    assert Event.objects.filter(mother=twice["dup"]).count() == 2


def test_one_of_the_two_outside_the_area_is_refused(personas, county, twice):
    far = make_person(county.xc_village1, name="李梅", sex="2", birth_date=date(1992, 4, 2), id_number=None)
    with pytest.raises(NotFound):
        person_merge(by=personas.dongcheng, survivor=twice["wife"], duplicate=far)
    assert Person.objects.get(pk=far.pk).merged_into_id is None


def test_two_current_marriages_are_refused_with_nothing_written(personas, county, twice):
    other_husband = make_person(county.dc_village2, name="刘伟", birth_date=date(1988, 1, 1))
    marriage_register(by=personas.dongcheng, husband=other_husband, wife=twice["dup"], married_on=date(2014, 1, 1))
    with pytest.raises(RuleViolation) as exc:
        person_merge(by=personas.dongcheng, survivor=twice["wife"], duplicate=twice["dup"])
    assert exc.value.code == "two_marriages"
    assert Event.objects.filter(mother=twice["dup"]).count() == 2
    assert Person.objects.get(pk=twice["dup"].pk).merged_into_id is None


def test_a_retired_record_takes_no_more_writes_and_its_page_points_to_the_survivor(personas, twice):
    from renkou.testing import client_for

    wife, dup = twice["wife"], twice["dup"]
    person_merge(by=personas.dongcheng, survivor=wife, duplicate=dup, purpose="核对户籍，同一人")
    dup.refresh_from_db()
    with pytest.raises(RuleViolation) as caught:
        birth_register(by=personas.dongcheng, mother=dup, born_on=date(2024, 1, 5), sex="2", name="王三")
    assert caught.value.field == "mother" and caught.value.code == "merged"
    with pytest.raises(RuleViolation) as caught:
        move_out_register(by=personas.dongcheng, person=dup, moved_on=date(2024, 1, 5), to_county="510100")
    assert caught.value.field == "person"
    assert Event.objects.filter(mother=dup).count() == 0
    page = client_for(personas.dongcheng).get(f"/persons/{dup.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="merged-notice"' in html and f'href="/persons/{wife.pk}/"' in html
    assert 'id="register-birth"' not in html
