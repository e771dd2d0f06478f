"""The register's forms: a birth, a death, moves and marriages, each refused with a message beside its field."""

import re
from datetime import date

import pytest
from django.urls import reverse

from renkou.accounts.models import AuditEntry
from renkou.registry import idnumbers
from renkou.registry.models import Event, Marriage, Person
from renkou.registry.services import marriage_register
from renkou.testing import client_for, make_household, make_person

pytestmark = pytest.mark.django_db




def field_errors(html: str, field: str) -> list[str]:
    """The messages shown beside one field (inside its own block, tied to it by aria-describedby)."""
    block = re.search(rf'<ul class="field-errors" id="id_{field}_errors">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1)) if block else []


@pytest.fixture
def couple(county, personas):
    hh = make_household(county.dc_village1, "50023000100100011")
    wife = make_person(county.dc_village1, name="陈静", sex="2", birth_date=date(1996, 2, 10), household=hh,
                       relation="10")
    husband = make_person(county.dc_village1, name="刘伟", sex="1", birth_date=date(1994, 9, 1), household=hh,
                          relation="02")
    marriage_register(by=personas.dongcheng, husband=husband, wife=wife, married_on=date(2020, 10, 1))
    wife.refresh_from_db()
    husband.refresh_from_db()
    return wife, husband, hh


def birth_data(**over) -> dict:
    data = {"name": "刘小宝", "sex": "1", "born_on": "2024-06-01", "live_born": "1", "father_choice": "husband",
            "father_id_number": "", "place": "1", "id_number": ""}
    data.update(over)
    return data


def test_birth_form_offers_the_current_husband(personas, couple):
    wife, husband, _ = couple
    html = client_for(personas.dongcheng).get(reverse("birth_register", args=[wife.pk])).content.decode()
    assert "刘伟 (her husband)" in html
    assert '<label for="id_born_on">' in html and 'type="date"' in html


def test_a_birth_is_registered_and_shown_on_the_mothers_page(personas, couple):
    wife, husband, hh = couple
    client = client_for(personas.dongcheng)
    response = client.post(reverse("birth_register", args=[wife.pk]), birth_data())
    assert response.status_code == 302 and response["Location"] == reverse("person_detail", args=[wife.pk])
    child = Person.objects.get(name="刘小宝")
    assert (child.mother_id, child.father_id, child.household_id, child.birth_date) == (
        wife.pk, husband.pk, hh.pk, date(2024, 6, 1))
    page = client.get(response["Location"]).content.decode()
    assert "The birth of 刘小宝 was registered." in page
    assert reverse("person_detail", args=[child.pk]) in page and "2024-06-01" in page
    assert AuditEntry.objects.filter(username="dongcheng", action="create", detail__what="birth_register").exists()


def test_a_birth_before_the_mothers_own_birth_is_refused_beside_the_date(personas, couple):
    wife, _, _ = couple
    response = client_for(personas.dongcheng).post(reverse("birth_register", args=[wife.pk]),
                                                   birth_data(born_on="1990-01-01"))
    assert response.status_code == 200
    html = response.content.decode()
    assert field_errors(html, "born_on") == ["The child is born before its mother."]
    assert 'aria-describedby="id_born_on_errors"' in html and 'aria-invalid="true"' in html
    assert 'value="刘小宝"' in html  # what was typed is kept
    assert not Person.objects.filter(name="刘小宝").exists()


def test_several_violations_land_beside_their_own_fields(personas, couple):
    wife, _, _ = couple
    html = client_for(personas.dongcheng).post(
        reverse("birth_register", args=[wife.pk]), birth_data(name="", born_on="2099-01-01")).content.decode()
    assert "The date is in the future." in field_errors(html, "born_on")
    assert field_errors(html, "name") == ["A live-born child needs a name (a temporary one will do)."]


def test_a_father_outside_the_area_is_not_found_by_id_number(personas, county, couple):
    wife, _, _ = couple
    stranger = make_person(county.xc_village1, name="周八", sex="1", birth_date=date(1990, 1, 1))
    html = client_for(personas.dongcheng).post(
        reverse("birth_register", args=[wife.pk]),
        birth_data(father_choice="id_number", father_id_number=stranger.id_number)).content.decode()
    assert field_errors(html, "father_id_number") == [
        "No person with this ID number is on the register of your area."]


def test_a_wrong_check_character_asks_for_confirmation_then_registers(personas, couple):
    wife, _, _ = couple
    good = idnumbers.make("500230", date(2024, 6, 1), 12)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    client = client_for(personas.dongcheng)
    url = reverse("birth_register", args=[wife.pk])
    html = client.post(url, birth_data(sex="2", name="刘小美", id_number=bad)).content.decode()
    assert field_errors(html, "id_number")  # the warning beside the ID number
    code = re.search(r'name="confirm" value="([^"]+)"', html).group(1)
    assert "I have checked this warning and confirm" in html
    assert not Person.objects.filter(name="刘小美").exists()
    response = client.post(url, birth_data(sex="2", name="刘小美", id_number=bad, confirm=code))
    assert response.status_code == 302
    assert Person.objects.get(name="刘小美").id_number == bad


def test_a_stillbirth_needs_no_name_and_creates_no_person(personas, couple):
    wife, _, _ = couple
    response = client_for(personas.dongcheng).post(reverse("birth_register", args=[wife.pk]),
                                                   birth_data(name="", live_born="0"))
    assert response.status_code == 302
    assert Event.objects.get(mother=wife).person is None


def test_a_death_is_registered(personas, couple):
    _, husband, _ = couple
    client = client_for(personas.dongcheng)
    url = reverse("death_register", args=[husband.pk])
    html = client.post(url, {"died_on": "1990-01-01"}).content.decode()
    assert field_errors(html, "died_on") == ["The date of death is before the birth date."]
    response = client.post(url, {"died_on": "2024-02-03", "note": "病故"})
    assert response.status_code == 302
    husband.refresh_from_db()
    assert husband.death_date == date(2024, 2, 3)
    page = client.get(reverse("person_detail", args=[husband.pk])).content.decode()
    assert "Deceased" in page and "2024-02-03" in page and "病故" in page


def test_a_move_to_another_county_and_back(personas, couple):
    _, husband, _ = couple
    client = client_for(personas.dongcheng)
    url = reverse("move_out_register", args=[husband.pk])
    html = client.post(url, {"destination": "county", "moved_on": "2023-03-01", "to_county": "5001"}).content.decode()
    assert field_errors(html, "to_county") == ["Give the six-digit GB/T 2260 code of the county."]
    response = client.post(url, {"destination": "county", "moved_on": "2023-03-01", "to_county": "440305"})
    assert response.status_code == 302
    husband.refresh_from_db()
    assert (husband.residence_status, husband.other_county_code, husband.residence_unit_id) == ("out", "440305", None)
    page = client.get(reverse("person_detail", args=[husband.pk])).content.decode()
    assert "county 440305" in page and reverse("move_in_return", args=[husband.pk]) in page

    form = client.get(reverse("move_in_return", args=[husband.pk])).content.decode()
    assert 'value="440305"' in form
    response = client.post(reverse("move_in_return", args=[husband.pk]), {
        "moved_on": "2024-01-15", "to_unit": husband.registration_unit_id, "from_county": "440305"})
    assert response.status_code == 302
    husband.refresh_from_db()
    assert (husband.residence_status, husband.residence_unit_id) == ("resident", husband.registration_unit_id)


def test_a_move_within_the_county(personas, county, couple):
    wife, _, _ = couple
    client = client_for(personas.dongcheng)
    form = client.get(reverse("move_out_register", args=[wife.pk])).content.decode()
    assert "西街社区" in form  # any village of the county
    response = client.post(reverse("move_out_register", args=[wife.pk]), {
        "destination": "unit", "moved_on": "2024-04-01", "to_unit": county.dc_village2.pk})
    assert response.status_code == 302
    wife.refresh_from_db()
    assert wife.residence_unit_id == county.dc_village2.pk


def test_a_newcomer_moves_in(personas, county):
    client = client_for(personas.dongcheng)
    html = client.get(reverse("move_in_newcomer")).content.decode()
    assert "第二社区" in html and "西街社区" not in html  # only villages of the officer's area
    number = idnumbers.make("440305", date(1992, 5, 6), 23)
    response = client.post(reverse("move_in_newcomer"), {
        "name": "黄新", "sex": "1", "birth_date": "1992-05-06", "id_number": number, "ethnicity": "01",
        "marital_status": "10", "education": "", "moved_on": "2024-05-01", "to_unit": county.dc_village2.pk,
        "from_county": "440305", "household_number": "", "relation_to_head": ""})
    newcomer = Person.objects.get(name="黄新")
    assert response.status_code == 302 and response["Location"] == reverse("person_detail", args=[newcomer.pk])
    assert (newcomer.residence_status, newcomer.other_county_code, newcomer.id_number) == ("in", "440305", number)


def test_a_newcomer_into_another_township_is_refused(personas, county):
    html = client_for(personas.dongcheng).post(reverse("move_in_newcomer"), {
        "name": "黄新", "sex": "1", "birth_date": "1992-05-06", "ethnicity": "01", "marital_status": "10",
        "moved_on": "2024-05-01", "to_unit": county.xc_village1.pk, "from_county": "440305"}).content.decode()
    assert field_errors(html, "to_unit")
    assert not Person.objects.filter(name="黄新").exists()


def test_a_marriage_is_registered_and_ended(personas, county):
    man = make_person(county.dc_village1, name="吴军", sex="1", birth_date=date(1990, 1, 1))
    woman = make_person(county.dc_village2, name="郑丽", sex="2", birth_date=date(1992, 1, 1))
    client = client_for(personas.dongcheng)
    url = reverse("marriage_register", args=[man.pk])
    html = client.post(url, {"spouse_id_number": woman.id_number, "married_on": "2008-01-01"}).content.decode()
    assert field_errors(html, "spouse_id_number") == ["郑丽 is under the legal age of marriage (20)."]
    response = client.post(url, {"spouse_id_number": woman.id_number, "married_on": "2022-01-01"})
    assert response.status_code == 302
    marriage = Marriage.objects.get(husband=man, wife=woman)
    page = client.get(reverse("person_detail", args=[man.pk])).content.decode()
    assert "郑丽" in page and "2022-01-01" in page

    end_url = reverse("marriage_end", args=[marriage.pk]) + f"?person={man.pk}"
    html = client.post(end_url, {"ended_on": "2021-01-01", "reason": "divorce"}).content.decode()
    assert field_errors(html, "ended_on") == ["The end is before the date of marriage."]
    response = client.post(end_url, {"ended_on": "2024-01-01", "reason": "divorce", "person": man.pk})
    assert response.status_code == 302 and response["Location"] == reverse("person_detail", args=[man.pk])
    marriage.refresh_from_db()
    assert (marriage.ended_on, marriage.end_reason) == (date(2024, 1, 1), "divorce")


def test_forms_refuse_the_wrong_persona(personas, couple):
    wife, husband, _ = couple
    marriage = Marriage.objects.get(wife=wife)
    urls = [reverse("birth_register", args=[wife.pk]), reverse("death_register", args=[wife.pk]),
            reverse("move_out_register", args=[wife.pk]), reverse("move_in_return", args=[wife.pk]),
            reverse("marriage_register", args=[wife.pk]), reverse("marriage_end", args=[marriage.pk]),
            reverse("person_edit", args=[wife.pk])]
    for url in urls:
        assert client_for(personas.xicheng).get(url).status_code == 404, url
        assert client_for(personas.xicheng).post(url, birth_data()).status_code == 404, url
        assert client_for(personas.viewer).get(url).status_code == 403, url
        assert client_for(personas.statistician).post(url, birth_data()).status_code == 403, url
        assert client_for().get(url).status_code == 302, url
    assert client_for(personas.viewer).get(reverse("move_in_newcomer")).status_code == 403
    assert not Person.objects.filter(name="刘小宝").exists()


def test_a_post_without_the_csrf_token_is_refused(personas, couple):
    wife, _, _ = couple
    client = client_for(personas.dongcheng, enforce_csrf_checks=True)
    response = client.post(reverse("birth_register", args=[wife.pk]), birth_data())
    assert response.status_code == 403
    assert not Person.objects.filter(name="刘小宝").exists()
    # The same form with the token from the page goes through.
    page = client.get(reverse("birth_register", args=[wife.pk])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(reverse("birth_register", args=[wife.pk]), birth_data(csrfmiddlewaretoken=token))
    assert response.status_code == 302 and Person.objects.filter(name="刘小宝").exists()
