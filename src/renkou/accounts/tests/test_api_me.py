"""/api/v1/me: who is calling."""

from __future__ import annotations

import pytest

from renkou.registry.tests.test_api_base import Api, assert_error


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.mark.parametrize(("persona", "role", "unit", "personal_data", "can_write"), [
    ("admin", "county_admin", "500230000000", True, True),
    ("statistician", "statistician", "500230000000", True, False),
    ("dongcheng", "township_officer", "500230001000", True, True),
    ("reporter", "village_reporter", "500230001001", True, True),
    ("viewer", "aggregate_viewer", "500230000000", False, False),
])
def test_me_names_the_role_and_unit(api, personas, persona, role, unit, personal_data, can_write):
    user = getattr(personas, persona)
    response = api.as_(user).get("/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == persona and body["full_name"] == user.full_name
    assert body["role"]["code"] == role and body["role"]["name"]
    assert body["unit"]["code"] == unit
    assert (body["personal_data"], body["can_write"]) == (personal_data, can_write)
    assert set(body) == {"username", "full_name", "role", "unit", "personal_data", "can_write"}


def test_me_without_credentials_is_401(api, personas):
    assert_error(api.as_(None).get("/me"), 401, "", "unauthenticated")
