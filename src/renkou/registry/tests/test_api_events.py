"""/api/v1/events and /api/v1/marriages: list and read events; register births, deaths, moves, marriages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from renkou.accounts.models import AuditAction, AuditEntry
from renkou.registry import idnumbers, services
from renkou.registry.models import Event, EventKind, Marriage, Person
from renkou.registry.tests.test_api_base import Api, Register, assert_error, make_register
from renkou.testing import id_number_for, make_person


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.fixture
def register(county, personas) -> Register:
    return make_register(county, personas)

# --------------------------------------------------------------------------------------------------------------
# GET /events


def test_list_events_of_the_area(api, personas, county, register):
    services.death_register(by=personas.admin, person=register.zhao_qiang, died_on=date(2024, 3, 1))
    response = api.as_(personas.dongcheng).get("/events")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    event = body["items"][0]
    assert event["kind"]["code"] == "birth" and event["date"] == "2010-06-15"
    assert event["person"] == {"id": register.child.pk, "name": "张小明"}
    assert event["mother"] == {"id": register.li_na.pk, "name": "李娜"}
    assert event["father"] == {"id": register.zhang_wei.pk, "name": "张伟"}
    assert event["sex"] == {"code": "1", "name": "男"}
    assert event["live_born"] is True and event["birth_order"] == 1
    assert event["unit"]["code"] == county.dc_village1.code
    assert event["source"] == "web"
    entry = AuditEntry.objects.get(action=AuditAction.SEARCH, object_type="event")
    assert sorted(entry.detail["shown"]) == sorted([register.child.pk, register.li_na.pk, register.zhang_wei.pk])
    # 西城 sees its death and not 东城's birth
    xc = api.as_(personas.xicheng).get("/events").json()
    assert [(e["kind"]["code"], e["person"]["name"]) for e in xc["items"]] == [("death", "赵强")]


def test_list_events_by_kind_unit_and_dates(api, personas, county, register):
    services.death_register(by=personas.admin, person=register.zhao_qiang, died_on=date(2024, 3, 1))
    caller = api.as_(personas.admin)
    assert [e["kind"]["code"] for e in caller.get("/events").json()["items"]] == ["death", "birth"]
    assert caller.get("/events", kind="death").json()["count"] == 1
    assert caller.get("/events", kind="birth", unit=county.xicheng.code).json()["count"] == 0
    assert caller.get("/events", date_from="2011-01-01").json()["count"] == 1
    assert caller.get("/events", date_to="2011-01-01", date_from="2010-06-15").json()["count"] == 1
    assert_error(caller.get("/events", kind="wedding"), 422, "kind")
    assert_error(caller.get("/events", date_from="2024-02-30"), 422, "date_from")
    assert_error(api.as_(personas.xicheng).get("/events", unit=county.dongcheng.code), 404, "", "not_found")


def test_list_events_is_refused_to_viewers_and_nobody(api, personas, register):
    assert_error(api.as_(personas.viewer).get("/events"), 403, "", "forbidden")
    assert_error(api.as_(None).get("/events"), 401, "", "unauthenticated")


def test_list_events_costs_the_same_queries_for_5_or_50(api, personas, county, django_assert_max_num_queries):
    father = make_person(county.dc_village1, name="父", sex="1", birth_date=date(1960, 1, 1))
    for n in range(30):
        mother = make_person(county.dc_village1, name=f"母{n}", sex="2", birth_date=date(1970, 1, 1))
        services.birth_register(by=personas.admin, mother=mother, father=father, born_on=date(1995, 1, 1 + n % 28),
                                sex="2", name=f"女{n}", id_number=None)
        person = make_person(county.dc_village2, name=f"迁{n}")
        services.move_out_register(by=personas.admin, person=person, moved_on=date(2020, 1, 1),
                                   to_unit=county.dc_village1)
    caller = api.as_(personas.dongcheng)
    caller.get("/events")
    with CaptureQueriesContext(connection) as small:
        assert len(caller.get("/events", page_size=5).json()["items"]) == 5
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as large:
        items = caller.get("/events", page_size=50).json()["items"]
    assert len(items) == 50 and any(i["father"] for i in items) and any(i["to_unit"] for i in items)
    assert len(large.captured_queries) == len(small.captured_queries)


# --------------------------------------------------------------------------------------------------------------
# GET /events/{id}


def test_get_event(api, personas, register):
    response = api.as_(personas.dongcheng).get(f"/events/{register.birth.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == register.birth.pk and body["kind"]["code"] == "birth"
    assert body["person"]["name"] == "张小明" and body["mother"]["name"] == "李娜"
    assert AuditEntry.objects.filter(action=AuditAction.SEARCH, object_type="event",
                                     object_id=str(register.birth.pk)).exists()


def test_get_event_outside_the_area_is_404(api, personas, register):
    assert_error(api.as_(personas.xicheng).get(f"/events/{register.birth.pk}"), 404, "", "not_found")
    assert_error(api.as_(personas.xicheng).get("/events/123456"), 404, "", "not_found")
    assert_error(api.as_(personas.viewer).get(f"/events/{register.birth.pk}"), 403, "", "forbidden")
    assert_error(api.as_(None).get(f"/events/{register.birth.pk}"), 401, "", "unauthenticated")


# --------------------------------------------------------------------------------------------------------------
# POST /events/births


def test_register_birth_creates_the_child(api, personas, county, register):
    born = date(2025, 2, 1)
    number = id_number_for(born, "2")
    response = api.as_(personas.dongcheng).post("/events/births", {
        "mother": register.li_na.pk, "father": register.zhang_wei.pk, "born_on": born.isoformat(), "sex": "2",
        "name": "张小红", "id_number": number, "place": "1"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == {"code": "birth", "name": str(EventKind.BIRTH.label)}
    assert body["birth_order"] == 2 and body["place"] == {"code": "1", "name": "医院"}
    assert body["unit"]["code"] == county.dc_village1.code
    assert body["source"] == "api"
    child = Person.objects.get(pk=body["person"]["id"])
    assert (child.name, child.mother_id, child.id_number, child.household_id) == (
        "张小红", register.li_na.pk, number, register.household.pk)
    assert number not in response.content.decode()


def test_register_birth_with_a_wrong_check_character_needs_confirmation(api, personas, register):
    born = date(2025, 2, 1)
    number = id_number_for(born, "2")
    number = number[:17] + ("0" if number[-1] != "0" else "1")
    body = {"mother": register.li_na.pk, "born_on": born.isoformat(), "sex": "2", "name": "张小红",
            "id_number": number}
    caller = api.as_(personas.dongcheng)
    assert_error(caller.post("/events/births", body), 422, "id_number", "id_number.checksum")
    assert caller.post("/events/births", {**body, "confirm": ["id_number.checksum"]}).status_code == 201


def test_register_birth_errors_name_the_field(api, personas, register):
    caller = api.as_(personas.dongcheng)
    base = {"mother": register.li_na.pk, "born_on": "2025-02-01", "sex": "2", "name": "张小红"}
    assert_error(caller.post("/events/births", {**base, "mother": register.zhang_wei.pk}), 422, "mother")
    assert_error(caller.post("/events/births", {**base, "name": ""}), 422, "name")
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert_error(caller.post("/events/births", {**base, "born_on": future}), 422, "born_on", "future")
    assert_error(caller.post("/events/births", {**base, "mother": register.zhao_qiang.pk}), 422, "mother", "not_found")
    assert_error(caller.post("/events/births", {**base, "mother": 10**20}), 422, "mother")
    assert not Event.objects.filter(kind=EventKind.BIRTH, date=date(2025, 2, 1)).exists()


def test_register_birth_is_refused_to_roles_that_do_not_write(api, personas, register):
    body = {"mother": register.li_na.pk, "born_on": "2025-02-01", "sex": "2", "name": "张小红"}
    assert_error(api.as_(personas.viewer).post("/events/births", body), 403, "", "forbidden")
    assert_error(api.as_(personas.statistician).post("/events/births", body), 403, "", "forbidden")
    assert_error(api.as_(None).post("/events/births", body), 401, "", "unauthenticated")


# --------------------------------------------------------------------------------------------------------------
# POST /events/deaths


def test_register_death(api, personas, register):
    response = api.as_(personas.dongcheng).post("/events/deaths", {
        "person": register.zhang_wei.pk, "died_on": "2025-05-05", "note": "病故"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"]["code"] == "death" and body["person"]["id"] == register.zhang_wei.pk
    assert body["note"] == "病故"
    register.zhang_wei.refresh_from_db()
    register.li_na.refresh_from_db()
    assert register.zhang_wei.death_date == date(2025, 5, 5)
    assert register.li_na.marital_status == "30"  # widowed
    again = api.as_(personas.dongcheng).post("/events/deaths", {"person": register.zhang_wei.pk,
                                                                 "died_on": "2025-05-06"})
    assert_error(again, 422, "person")


def test_register_death_outside_the_area_or_by_a_viewer_is_refused(api, personas, register):
    body = {"person": register.zhang_wei.pk, "died_on": "2025-05-05"}
    assert_error(api.as_(personas.xicheng).post("/events/deaths", body), 422, "person", "not_found")
    assert_error(api.as_(personas.viewer).post("/events/deaths", body), 403, "", "forbidden")
    assert_error(api.as_(None).post("/events/deaths", body), 401, "", "unauthenticated")
    register.zhang_wei.refresh_from_db()
    assert register.zhang_wei.death_date is None


# --------------------------------------------------------------------------------------------------------------
# POST /events/moves-out and /events/moves-in


def test_register_move_out_to_another_village_and_to_another_county(api, personas, county, register):
    caller = api.as_(personas.admin)
    within = caller.post("/events/moves-out", {"person": register.wang_fang.pk, "moved_on": "2025-03-01",
                                                "to_unit": county.xc_village2.code})
    assert within.status_code == 201, within.content
    assert within.json()["to_unit"]["code"] == county.xc_village2.code
    assert within.json()["from_unit"]["code"] == county.dc_village2.code
    away = caller.post("/events/moves-out", {"person": register.zhao_qiang.pk, "moved_on": "2025-04-01",
                                              "to_county": "110105"})
    assert away.status_code == 201, away.content
    assert away.json()["to_county"] == "110105"
    register.zhao_qiang.refresh_from_db()
    assert (register.zhao_qiang.residence_status, register.zhao_qiang.other_county_code) == ("out", "110105")


def test_register_move_out_errors_name_the_field(api, personas, county, register):
    caller = api.as_(personas.dongcheng)
    body = {"person": register.wang_fang.pk, "moved_on": "2025-03-01"}
    assert_error(caller.post("/events/moves-out", body), 422, "to_unit")
    assert_error(caller.post("/events/moves-out", {**body, "to_county": "11"}), 422, "to_county")
    assert_error(caller.post("/events/moves-out", {**body, "to_unit": county.dc_village2.code}), 422, "to_unit")
    assert_error(api.as_(personas.viewer).post("/events/moves-out", {**body, "to_county": "110105"}), 403, "")
    assert_error(api.as_(None).post("/events/moves-out", {**body, "to_county": "110105"}), 401, "")


def test_register_move_in_of_a_newcomer(api, personas, county, register):
    born = date(1992, 7, 7)
    number = idnumbers.make("110105", born, 23)
    response = api.as_(personas.dongcheng).post("/events/moves-in", {
        "moved_on": "2025-06-01", "to_unit": county.dc_village2.code, "from_county": "110105",
        "new_person": {"name": "刘洋", "sex": "1", "birth_date": born.isoformat(), "id_number": number}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"]["code"] == "move_in" and body["from_county"] == "110105"
    person = Person.objects.get(pk=body["person"]["id"])
    assert (person.name, person.residence_status, person.residence_unit_id, person.registration_unit_id) == (
        "刘洋", "in", county.dc_village2.pk, None)


def test_register_move_in_of_a_returning_out_migrant(api, personas, county, register):
    services.move_out_register(by=personas.admin, person=register.wang_fang, moved_on=date(2024, 1, 1),
                               to_county="440305")
    response = api.as_(personas.dongcheng).post("/events/moves-in", {
        "moved_on": "2025-06-01", "to_unit": county.dc_village2.code, "from_county": "440305",
        "person": register.wang_fang.pk})
    assert response.status_code == 201, response.content
    register.wang_fang.refresh_from_db()
    assert register.wang_fang.residence_status == "resident"


def test_register_move_in_errors_name_the_field(api, personas, county, register):
    caller = api.as_(personas.dongcheng)
    body = {"moved_on": "2025-06-01", "to_unit": county.dc_village2.code, "from_county": "440305"}
    assert_error(caller.post("/events/moves-in", body), 422, "person")
    assert_error(caller.post("/events/moves-in", {**body, "person": register.li_na.pk}), 422, "person")
    assert_error(caller.post("/events/moves-in", {**body, "to_unit": county.xc_village1.code,
                                                   "person": register.li_na.pk}), 422, "to_unit", "scope")
    newcomer = {"name": "刘洋", "sex": "1", "birth_date": "1992-07-07", "id_number": "12345"}
    assert_error(caller.post("/events/moves-in", {**body, "new_person": newcomer}), 422, "id_number")
    assert_error(caller.post("/events/moves-in", {**body, "new_person": {"name": "刘洋"}}), 422,
                 "new_person.sex", "missing")
    assert_error(api.as_(personas.viewer).post("/events/moves-in", body), 403, "")
    assert_error(api.as_(None).post("/events/moves-in", body), 401, "")


# --------------------------------------------------------------------------------------------------------------
# POST /marriages and /marriages/{id}/end


def test_register_marriage(api, personas, county, register):
    groom = make_person(county.dc_village2, name="孙杰", sex="1", birth_date=date(1993, 1, 1))
    response = api.as_(personas.dongcheng).post("/marriages", {
        "husband": groom.pk, "wife": register.wang_fang.pk, "married_on": "2025-01-01"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["husband"] == {"id": groom.pk, "name": "孙杰"}
    assert body["wife"]["name"] == "王芳" and body["current"] is True and body["end_reason"] is None
    assert body["unit"]["code"] == county.dc_village2.code
    register.wang_fang.refresh_from_db()
    assert register.wang_fang.marital_status == "20"
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="marriage", channel="api").exists()


def test_register_marriage_errors_name_the_field(api, personas, county, register):
    caller = api.as_(personas.dongcheng)
    young = make_person(county.dc_village2, name="小孙", sex="1", birth_date=date(2010, 1, 1))
    body = {"husband": young.pk, "wife": register.wang_fang.pk, "married_on": "2025-01-01"}
    assert_error(caller.post("/marriages", body), 422, "husband")
    assert_error(caller.post("/marriages", {**body, "husband": register.zhang_wei.pk}), 422, "husband")
    assert_error(caller.post("/marriages", {**body, "husband": register.zhao_qiang.pk}), 422, "husband", "not_found")
    assert_error(api.as_(personas.viewer).post("/marriages", body), 403, "")
    assert_error(api.as_(None).post("/marriages", body), 401, "")
    assert Marriage.objects.count() == 1


def test_end_marriage_by_divorce(api, personas, register):
    response = api.as_(personas.dongcheng).post(f"/marriages/{register.marriage.pk}/end",
                                                {"ended_on": "2024-12-01", "reason": "divorce"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ended_on"] == "2024-12-01" and body["current"] is False
    assert body["end_reason"] == {"code": "divorce", "name": "离婚"}
    register.li_na.refresh_from_db()
    assert register.li_na.marital_status == "40"
    again = api.as_(personas.dongcheng).post(f"/marriages/{register.marriage.pk}/end", {"ended_on": "2024-12-02"})
    assert_error(again, 422, "marriage")


def test_end_marriage_errors_and_refusals(api, personas, register):
    path = f"/marriages/{register.marriage.pk}/end"
    assert_error(api.as_(personas.dongcheng).post(path, {"ended_on": "2000-01-01"}), 422, "ended_on")
    assert_error(api.as_(personas.dongcheng).post(path, {"ended_on": "2024-01-01", "reason": "death"}), 422, "reason")
    assert_error(api.as_(personas.xicheng).post(path, {"ended_on": "2024-12-01"}), 404, "", "not_found")
    assert_error(api.as_(personas.dongcheng).post("/marriages/99999/end", {"ended_on": "2024-12-01"}), 404, "")
    assert_error(api.as_(personas.viewer).post(path, {"ended_on": "2024-12-01"}), 403, "", "forbidden")
    assert_error(api.as_(personas.statistician).post(path, {"ended_on": "2024-12-01"}), 403, "", "forbidden")
    assert_error(api.as_(None).post(path, {"ended_on": "2024-12-01"}), 401, "", "unauthenticated")
    register.marriage.refresh_from_db()
    assert register.marriage.ended_on is None
