"""/api/v1/units: the unit tree (every role may read it) and a unit's aggregate counts (only in one's area)."""

from __future__ import annotations

import pytest

from renkou.registry.tests.test_api_base import Api, Register, assert_error, make_register


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.fixture
def register(county, personas) -> Register:
    return make_register(county, personas)


def test_list_units_in_tree_order_for_every_role(api, personas, county):
    for user in (personas.admin, personas.viewer, personas.xicheng, personas.reporter):
        response = api.as_(user).get("/units")
        assert response.status_code == 200
        codes = [u["code"] for u in response.json()]
        assert codes == ["500230000000", "500230001000", "500230001001", "500230001002", "500230002000",
                         "500230002001", "500230002002", "500230101000", "500230101201"]
    first_village = api.as_(personas.viewer).get("/units").json()[2]
    assert first_village == {
        "id": county.dc_village1.pk, "code": "500230001001", "name": "第一社区", "level": 3,
        "level_name": first_village["level_name"], "unit_type": {"code": "community", "name": first_village[
            "unit_type"]["name"]}, "parent_id": county.dongcheng.pk, "opened_on": None, "closed_on": None}
    assert first_village["level_name"] and first_village["unit_type"]["name"]


def test_list_units_by_level_and_parent(api, personas, county):
    caller = api.as_(personas.viewer)
    assert [u["name"] for u in caller.get("/units", level=2).json()] == ["东城街道", "西城街道", "龙河镇"]
    assert [u["name"] for u in caller.get("/units", parent=county.xicheng.code).json()] == ["西街社区", "北街社区"]
    assert [u["name"] for u in caller.get("/units", parent=str(county.longhe.pk)).json()] == ["龙河村"]
    assert caller.get("/units", parent=county.county.code, level=3).json() == []


def test_list_units_errors(api, personas, county):
    assert_error(api.as_(personas.viewer).get("/units", parent="999999999999"), 404, "", "not_found")
    assert_error(api.as_(personas.viewer).get("/units", level=5), 422, "level")
    assert_error(api.as_(personas.viewer).get("/units", parent="东城"), 422, "parent")
    assert_error(api.as_(None).get("/units"), 401, "", "unauthenticated")


def test_unit_detail_with_children_and_counts(api, personas, county, register):
    response = api.as_(personas.dongcheng).get(f"/units/{county.dongcheng.code}")
    assert response.status_code == 200
    body = response.json()
    assert body["unit"]["name"] == "东城街道" and body["unit"]["level"] == 2
    assert body["parent"] == {"id": county.county.pk, "code": "500230000000", "name": "青山县", "level": 1}
    assert [c["name"] for c in body["children"]] == ["第一社区", "第二社区"]
    assert body["counts"] == {"persons": 4, "residents": 4, "households": 1, "births_this_year": 0,
                              "deaths_this_year": 0, "migrants_out": 0, "migrants_in": 0}


def test_unit_detail_gives_counts_to_an_aggregate_viewer(api, personas, county, register):
    body = api.as_(personas.viewer).get(f"/units/{county.county.code}").json()
    assert body["counts"]["persons"] == 5 and body["counts"]["households"] == 2
    assert body["parent"] is None and len(body["children"]) == 3


def test_unit_detail_outside_the_area_has_no_counts(api, personas, county, register):
    body = api.as_(personas.xicheng).get(f"/units/{county.dongcheng.code}").json()
    assert body["unit"]["code"] == county.dongcheng.code and body["counts"] is None


def test_unit_detail_errors(api, personas, county):
    assert_error(api.as_(personas.viewer).get("/units/500230999000"), 404, "", "not_found")
    assert_error(api.as_(personas.viewer).get("/units/abc"), 422, "code")
    assert_error(api.as_(None).get(f"/units/{county.dongcheng.code}"), 401, "", "unauthenticated")
