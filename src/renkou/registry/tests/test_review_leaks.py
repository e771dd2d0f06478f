"""Review of the pages and the API for leaks of personal data across areas and gaps in the audit trail.

The situation most of these tests build: a member of a 东城 household moves, registration and all, to 西城
(``move_out_register(registration_moved=True)``). The household row stays in 东城 and the person keeps pointing
at it, so each township's pages meet persons of the other: lists must leave them out, and links must not
lead to a 404.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from renkou.accounts.models import AuditAction, AuditEntry
from renkou.registry import idnumbers, services
from renkou.registry.models import Person, PersonHistory
from renkou.registry.tests.test_api_base import Api
from renkou.testing import client_for, id_number_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.fixture
def split_household(county, personas):
    """A 东城 household: mother 刘芳 and her son 刘军, who has moved with his registration to 西城."""
    admin = personas.admin

    def person(name, sex, born, relation, **kw):
        return services.person_create(by=admin, name=name, sex=sex, birth_date=born,
                                      id_number=id_number_for(born, sex), household=hh, relation_to_head=relation,
                                      registration_unit=county.dc_village1, residence_unit=county.dc_village1, **kw)

    hh = services.household_create(by=admin, unit=county.dc_village1, address="东城路3号")
    mother = person("刘芳", "2", date(1970, 3, 3), "02")
    son = person("刘军", "1", date(1995, 5, 5), "20", mother=mother)
    services.move_out_register(by=admin, person=son, moved_on=date(2023, 1, 1), to_unit=county.xc_village1,
                               registration_moved=True)
    # The move itself now ends the membership; records imported or written before that rule still point at
    # the old household, and the pages must not leak through them.
    Person.objects.filter(pk=son.pk).update(household=hh, relation_to_head="20")
    son.refresh_from_db()
    assert (son.residence_unit_id, son.registration_unit_id, son.household_id) == (
        county.xc_village1.pk, county.xc_village1.pk, hh.pk)
    return mother, son, hh


def _no_full_id_numbers(text: str) -> None:
    for number in Person.objects.exclude(id_number=None).values_list("id_number", flat=True):
        assert number not in text


# ---------------------------------------------------------------------------------------------- search audit


def test_the_search_page_records_each_page_of_persons_it_shows(personas, split_household):
    mother, _, _ = split_household
    client = client_for(personas.dongcheng)
    client.get(reverse("person_search"), {"q": "刘"})
    client.get(reverse("person_search_results"), {"q": mother.id_number[:10]}, headers={"HX-Request": "true"})
    entries = list(AuditEntry.objects.filter(action=AuditAction.SEARCH).order_by("id"))
    assert [(e.username, e.object_type, e.channel) for e in entries] == [("dongcheng", "person", "web")] * 2
    assert entries[0].detail["shown"] == [mother.pk] and entries[0].detail["query"]["q"] == "刘"
    # the audit log itself holds no full ID number, not even a long prefix of one
    assert entries[1].detail["shown"] == [mother.pk]
    assert entries[1].detail["query"]["q"] == idnumbers.mask(mother.id_number[:10])


def test_an_empty_search_form_records_nothing(personas, split_household):
    client_for(personas.dongcheng).get(reverse("person_search"))
    assert not AuditEntry.objects.filter(action=AuditAction.SEARCH).exists()


# ---------------------------------------------------------------------------------------------- history


def test_a_history_row_holding_a_full_id_number_is_shown_masked(personas, split_household):
    mother, _, _ = split_household
    old = id_number_for(date(1970, 3, 3), "2")
    # a row not written by history_record (an import, an older version): the page masks it all the same
    PersonHistory.objects.create(person=mother, at=timezone.now(), username="import", action="update",
                                 changes={"id_number": [old, mother.id_number]})
    html = client_for(personas.dongcheng).get(reverse("person_detail", args=[mother.pk])).content.decode()
    assert idnumbers.mask(old) in html and old not in html
    _no_full_id_numbers(html)


# ---------------------------------------------------------------------------------------------- household members


def test_the_household_page_leaves_out_a_member_now_of_another_township(personas, split_household):
    mother, son, hh = split_household
    response = client_for(personas.dongcheng).get(reverse("household_detail", args=[hh.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "刘芳" in html
    assert "刘军" not in html and idnumbers.mask(son.id_number) not in html
    entry = AuditEntry.objects.get(action=AuditAction.VIEW_HOUSEHOLD)
    assert entry.detail.get("shown", [mother.pk]) == [mother.pk]


def test_the_household_api_leaves_out_a_member_now_of_another_township(api, personas, split_household):
    mother, son, hh = split_household
    response = api.as_(personas.dongcheng).get(f"/households/{hh.pk}")
    assert response.status_code == 200
    assert [m["name"] for m in response.json()["members"]] == ["刘芳"]
    assert AuditEntry.objects.get(action=AuditAction.VIEW_HOUSEHOLD, channel="api").detail["shown"] == [mother.pk]


def test_the_person_page_shows_no_household_members_of_another_township(personas, split_household):
    mother, son, hh = split_household
    html = client_for(personas.xicheng).get(reverse("person_detail", args=[son.pk])).content.decode()
    assert "刘军" in html
    # his household and its members are 东城's: no member row, no link that would answer 404
    assert "1970-03-03" not in html
    assert reverse("household_detail", args=[hh.pk]) not in html
    # his mother is named (she is part of his record), but not linked: her page is not 西城's to open
    assert "刘芳" in html and reverse("person_detail", args=[mother.pk]) not in html
    _no_full_id_numbers(html)


def test_the_person_api_shows_no_household_members_or_children_of_another_township(api, personas, split_household):
    mother, son, hh = split_household
    body = api.as_(personas.xicheng).get(f"/persons/{son.pk}").json()
    assert body["household_members"] == []
    assert body["person"]["mother"] == {"id": mother.pk, "name": "刘芳"}
    body = api.as_(personas.dongcheng).get(f"/persons/{mother.pk}").json()
    assert body["household_members"] == [] and body["children"] == []


def test_the_mothers_page_does_not_list_or_link_a_child_of_another_township(personas, split_household):
    mother, son, _ = split_household
    html = client_for(personas.dongcheng).get(reverse("person_detail", args=[mother.pk])).content.decode()
    assert "刘芳" in html
    assert "刘军" not in html and "1995-05-05" not in html
    assert reverse("person_detail", args=[son.pk]) not in html


def test_a_birth_event_names_a_child_of_another_township_without_a_link(personas, county, split_household):
    mother, _, _ = split_household
    event = services.birth_register(by=personas.admin, mother=mother, born_on=date(2005, 6, 6), sex="2", name="刘小雨")
    services.move_out_register(by=personas.admin, person=event.person, moved_on=date(2024, 2, 2),
                               to_unit=county.xc_village2, registration_moved=True)
    html = client_for(personas.dongcheng).get(reverse("person_detail", args=[mother.pk])).content.decode()
    assert "刘小雨" in html  # the birth is an event of the mother's record
    assert reverse("person_detail", args=[event.person_id]) not in html
    assert 'id="children"' not in html  # and she is not listed among the children
    _no_full_id_numbers(html)


def test_search_results_show_a_household_of_another_township_without_a_link(personas, split_household):
    _, son, hh = split_household
    html = client_for(personas.xicheng).get(reverse("person_search"), {"q": "刘"}).content.decode()
    assert "刘军" in html and hh.number in html
    assert reverse("household_detail", args=[hh.pk]) not in html


def test_the_county_administrator_still_sees_the_whole_household(personas, split_household):
    mother, son, hh = split_household
    html = client_for(personas.admin).get(reverse("household_detail", args=[hh.pk])).content.decode()
    assert "刘芳" in html and "刘军" in html and reverse("person_detail", args=[son.pk]) in html
    html = client_for(personas.admin).get(reverse("person_detail", args=[mother.pk])).content.decode()
    assert reverse("person_detail", args=[son.pk]) in html


# ---------------------------------------------------------------------------------------------- marriages


@pytest.fixture
def cross_marriage(county, personas):
    """He lives in 东城, she in 西城."""
    admin = personas.admin
    husband = services.person_create(by=admin, name="周明", sex="1", birth_date=date(1988, 8, 8),
                                     id_number=id_number_for(date(1988, 8, 8), "1"),
                                     registration_unit=county.dc_village1, residence_unit=county.dc_village1)
    wife = services.person_create(by=admin, name="吴丽", sex="2", birth_date=date(1990, 9, 9),
                                  id_number=id_number_for(date(1990, 9, 9), "2"),
                                  registration_unit=county.xc_village1, residence_unit=county.xc_village1)
    marriage = services.marriage_register(by=admin, husband=husband, wife=wife, married_on=date(2015, 5, 5))
    return husband, wife, marriage


def test_ending_a_marriage_returns_to_the_spouse_of_ones_own_area(personas, cross_marriage):
    husband, wife, marriage = cross_marriage
    client = client_for(personas.dongcheng)
    form = client.get(reverse("marriage_end", args=[marriage.pk])).content.decode()
    assert reverse("person_detail", args=[wife.pk]) not in form
    response = client.post(reverse("marriage_end", args=[marriage.pk]), {"ended_on": "2024-01-01",
                                                                         "reason": "divorce"})
    assert response.status_code == 302 and response["Location"] == reverse("person_detail", args=[husband.pk])


def test_a_spouse_of_another_township_is_named_but_not_linked(personas, cross_marriage):
    husband, wife, _ = cross_marriage
    html = client_for(personas.dongcheng).get(reverse("person_detail", args=[husband.pk])).content.decode()
    assert "吴丽" in html and reverse("person_detail", args=[wife.pk]) not in html
    _no_full_id_numbers(html)


# ---------------------------------------------------------------------------------------------- query count


def test_the_person_page_costs_a_constant_number_of_queries(personas, county, django_assert_num_queries):
    admin = personas.admin
    hh = services.household_create(by=admin, unit=county.dc_village1, address="东城路5号")
    mother = services.person_create(by=admin, name="孙梅", sex="2", birth_date=date(1960, 1, 1),
                                    id_number=id_number_for(date(1960, 1, 1), "2"), household=hh,
                                    relation_to_head="02", registration_unit=county.dc_village1,
                                    residence_unit=county.dc_village1)
    client = client_for(personas.dongcheng)
    client.get(reverse("home"))  # caches the installation's facts, read once per process
    url = reverse("person_detail", args=[mother.pk])
    # session, user, user's unit, unit subtree, person (with household, units, parents), household members,
    # marriages (with spouses), events (with units, persons, recorder), children, history, the audit entry
    # (in a savepoint), units named in the history, and the session save (savepoint, update, release)
    with django_assert_num_queries(17):
        assert client.get(url).status_code == 200
    husband = services.person_create(by=admin, name="钱刚", sex="1", birth_date=date(1958, 1, 1),
                                      registration_unit=county.dc_village1, residence_unit=county.dc_village1)
    services.marriage_register(by=admin, husband=husband, wife=mother, married_on=date(1983, 1, 1))
    for i in range(6):
        services.birth_register(by=admin, mother=mother, father=husband, born_on=date(1985 + i, 2, 2),
                                sex="1" if i % 2 else "2", name=f"孙{i}")
    services.person_update(by=admin, person=mother, changes={"education": "20"})
    with django_assert_num_queries(17):
        html = client.get(url).content.decode()
    assert html.count("孙5") >= 2  # a child: in the household, among the children and in the events
