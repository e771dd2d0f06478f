"""The /api/v1/stats routes: aggregates for every persona in its area, definitions and publication for the
county statistician only."""

from __future__ import annotations

import pytest

from renkou.accounts.models import AuditEntry
from renkou.stats.models import FrozenValue, Indicator
from renkou.testing import client_for


class Api:
    """The test client of a persona, with paths relative to /api/v1 (as tests/test_api_meta.py expects)."""

    def __init__(self, user=None):
        self.client = client_for(user)

    def get(self, path, params=None):
        return self.client.get("/api/v1" + path, params or {})

    def post(self, path, body=None):
        return self.client.post("/api/v1" + path, body or {}, content_type="application/json")

    def put(self, path, body):
        return self.client.put("/api/v1" + path, body, content_type="application/json")

    def delete(self, path):
        return self.client.delete("/api/v1" + path)

C, DC, XC1 = "500230000000", "500230001000", "500230002001"


@pytest.fixture
def stat(personas):
    return Api(personas.statistician)


def test_elements_list_their_option_combos(stat):
    r = stat.get("/stats/elements")
    assert r.status_code == 200
    by = {e["code"]: e for e in r.json()}
    assert [c["code"] for c in by["LIVE_BIRTHS_ORDER"]["category_option_combos"]] == ["O1", "O2", "O3P"]
    assert by["POP_MEAN"]["kind"] == "stock" and by["POP_MEAN"]["at"] == "mean"
    assert "O2.FEMALE" in [c["code"] for c in by["LIVE_BIRTHS_ORDER_SEX"]["category_option_combos"]]


def test_values_for_an_aggregate_viewer(small_register, personas):
    r = Api(personas.viewer).get("/stats/values", {"elements": "LIVE_BIRTHS,SRB", "units": C,
                                                                  "periods": "2024"})
    assert r.status_code == 200
    got = {(v["data_element"], v["category_option_combo"]): v["value"] for v in r.json()}
    assert got[("LIVE_BIRTHS", "")] == 2 and got[("LIVE_BIRTHS", "MALE")] == 1 and got[("SRB", "")] == 100


def test_values_outside_the_area_are_404_and_bad_input_422(small_register, personas):
    dongcheng = Api(personas.dongcheng)
    assert dongcheng.get("/stats/values", {"elements": "BIRTHS", "units": DC, "periods": "2024"}
                         ).status_code == 200
    assert dongcheng.get("/stats/values", {"elements": "BIRTHS", "units": XC1, "periods": "2024"}
                         ).status_code == 404
    r = dongcheng.get("/stats/values", {"elements": "NOPE", "units": DC, "periods": "2024"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "elements"
    r = dongcheng.get("/stats/values", {"elements": "BIRTHS", "units": DC, "periods": "2024Q5"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "periods"
    assert Api().get("/stats/values", {"elements": "BIRTHS", "units": DC, "periods": "2024"}
                            ).status_code == 401
    # a NUL byte (which PostgreSQL refuses in a query) is refused at the door (core.middleware), not a server error
    assert dongcheng.get("/stats/values", {"elements": "BIRTHS", "units": "5002\x00", "periods": "2024"}
                         ).status_code == 422


def test_indicators_are_shipped(stat):
    r = stat.get("/stats/indicators")
    codes = {i["code"] for i in r.json()}
    assert {"MEAN_POP", "CBR", "CDR", "NGR", "SRB", "ORDER1_SHARE", "GFR", "TFR", "BIRTHS_EARLIER"} <= codes


def test_statistician_adds_changes_and_removes_an_indicator(stat, small_register):
    body = {"code": "female_share", "name_zh": "女婴占比", "name_en": "Share of girls",
            "numerator": "#{LIVE_BIRTHS.FEMALE}", "denominator": "#{LIVE_BIRTHS}", "factor": 100, "decimals": 1,
            "unit_label": "%"}
    r = stat.post("/stats/indicators", body)
    assert r.status_code == 201, r.content
    assert r.json()["code"] == "FEMALE_SHARE"
    v = stat.get("/stats/values", {"elements": "FEMALE_SHARE", "units": C, "periods": "2024"}).json()
    assert v[0]["value"] == 50
    r = stat.put("/stats/indicators/FEMALE_SHARE", {"factor": 1000})
    assert r.status_code == 200 and r.json()["factor"] == 1000
    assert AuditEntry.objects.filter(action="indicator_update", object_id="FEMALE_SHARE").exists()
    assert stat.delete("/stats/indicators/FEMALE_SHARE").status_code == 204
    assert not Indicator.objects.filter(code="FEMALE_SHARE").exists()
    assert stat.delete("/stats/indicators/FEMALE_SHARE").status_code == 404


@pytest.mark.parametrize(("field", "text", "message"), [
    ("numerator", "#{NO_SUCH}", "Unknown data element “NO_SUCH”."),
    ("numerator", "#{LIVE_BIRTHS.PURPLE}", "has no category option combo “PURPLE”"),
    ("numerator", "#{LIVE_BIRTHS} / (2 - 2)", "divides by zero"),
    ("denominator", "0", "always zero"),
    ("numerator", "#{LIVE_BIRTHS} +", "not valid arithmetic"),
    ("numerator", "__import__('os')", "Unknown function"),
    ("numerator", "#{LIVE_BIRTHS} ** 2", "is not allowed"),
])
def test_a_definition_is_checked_before_it_is_saved(stat, field, text, message):
    body = {"code": "BAD", "name_zh": "坏", "name_en": "Bad", "numerator": "#{LIVE_BIRTHS}", "denominator": "1"}
    body[field] = text
    r = stat.post("/stats/indicators", body)
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == field and message in err["message"]
    assert not Indicator.objects.filter(code="BAD").exists()


def test_only_the_county_statistician_defines_indicators(personas):
    body = {"code": "X1", "name_zh": "甲", "name_en": "X", "numerator": "#{BIRTHS}"}
    for user in (personas.viewer, personas.dongcheng):
        assert Api(user).post("/stats/indicators", body).status_code == 403
        assert Api(user).put("/stats/indicators/CBR", {"factor": 1}).status_code == 403


def test_report_form_as_json(stat, small_register, personas):
    r = stat.get("/stats/reports/pop_births", {"unit": C, "period": "2024"})
    assert r.status_code == 200
    data = r.json()
    total = data["rows"][0]
    assert total["code"] == C and total["values"]["pop"] == 9 and total["values"]["earlier"] == 1
    assert [row["label"] for row in data["rows"][1:]] == ["东城街道", "西城街道", "龙河镇"]
    assert stat.get("/stats/reports/nope", {"unit": C, "period": "2024"}).status_code == 404
    assert Api(personas.dongcheng).get("/stats/reports/pyramid",
                                              {"unit": C, "period": "2024"}).status_code == 404


def test_publish_freezes_and_changes_show_later_corrections(stat, small_register, personas):
    from datetime import date

    from renkou.registry.services import events as ev

    r = stat.post("/stats/periods/2024/publish")
    assert r.status_code == 201 and r.json()["values_count"] == FrozenValue.objects.count() > 100
    assert stat.post("/stats/periods/2024/publish").status_code == 422
    assert Api(personas.viewer).post("/stats/periods/2023/publish").status_code == 403
    # A death of 2024 registered after publication: the published figure stays, the change is listed,
    # and the birth reported late shows in the next period.
    ev.death_register(by=personas.admin, person=small_register.m1, died_on=date(2024, 11, 1))
    ev.birth_register(by=personas.admin, mother=small_register.w2, born_on=date(2024, 12, 20), sex="1",
                      name="丙丑")
    v = stat.get("/stats/values", {"elements": "DEATHS,LIVE_BIRTHS", "units": C, "periods": "2024"}).json()
    got = {(x["data_element"], x["category_option_combo"]): x["value"] for x in v}
    assert got[("DEATHS", "")] == 1 and got[("LIVE_BIRTHS", "")] == 2
    changes = stat.get("/stats/periods/2024/changes", {"unit": C}).json()
    by = {(c["data_element"], c["category_option_combo"]): c for c in changes}
    assert by[("DEATHS", "")]["frozen"] == 1 and by[("DEATHS", "")]["current"] == 2
    assert by[("LIVE_BIRTHS", "MALE")]["difference"] == 1
    assert stat.get("/stats/periods/2023/changes").status_code == 404
