"""The base of the API tests (a caller per persona, a small register), and the tests of authentication itself.

Other API test modules import ``Api`` and ``make_register`` from here and declare their own two-line fixtures
(a fixture imported from another module would shadow the test's parameter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.test import Client
from django.utils import timezone

from renkou.accounts.models import ApiToken, User
from renkou.accounts.services import token_create
from renkou.registry import services
from renkou.registry.models import Event, Household, Marriage, Person
from renkou.testing import County, Personas, id_number_for

PREFIX = "/api/v1"


class Caller:
    """Requests to the API as one user, with a bearer token (or as nobody)."""

    def __init__(self, client: Client, token: str | None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params):
        return self.client.get(PREFIX + path, params, headers=self.headers)

    def post(self, path: str, body: dict | None = None):
        return self.client.post(PREFIX + path, body or {}, content_type="application/json", headers=self.headers)

    def patch(self, path: str, body: dict):
        return self.client.patch(PREFIX + path, body, content_type="application/json", headers=self.headers)


class Api:
    def __init__(self):
        self.client = Client()
        self._tokens: dict[int, str] = {}

    def as_(self, user: User | None) -> Caller:
        if user is None:
            return Caller(self.client, None)
        if user.pk not in self._tokens:
            self._tokens[user.pk] = token_create(user=user, name="test")
        return Caller(self.client, self._tokens[user.pk])


@pytest.fixture
def api(db) -> Api:
    return Api()


@dataclass
class Register:
    """A small register written through the services, as the county administrator."""

    household: Household  # 东城 第一社区
    zhang_wei: Person  # head, man born 1980
    li_na: Person  # his wife, born 1982
    child: Person  # their son, born 2010 (a birth event)
    wang_fang: Person  # 东城 第二社区, woman born 1995
    zhao_qiang: Person  # 西城 西街社区, man born 1975
    xc_household: Household
    birth: Event
    marriage: Marriage


def make_register(county: County, personas: Personas) -> Register:
    admin = personas.admin

    def person(unit, name, sex, born, household=None, relation=""):
        return services.person_create(by=admin, name=name, sex=sex, birth_date=born,
                                      id_number=id_number_for(born, sex), household=household,
                                      relation_to_head=relation, registration_unit=unit, residence_unit=unit)

    household = services.household_create(by=admin, unit=county.dc_village1, address="东城路1号")
    zhang_wei = person(county.dc_village1, "张伟", "1", date(1980, 5, 1), household, "02")
    li_na = person(county.dc_village1, "李娜", "2", date(1982, 3, 3), household, "10")
    marriage = services.marriage_register(by=admin, husband=zhang_wei, wife=li_na, married_on=date(2008, 10, 1))
    li_na.refresh_from_db()
    birth = services.birth_register(by=admin, mother=li_na, father=zhang_wei, born_on=date(2010, 6, 15), sex="1",
                                    name="张小明", id_number=id_number_for(date(2010, 6, 15), "1"))
    wang_fang = person(county.dc_village2, "王芳", "2", date(1995, 8, 20))
    xc_household = services.household_create(by=admin, unit=county.xc_village1, address="西街8号")
    zhao_qiang = person(county.xc_village1, "赵强", "1", date(1975, 1, 9), xc_household, "02")
    return Register(household=household, zhang_wei=zhang_wei, li_na=li_na, child=birth.person, wang_fang=wang_fang,
                    zhao_qiang=zhao_qiang, xc_household=xc_household, birth=birth, marriage=marriage)


@pytest.fixture
def register(county, personas) -> Register:
    return make_register(county, personas)


def assert_error(response, status: int, field: str, code: str | None = None) -> dict:
    """The answer is the API's error shape and names ``field`` (and ``code``)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert body["detail"] == body["errors"][0]["message"]
    matching = [e for e in body["errors"] if e["field"] == field and (code is None or e["code"] == code)]
    assert matching, body
    return body


# --------------------------------------------------------------------------------------------------------------
# authentication


def test_no_credentials_is_401_in_the_error_shape(api, personas):
    response = api.as_(None).get("/me")
    body = assert_error(response, 401, "", "unauthenticated")
    assert body["detail"]


def test_an_unauthenticated_write_is_401_not_a_csrf_failure(api, county):
    client = Client(enforce_csrf_checks=True)
    response = client.post(PREFIX + "/households", {"unit": county.dc_village1.code, "address": "x"},
                           content_type="application/json")
    assert_error(response, 401, "", "unauthenticated")


def test_a_wrong_token_is_401(api, personas):
    caller = Caller(api.client, "rk_not-a-real-token")
    assert_error(caller.get("/me"), 401, "", "unauthenticated")
    caller = Caller(api.client, "something-else")
    assert_error(caller.get("/me"), 401, "", "unauthenticated")


def test_a_revoked_token_is_401(api, personas):
    caller = api.as_(personas.dongcheng)
    assert caller.get("/me").status_code == 200
    ApiToken.objects.filter(user=personas.dongcheng).update(revoked_at=timezone.now())
    assert_error(caller.get("/me"), 401, "", "unauthenticated")


def test_a_token_of_a_deactivated_user_is_401(api, personas):
    caller = api.as_(personas.dongcheng)
    User.objects.filter(pk=personas.dongcheng.pk).update(is_active=False)
    assert_error(caller.get("/me"), 401, "", "unauthenticated")


def test_the_token_stores_only_a_digest(api, personas):
    token = token_create(user=personas.admin)
    row = ApiToken.objects.get(user=personas.admin)
    assert token not in (row.digest, row.prefix) and row.digest != token and len(row.digest) == 64


def test_a_session_reads_without_a_token(county, personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.dongcheng)
    response = client.get(PREFIX + "/me")
    assert response.status_code == 200
    assert response.json()["username"] == "dongcheng"


def test_a_session_write_needs_the_csrf_token(county, personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.dongcheng)
    body = {"unit": county.dc_village1.code, "address": "东城路9号"}
    refused = client.post(PREFIX + "/households", body, content_type="application/json")
    assert_error(refused, 403, "", "csrf")
    assert not Household.objects.filter(address="东城路9号").exists()

    secret = "k" * 32  # what the CSRF cookie of a page holds; the page's script sends it back in a header
    client.cookies["csrftoken"] = secret
    accepted = client.post(PREFIX + "/households", body, content_type="application/json",
                           headers={"X-CSRFToken": secret})
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["address"] == "东城路9号"


def test_a_bearer_write_needs_no_csrf_token(county, personas):
    client = Client(enforce_csrf_checks=True)
    token = token_create(user=personas.dongcheng)
    response = client.post(PREFIX + "/households", {"unit": county.dc_village1.code, "address": "东城路10号"},
                           content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.content


def test_a_body_that_is_not_json_is_400_in_the_error_shape(api, personas):
    caller = api.as_(personas.dongcheng)
    response = caller.client.post(PREFIX + "/households", "{not json", content_type="application/json",
                                  headers=caller.headers)
    assert_error(response, 400, "", "http_400")


def test_the_openapi_document_and_docs_page_are_served(api, personas):
    document = api.client.get(PREFIX + "/openapi.json")
    assert document.status_code == 200
    assert "/api/v1/persons/{person_id}" in document.json()["paths"]
    docs = api.client.get(PREFIX + "/docs")
    assert docs.status_code == 200
    assert b"openapi.json" in docs.content
    # Swagger UI from the project's own static files: these machines reach no CDN
    assert b"/static/ninja/swagger-ui-bundle.js" in docs.content
    assert b"cdn." not in docs.content and b"unpkg" not in docs.content
    assert api.client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
