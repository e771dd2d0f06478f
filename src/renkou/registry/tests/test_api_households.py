"""/api/v1/households: list, read, create."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from renkou.accounts.models import AuditAction, AuditEntry
from renkou.registry import idnumbers
from renkou.registry.models import Household
from renkou.registry.tests.test_api_base import Api, Register, assert_error, make_register
from renkou.testing import make_household, make_person


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.fixture
def register(county, personas) -> Register:
    return make_register(county, personas)


def test_list_households_of_the_township(api, personas, register):
    response = api.as_(personas.dongcheng).get("/households")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item["number"] == register.household.number == "50023000100100001"
    assert item["address"] == "东城路1号"
    assert item["unit"]["code"] == "500230001001"
    assert item["registration_type"] == {"code": "rural", "name": "农业户口"}
    assert item["head"] is None
    entry = AuditEntry.objects.get(action=AuditAction.SEARCH, object_type="household")
    assert entry.detail["shown"] == [register.household.pk] and entry.channel == "api"


def test_list_households_leaves_other_townships_out(api, personas, register):
    body = api.as_(personas.xicheng).get("/households").json()
    assert [i["number"] for i in body["items"]] == [register.xc_household.number]
    assert api.as_(personas.admin).get("/households").json()["count"] == 2


def test_list_households_by_number_prefix_or_address(api, personas, county, register):
    make_household(county.dc_village2, "50023000100200001", address="东城路2号")
    caller = api.as_(personas.dongcheng)
    assert [i["number"] for i in caller.get("/households", q="500230001002").json()["items"]] == ["50023000100200001"]
    assert [i["address"] for i in caller.get("/households", q="路1号").json()["items"]] == ["东城路1号"]
    assert caller.get("/households", unit=county.dc_village2.code).json()["count"] == 1
    assert_error(caller.get("/households", unit=county.xc_village1.code), 404, "", "not_found")


def test_list_households_is_refused_to_viewers_and_nobody(api, personas, register):
    assert_error(api.as_(personas.viewer).get("/households"), 403, "", "forbidden")
    assert_error(api.as_(None).get("/households"), 401, "", "unauthenticated")


def test_list_households_costs_the_same_queries_for_5_or_50(api, personas, county, django_assert_max_num_queries):
    for n in range(60):
        household = make_household(county.dc_village1, f"5002300010010{n:04d}")
        if n % 3 == 0:
            head = make_person(county.dc_village1, household=household, relation="02")
            Household.objects.filter(pk=household.pk).update(head=head)
    caller = api.as_(personas.dongcheng)
    caller.get("/households")
    with CaptureQueriesContext(connection) as small:
        assert len(caller.get("/households", page_size=5).json()["items"]) == 5
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as large:
        items = caller.get("/households", page_size=50).json()["items"]
    assert len(items) == 50 and any(i["head"] for i in items)
    assert len(large.captured_queries) == len(small.captured_queries)


def test_get_household_with_members_masked_and_recorded(api, personas, register):
    response = api.as_(personas.reporter).get(f"/households/{register.household.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["household"]["number"] == register.household.number
    members = {m["name"]: m for m in body["members"]}
    assert set(members) == {"张伟", "李娜", "张小明"}
    assert members["张伟"]["relation_to_head"] == {"code": "02", "name": "户主"}
    assert members["李娜"]["id_number_masked"] == idnumbers.mask(register.li_na.id_number)
    assert register.li_na.id_number not in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.VIEW_HOUSEHOLD)
    assert (entry.username, entry.object_id, entry.channel) == ("reporter", str(register.household.pk), "api")
    assert sorted(entry.detail["shown"]) == sorted([register.zhang_wei.pk, register.li_na.pk, register.child.pk])


def test_get_household_outside_the_area_is_404(api, personas, register):
    assert_error(api.as_(personas.xicheng).get(f"/households/{register.household.pk}"), 404, "", "not_found")
    assert_error(api.as_(personas.xicheng).get("/households/99999"), 404, "", "not_found")
    assert_error(api.as_(personas.viewer).get(f"/households/{register.household.pk}"), 403, "", "forbidden")
    assert_error(api.as_(None).get(f"/households/{register.household.pk}"), 401, "", "unauthenticated")
    assert not AuditEntry.objects.filter(action=AuditAction.VIEW_HOUSEHOLD).exists()


def test_create_household_numbers_it_in_the_village(api, personas, county, register):
    response = api.as_(personas.dongcheng).post("/households", {"unit": county.dc_village1.code,
                                                                "address": "东城路3号", "registration_type": "urban"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == "50023000100100002"
    assert body["registration_type"] == {"code": "urban", "name": "非农业户口"}
    assert body["unit"]["name"] == "第一社区"
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="household", object_id=str(body["id"]),
                                     channel="api").exists()


def test_create_household_errors_name_the_field(api, personas, county, register):
    caller = api.as_(personas.dongcheng)
    assert_error(caller.post("/households", {"unit": county.dongcheng.code, "address": "x"}), 422, "unit")
    assert_error(caller.post("/households", {"unit": county.xc_village1.code, "address": "x"}), 422, "unit", "scope")
    assert_error(caller.post("/households", {"unit": county.dc_village1.code, "address": " "}), 422, "address")
    assert_error(caller.post("/households", {"unit": county.dc_village1.code, "address": "x" * 201}), 422, "address")
    assert_error(caller.post("/households", {"unit": county.dc_village1.code, "address": "x",
                                             "number": register.household.number}), 422, "number")
    assert_error(caller.post("/households", {"unit": county.dc_village1.code, "address": "x",
                                             "registration_type": "city"}), 422, "registration_type")
    assert_error(caller.post("/households", {"address": "x"}), 422, "unit", "missing")


def test_create_household_is_refused_to_roles_that_do_not_write(api, personas, county):
    body = {"unit": county.dc_village1.code, "address": "东城路4号"}
    assert_error(api.as_(personas.viewer).post("/households", body), 403, "", "forbidden")
    assert_error(api.as_(personas.statistician).post("/households", body), 403, "", "forbidden")
    assert_error(api.as_(None).post("/households", body), 401, "", "unauthenticated")
    assert not Household.objects.filter(address="东城路4号").exists()
