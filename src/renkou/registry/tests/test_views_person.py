"""The person and household pages: what each persona sees, the ID number reveal, and the audit trail."""

from datetime import date

import pytest
from django.urls import reverse

from renkou.accounts.models import AuditEntry
from renkou.registry import idnumbers
from renkou.registry.models import Person
from renkou.registry.services import birth_register, marriage_register
from renkou.testing import client_for, make_household, make_person

pytestmark = pytest.mark.django_db




@pytest.fixture
def family(county, personas):
    hh = make_household(county.dc_village1, "50023000100100001", address="东城路8号")
    mother = make_person(county.dc_village1, name="李梅", sex="2", birth_date=date(1995, 4, 2), household=hh,
                         relation="10")
    father = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1993, 6, 9), household=hh,
                         relation="02")
    marriage_register(by=personas.dongcheng, husband=father, wife=mother, married_on=date(2019, 5, 1))
    birth_register(by=personas.dongcheng, mother=mother, father=father, born_on=date(2021, 3, 5), sex="2",
                   name="王小花")
    mother.refresh_from_db()
    return mother, father, hh


@pytest.fixture
def xicheng_person(county):
    return make_person(county.xc_village1, name="赵六", sex="1", birth_date=date(1980, 2, 2))


def test_person_page_shows_details_household_marriage_events_and_history(personas, family):
    mother, father, hh = family
    response = client_for(personas.dongcheng).get(reverse("person_detail", args=[mother.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "李梅" in html and "1995-04-02" in html
    assert idnumbers.mask(mother.id_number) in html and mother.id_number not in html
    assert "已婚" in html  # marital status by its code name
    assert "汉族" in html
    assert "第一社区" in html
    assert reverse("household_detail", args=[hh.pk]) in html
    assert reverse("person_detail", args=[father.pk]) in html  # husband and household member
    child = Person.objects.get(name="王小花")
    assert reverse("person_detail", args=[child.pk]) in html  # children and the birth event
    assert "2019-05-01" in html  # the marriage
    assert "Child born" in html and "child no. 1" in html
    assert "Gave birth" in html and "dongcheng" in html  # history: who and what


def test_opening_a_person_writes_a_view_entry_in_the_audit_log(personas, family):
    mother, _, _ = family
    client_for(personas.dongcheng).get(reverse("person_detail", args=[mother.pk]))
    entry = AuditEntry.objects.filter(action="view_person").get()
    assert (entry.username, entry.object_type, entry.object_id, entry.channel) == (
        "dongcheng", "person", str(mother.pk), "web")


def test_another_townships_officer_gets_404_for_the_person_and_household(personas, family):
    mother, _, hh = family
    client = client_for(personas.xicheng)
    response = client.get(reverse("person_detail", args=[mother.pk]))
    assert response.status_code == 404
    assert "李梅" not in response.content.decode()
    assert client.get(reverse("household_detail", args=[hh.pk])).status_code == 404
    assert client.post(reverse("person_reveal", args=[mother.pk]), {"purpose": "核对"}).status_code == 404
    assert not AuditEntry.objects.filter(action__in=["view_person", "reveal_id"]).exists()


def test_missing_person_is_404_like_one_outside_the_area(personas):
    assert client_for(personas.dongcheng).get(reverse("person_detail", args=[999999])).status_code == 404


def test_aggregate_viewer_is_refused_person_pages(personas, family):
    mother, _, hh = family
    client = client_for(personas.viewer)
    for url in (reverse("person_detail", args=[mother.pk]), reverse("household_detail", args=[hh.pk]),
                reverse("person_reveal", args=[mother.pk]), reverse("person_search") + "?q=李"):
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_login(family):
    mother, _, _ = family
    response = client_for().get(reverse("person_detail", args=[mother.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_village_reporter_sees_people_of_their_village_only(personas, county, family):
    mother, _, _ = family
    other = make_person(county.dc_village2, name="钱七", sex="1", birth_date=date(1970, 1, 1))
    client = client_for(personas.reporter)
    assert client.get(reverse("person_detail", args=[mother.pk])).status_code == 200
    assert client.get(reverse("person_detail", args=[other.pk])).status_code == 404


def test_county_administrator_sees_every_township(personas, family, xicheng_person):
    client = client_for(personas.admin)
    assert client.get(reverse("person_detail", args=[family[0].pk])).status_code == 200
    assert client.get(reverse("person_detail", args=[xicheng_person.pk])).status_code == 200


def test_reveal_asks_for_a_purpose_and_writes_it_to_the_audit_log(personas, family):
    mother, _, _ = family
    client = client_for(personas.dongcheng)
    url = reverse("person_reveal", args=[mother.pk])
    refused = client.post(url, {"purpose": ""})
    assert refused.status_code == 200
    assert mother.id_number not in refused.content.decode()
    assert "This field is required" in refused.content.decode()
    too_short = client.post(url, {"purpose": "x"})
    assert "State why the full ID number is needed." in too_short.content.decode()
    assert not AuditEntry.objects.filter(action="reveal_id").exists()

    shown = client.post(url, {"purpose": "核对出生登记"})
    assert shown.status_code == 200 and mother.id_number in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action="reveal_id")
    assert (entry.username, entry.object_id, entry.purpose) == ("dongcheng", str(mother.pk), "核对出生登记")


def test_reveal_through_htmx_answers_only_the_number_fragment(personas, family):
    mother, _, _ = family
    response = client_for(personas.dongcheng).post(reverse("person_reveal", args=[mother.pk]),
                                                   {"purpose": "核对身份"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert mother.id_number in html and 'id="id-number-box"' in html
    assert "<html" not in html


def test_reveal_refuses_get_of_the_number(personas, family):
    mother, _, _ = family
    response = client_for(personas.dongcheng).get(reverse("person_reveal", args=[mother.pk]))
    assert response.status_code == 200
    assert mother.id_number not in response.content.decode()
    assert 'name="purpose"' in response.content.decode()


def test_household_page_lists_members_with_masked_numbers_and_is_audited(personas, family):
    mother, father, hh = family
    response = client_for(personas.dongcheng).get(reverse("household_detail", args=[hh.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "东城路8号" in html and "李梅" in html and "王强" in html and "王小花" in html
    assert idnumbers.mask(father.id_number) in html and father.id_number not in html
    assert AuditEntry.objects.filter(action="view_household", object_id=str(hh.pk), username="dongcheng").exists()


def test_person_edit_corrects_the_record_and_keeps_history(personas, family):
    mother, _, _ = family
    client = client_for(personas.dongcheng)
    url = reverse("person_edit", args=[mother.pk])
    form = client.get(url)
    assert form.status_code == 200 and 'value="李梅"' in form.content.decode()
    data = {"version": mother.version, "name": "李美", "sex": "2", "birth_date": "1995-04-02", "id_number": "",
            "ethnicity": "01", "education": "20", "marital_status": mother.marital_status,
            "registration_type": "", "relation_to_head": "10"}
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == reverse("person_detail", args=[mother.pk])
    mother.refresh_from_db()
    assert (mother.name, mother.education) == ("李美", "20")
    page = client.get(reverse("person_detail", args=[mother.pk])).content.decode()
    assert "Corrected" in page and "李梅" in page and "大学本科" in page


def test_person_edit_with_a_stale_version_is_refused(personas, family):
    mother, _, _ = family
    data = {"version": mother.version - 1, "name": "李美", "sex": "2", "birth_date": "1995-04-02",
            "ethnicity": "01", "education": "", "marital_status": mother.marital_status, "relation_to_head": "10"}
    response = client_for(personas.dongcheng).post(reverse("person_edit", args=[mother.pk]), data)
    assert response.status_code == 200
    assert "Someone else changed this person meanwhile" in response.content.decode()
    mother.refresh_from_db()
    assert mother.name == "李梅"


def test_statistician_sees_the_person_but_no_register_buttons_and_no_forms(personas, family):
    mother, _, _ = family
    client = client_for(personas.statistician)
    page = client.get(reverse("person_detail", args=[mother.pk])).content.decode()
    assert "李梅" in page and reverse("birth_register", args=[mother.pk]) not in page
    assert client.get(reverse("birth_register", args=[mother.pk])).status_code == 403
    assert client.get(reverse("person_edit", args=[mother.pk])).status_code == 403
