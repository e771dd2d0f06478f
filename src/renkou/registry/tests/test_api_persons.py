"""/api/v1/persons: search, read, create, correct, reveal the ID number."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from renkou.accounts.models import AuditAction, AuditEntry
from renkou.registry import idnumbers
from renkou.registry.models import Person
from renkou.registry.tests.test_api_base import Api, Register, assert_error, make_register
from renkou.testing import id_number_for, make_household, make_person


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.fixture
def register(county, personas) -> Register:
    return make_register(county, personas)


def _wrong_check_character(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:17] + last


def _no_full_id_numbers(response) -> None:
    text = response.content.decode()
    for number in Person.objects.exclude(id_number=None).values_list("id_number", flat=True):
        assert number not in text


# --------------------------------------------------------------------------------------------------------------
# GET /persons


def test_search_as_county_admin_lists_everyone_masked(api, personas, register):
    response = api.as_(personas.admin).get("/persons")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5 and body["count_capped"] is False
    assert (body["page"], body["page_size"], body["num_pages"], body["has_next"]) == (1, 50, 1, False)
    item = next(i for i in body["items"] if i["id"] == register.zhang_wei.pk)
    assert item["name"] == "张伟"
    assert item["sex"] == {"code": "1", "name": "男"}
    assert item["birth_date"] == "1980-05-01"
    assert item["id_number_masked"] == idnumbers.mask(register.zhang_wei.id_number)
    assert item["id_number_masked"].startswith("5002") and "**********" in item["id_number_masked"]
    assert item["residence_unit"]["code"] == "500230001001" and item["residence_unit"]["name"] == "第一社区"
    assert item["household"] == {"id": register.household.pk, "number": register.household.number}
    assert item["residence_status"] == {"code": "resident", "name": "常住"}
    assert item["alive"] is True and item["death_date"] is None
    assert "id_number" not in item
    _no_full_id_numbers(response)


def test_search_by_name_prefix_is_ordered_by_name(api, personas, register):
    body = api.as_(personas.admin).get("/persons", q="张").json()
    assert [i["name"] for i in body["items"]] == ["张伟", "张小明"]


def test_search_by_full_id_number_finds_the_person_and_stays_masked(api, personas, register):
    number = register.li_na.id_number
    response = api.as_(personas.dongcheng).get("/persons", q=number.lower())
    body = response.json()
    assert [i["id"] for i in body["items"]] == [register.li_na.pk]
    _no_full_id_numbers(response)


def test_search_is_recorded_with_the_persons_shown_and_a_masked_query(api, personas, register):
    number = register.li_na.id_number
    api.as_(personas.dongcheng).get("/persons", q=number)
    entry = AuditEntry.objects.filter(action=AuditAction.SEARCH, username="dongcheng").get()
    assert entry.channel == "api" and entry.object_type == "person"
    assert entry.detail["shown"] == [register.li_na.pk]
    assert entry.detail["query"]["q"] == idnumbers.mask(number)
    assert number not in json.dumps(entry.detail)


def test_township_officer_sees_only_their_township(api, personas, register):
    body = api.as_(personas.dongcheng).get("/persons").json()
    names = {i["name"] for i in body["items"]}
    assert names == {"张伟", "李娜", "张小明", "王芳"}
    body = api.as_(personas.xicheng).get("/persons").json()
    assert [i["name"] for i in body["items"]] == ["赵强"]
    # nor can they find a 东城 person by name or ID number
    assert api.as_(personas.xicheng).get("/persons", q="张").json()["count"] == 0
    assert api.as_(personas.xicheng).get("/persons", q=register.li_na.id_number).json()["items"] == []


def test_village_reporter_sees_only_their_village(api, personas, register):
    body = api.as_(personas.reporter).get("/persons").json()
    assert {i["name"] for i in body["items"]} == {"张伟", "李娜", "张小明"}


def test_search_by_unit_code_or_id(api, personas, county, register):
    by_code = api.as_(personas.admin).get("/persons", unit=county.dc_village2.code).json()
    assert [i["name"] for i in by_code["items"]] == ["王芳"]
    by_id = api.as_(personas.admin).get("/persons", unit=str(county.xicheng.pk)).json()
    assert [i["name"] for i in by_id["items"]] == ["赵强"]


def test_search_in_a_unit_outside_the_area_is_404(api, personas, county, register):
    assert_error(api.as_(personas.xicheng).get("/persons", unit=county.dongcheng.code), 404, "", "not_found")
    assert_error(api.as_(personas.admin).get("/persons", unit="999999999999"), 404, "", "not_found")


def test_search_by_household_number_and_dead_persons(api, personas, register):
    caller = api.as_(personas.admin)
    body = caller.get("/persons", household=register.household.number).json()
    assert {i["name"] for i in body["items"]} == {"张伟", "李娜", "张小明"}
    Person.objects.filter(pk=register.zhang_wei.pk).update(death_date=date(2024, 1, 1))
    assert caller.get("/persons", household=register.household.number).json()["count"] == 2
    body = caller.get("/persons", household=register.household.number, include_dead="true").json()
    dead = next(i for i in body["items"] if i["id"] == register.zhang_wei.pk)
    assert dead["alive"] is False and dead["death_date"] == "2024-01-01"


def test_search_pages(api, personas, county, register):
    for n in range(7):
        make_person(county.lh_village1, name=f"龙{n}")
    body = api.as_(personas.admin).get("/persons", unit=county.longhe.code, page_size=5, page=2).json()
    assert body["count"] == 7 and body["num_pages"] == 2 and body["has_next"] is False
    assert [i["name"] for i in body["items"]] == ["龙5", "龙6"]


def test_search_page_size_over_200_is_refused_naming_the_field(api, personas, register):
    assert_error(api.as_(personas.admin).get("/persons", page_size=201), 422, "page_size")
    assert_error(api.as_(personas.admin).get("/persons", unit="abc"), 422, "unit")


def test_search_is_refused_to_an_aggregate_viewer_and_to_nobody(api, personas, register):
    assert_error(api.as_(personas.viewer).get("/persons"), 403, "", "forbidden")
    assert_error(api.as_(None).get("/persons"), 401, "", "unauthenticated")
    assert not AuditEntry.objects.filter(action=AuditAction.SEARCH).exists()


def test_search_costs_the_same_queries_for_5_or_50_persons(api, personas, county, django_assert_max_num_queries):
    for n in range(60):
        household = make_household(county.dc_village1, f"5002300010010{n:04d}") if n % 3 == 0 else None
        make_person(county.dc_village1 if n % 2 else county.dc_village2, name=f"测{n:02d}", household=household)
    caller = api.as_(personas.dongcheng)
    caller.get("/persons")  # warm the token's last-use stamp and the code lists
    with CaptureQueriesContext(connection) as small:
        assert len(caller.get("/persons", page_size=5).json()["items"]) == 5
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as large:
        assert len(caller.get("/persons", page_size=50).json()["items"]) == 50
    assert len(large.captured_queries) == len(small.captured_queries)


# --------------------------------------------------------------------------------------------------------------
# GET /persons/{id}


def test_get_person_answers_the_record_masked_and_records_the_view(api, personas, register):
    response = api.as_(personas.dongcheng).get(f"/persons/{register.li_na.pk}")
    assert response.status_code == 200
    body = response.json()
    person = body["person"]
    assert person["name"] == "李娜" and person["sex"] == {"code": "2", "name": "女"}
    assert person["id_number_masked"] == idnumbers.mask(register.li_na.id_number)
    assert person["marital_status"] == {"code": "20", "name": "已婚"}
    assert person["ethnicity"] == {"code": "01", "name": "汉族"}
    assert person["relation_to_head"] == {"code": "10", "name": "配偶"}
    assert person["education"] is None
    assert person["version"] >= 1
    assert {m["name"] for m in body["household_members"]} == {"张伟", "张小明"}
    assert [c["name"] for c in body["children"]] == ["张小明"]
    assert body["children"][0]["id_number_masked"] == idnumbers.mask(register.child.id_number)
    assert [(m["husband"]["name"], m["wife"]["name"], m["married_on"], m["current"]) for m in body["marriages"]] == [
        ("张伟", "李娜", "2008-10-01", True)]
    assert [(e["kind"]["code"], e["date"], e["person"]["name"]) for e in body["events"]] == [
        ("birth", "2010-06-15", "张小明")]
    _no_full_id_numbers(response)
    entry = AuditEntry.objects.get(action=AuditAction.VIEW_PERSON)
    assert (entry.username, entry.object_id, entry.channel) == ("dongcheng", str(register.li_na.pk), "api")
    assert entry.unit_id == register.li_na.residence_unit_id


def test_get_person_outside_the_area_is_404_like_a_missing_one(api, personas, register):
    outside = api.as_(personas.xicheng).get(f"/persons/{register.li_na.pk}")
    missing = api.as_(personas.xicheng).get("/persons/987654321")
    assert_error(outside, 404, "", "not_found")
    assert outside.json() == missing.json()
    assert not AuditEntry.objects.filter(action=AuditAction.VIEW_PERSON).exists()


def test_get_person_is_refused_to_an_aggregate_viewer_and_to_nobody(api, personas, register):
    assert_error(api.as_(personas.viewer).get(f"/persons/{register.li_na.pk}"), 403, "", "forbidden")
    assert_error(api.as_(None).get(f"/persons/{register.li_na.pk}"), 401, "", "unauthenticated")


def test_get_person_with_an_impossible_id_is_422(api, personas):
    assert_error(api.as_(personas.admin).get(f"/persons/{2**70}"), 422, "person_id")
    assert_error(api.as_(personas.admin).get("/persons/0"), 422, "person_id")


# --------------------------------------------------------------------------------------------------------------
# POST /persons


def _new_person(county, **overrides) -> dict:
    born = date(1990, 2, 3)
    body = {"name": "陈静", "sex": "2", "birth_date": born.isoformat(), "id_number": id_number_for(born, "2"),
            "residence_unit": county.dc_village1.code, "registration_unit": county.dc_village1.code}
    body.update(overrides)
    return body


def test_create_person(api, personas, county, register):
    body = _new_person(county, household=register.household.pk, relation_to_head="80", education="20")
    response = api.as_(personas.dongcheng).post("/persons", body)
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["name"] == "陈静" and out["birth_date"] == "1990-02-03"
    assert out["id_number_masked"] == idnumbers.mask(body["id_number"])
    assert body["id_number"] not in response.content.decode()
    assert out["household"]["id"] == register.household.pk
    assert out["registration_type"] == {"code": "rural", "name": "农业户口"}  # the household's
    assert out["version"] == 1 and out["id_number_warnings"] == []
    person = Person.objects.get(pk=out["id"])
    assert person.id_number == body["id_number"] and person.residence_unit == county.dc_village1
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, object_type="person", object_id=str(person.pk))
    assert entry.channel == "api" and entry.username == "dongcheng"


def test_create_person_with_a_wrong_id_number_length_names_the_field(api, personas, county):
    response = api.as_(personas.dongcheng).post("/persons", _new_person(county, id_number="50023019900203"))
    assert_error(response, 422, "id_number", "id_number.length")
    assert not Person.objects.filter(name="陈静").exists()


def test_create_person_with_a_wrong_check_character_asks_for_confirmation(api, personas, county):
    number = _wrong_check_character(id_number_for(date(1990, 2, 3), "2"))
    caller = api.as_(personas.dongcheng)
    first = caller.post("/persons", _new_person(county, id_number=number))
    assert_error(first, 422, "id_number", "id_number.checksum")
    assert not Person.objects.filter(name="陈静").exists()
    second = caller.post("/persons", _new_person(county, id_number=number, confirm=["id_number.checksum"]))
    assert second.status_code == 201, second.content
    assert second.json()["id_number_warnings"] == ["id_number.checksum"]
    assert Person.objects.get(pk=second.json()["id"]).id_number == number


def test_create_person_reports_every_bad_field(api, personas, county):
    response = api.as_(personas.dongcheng).post("/persons", _new_person(county, name=" ", sex="7", ethnicity="99"))
    body = assert_error(response, 422, "name")
    assert {e["field"] for e in body["errors"]} >= {"name", "sex", "ethnicity"}


def test_create_person_with_a_missing_field_is_422_naming_it(api, personas, county):
    body = _new_person(county)
    del body["birth_date"]
    assert_error(api.as_(personas.dongcheng).post("/persons", body), 422, "birth_date", "missing")


def test_create_person_in_another_township_is_refused(api, personas, county):
    body = _new_person(county, residence_unit=county.xc_village1.code, registration_unit=county.xc_village1.code)
    assert_error(api.as_(personas.dongcheng).post("/persons", body), 422, "residence_unit", "scope")
    body = _new_person(county, residence_unit="500230009009", registration_unit=None)
    assert_error(api.as_(personas.dongcheng).post("/persons", body), 422, "residence_unit", "not_found")


def test_create_person_with_a_mother_outside_the_area_names_the_field(api, personas, county, register):
    body = _new_person(county, mother=register.zhao_qiang.pk)
    assert_error(api.as_(personas.dongcheng).post("/persons", body), 422, "mother", "not_found")


def test_create_person_is_refused_to_roles_that_do_not_write(api, personas, county):
    assert_error(api.as_(personas.statistician).post("/persons", _new_person(county)), 403, "", "forbidden")
    assert_error(api.as_(personas.viewer).post("/persons", _new_person(county)), 403, "", "forbidden")
    assert_error(api.as_(None).post("/persons", _new_person(county)), 401, "", "unauthenticated")
    assert not Person.objects.filter(name="陈静").exists()


# --------------------------------------------------------------------------------------------------------------
# PATCH /persons/{id}


def test_update_person_changes_the_fields_sent(api, personas, county, register):
    person = register.wang_fang
    response = api.as_(personas.dongcheng).patch(
        f"/persons/{person.pk}", {"version": person.version, "name": "王芳芳", "education": "20",
                                   "residence_unit": county.dc_village1.code})
    assert response.status_code == 200, response.content
    out = response.json()
    assert out["name"] == "王芳芳" and out["version"] == person.version + 1
    assert out["education"] == {"code": "20", "name": "大学本科"} and out["residence_unit"]["code"] == county.dc_village1.code
    person.refresh_from_db()
    assert person.name == "王芳芳" and person.birth_date == date(1995, 8, 20)
    assert AuditEntry.objects.filter(action=AuditAction.UPDATE, object_id=str(person.pk), channel="api").exists()


def test_update_person_with_a_stale_version_is_a_conflict(api, personas, register):
    person = register.wang_fang
    caller = api.as_(personas.dongcheng)
    assert caller.patch(f"/persons/{person.pk}", {"version": person.version, "name": "王一"}).status_code == 200
    stale = caller.patch(f"/persons/{person.pk}", {"version": person.version, "name": "王二"})
    assert_error(stale, 422, "version", "conflict")
    person.refresh_from_db()
    assert person.name == "王一"


def test_update_person_needs_the_version(api, personas, register):
    response = api.as_(personas.dongcheng).patch(f"/persons/{register.wang_fang.pk}", {"name": "王二"})
    assert_error(response, 422, "version", "missing")


def test_update_person_sex_contradicting_the_id_number_names_the_field(api, personas, register):
    person = register.wang_fang
    response = api.as_(personas.dongcheng).patch(f"/persons/{person.pk}", {"version": person.version, "sex": "1"})
    assert_error(response, 422, "id_number", "id_number.sex_mismatch")


def test_update_person_id_number_with_a_wrong_check_character_and_confirm(api, personas, register):
    person = register.wang_fang
    number = _wrong_check_character(person.id_number)
    caller = api.as_(personas.dongcheng)
    first = caller.patch(f"/persons/{person.pk}", {"version": person.version, "id_number": number})
    assert_error(first, 422, "id_number", "id_number.checksum")
    second = caller.patch(f"/persons/{person.pk}", {"version": person.version, "id_number": number,
                                                     "confirm": ["id_number.checksum"]})
    assert second.status_code == 200, second.content
    assert second.json()["id_number_warnings"] == ["id_number.checksum"]
    person.refresh_from_db()
    assert person.id_number == number


def test_update_person_refuses_null_for_a_required_field(api, personas, register):
    person = register.wang_fang
    response = api.as_(personas.dongcheng).patch(f"/persons/{person.pk}", {"version": person.version, "name": None})
    assert_error(response, 422, "name")


def test_update_person_outside_the_area_is_404(api, personas, register):
    person = register.wang_fang
    response = api.as_(personas.xicheng).patch(f"/persons/{person.pk}", {"version": person.version, "name": "X"})
    assert_error(response, 404, "", "not_found")
    assert_error(api.as_(personas.viewer).patch(f"/persons/{person.pk}", {"version": 1, "name": "X"}), 403, "")
    assert_error(api.as_(personas.statistician).patch(f"/persons/{person.pk}", {"version": 1, "name": "X"}), 403, "")
    assert_error(api.as_(None).patch(f"/persons/{person.pk}", {"version": 1, "name": "X"}), 401, "")
    person.refresh_from_db()
    assert person.name == "王芳"


# --------------------------------------------------------------------------------------------------------------
# POST /persons/{id}/reveal-id-number


def test_reveal_answers_the_full_number_and_records_the_purpose(api, personas, register):
    person = register.li_na
    response = api.as_(personas.dongcheng).post(f"/persons/{person.pk}/reveal-id-number",
                                                {"purpose": "办理奖励扶助核对身份"})
    assert response.status_code == 200, response.content
    assert response.json() == {"id_number": person.id_number}
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL_ID)
    assert (entry.username, entry.object_id, entry.purpose, entry.channel) == (
        "dongcheng", str(person.pk), "办理奖励扶助核对身份", "api")


@pytest.mark.parametrize("body", [{}, {"purpose": ""}, {"purpose": " x "}])
def test_reveal_needs_a_purpose(api, personas, register, body):
    response = api.as_(personas.dongcheng).post(f"/persons/{register.li_na.pk}/reveal-id-number", body)
    assert_error(response, 422, "purpose")
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL_ID).exists()


def test_reveal_outside_the_area_is_404_and_refused_to_viewers(api, personas, register):
    path = f"/persons/{register.li_na.pk}/reveal-id-number"
    assert_error(api.as_(personas.xicheng).post(path, {"purpose": "核对"}), 404, "", "not_found")
    assert_error(api.as_(personas.viewer).post(path, {"purpose": "核对"}), 403, "", "forbidden")
    assert_error(api.as_(None).post(path, {"purpose": "核对"}), 401, "", "unauthenticated")
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL_ID).exists()


def test_reveal_of_a_person_without_a_number_answers_null(api, personas, county):
    person = make_person(county.dc_village1, id_number=None)
    response = api.as_(personas.dongcheng).post(f"/persons/{person.pk}/reveal-id-number", {"purpose": "核对"})
    assert response.json() == {"id_number": None}
