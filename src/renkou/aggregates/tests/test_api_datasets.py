"""The aggregate data sets through the JSON API: forms, completion, reporting rates, validation, outliers,
DHIS2/ADX export and DHIS2 import."""

from __future__ import annotations

import json
from datetime import date, timedelta
from xml.etree import ElementTree as ET

import pytest
from django.utils import timezone

from renkou.accounts.models import AuditEntry
from renkou.aggregates.formats import ADX_NS
from renkou.aggregates.models import CodeMapping, CompleteRegistration, DataValue
from renkou.orgunits.periods import Period, PeriodType
from renkou.testing import client_for

pytestmark = pytest.mark.django_db
DC = "500230001000"
XC = "500230002000"
LH = "500230101000"
COUNTY = "500230000000"


class V1:
    """A test client for /api/v1 (paths as the OpenAPI document names them); bodies sent as JSON."""

    def __init__(self, user=None):
        self.client = client_for(user)

    def get(self, path):
        return self.client.get("/api/v1" + path)

    def delete(self, path):
        return self.client.delete("/api/v1" + path)

    def put(self, path, body):
        return self.client.put("/api/v1" + path, data=json.dumps(body), content_type="application/json")

    def post(self, path, data=None, content_type="application/json"):
        return self.client.post("/api/v1" + path, data=data, content_type=content_type)


def test_lists_the_seeded_data_sets_and_elements(personas):
    client = V1(personas.viewer)
    sets = {s["code"]: s for s in client.get("/datasets").json()}
    assert sets["FAMSVC_M"]["period_type"] == "month"
    assert sets["FAMSVC_M"]["elements"][:2] == ["PUBLICITY_EVENTS", "CONSULTATIONS"]
    assert sets["REWARD_Q"]["period_type"] == "quarter" and sets["REWARD_Q"]["due_days"] == 20
    elements = {e["code"]: e for e in client.get("/datasets/elements").json()}
    assert [c["code"] for c in elements["CONSULTATIONS"]["category_option_combos"]] == ["MALE", "FEMALE"]
    assert elements["PUBLICITY_EVENTS"]["category_option_combos"] == [{"code": "", "name": "合计"}]


def test_officer_enters_saves_and_completes_a_form(personas):
    client = V1(personas.dongcheng)
    path = f"/datasets/FAMSVC_M/values?unit={DC}&period=202503"
    answer = client.put(path, {"values": {"PUBLICITY_EVENTS": 3, "CONSULTATIONS.MALE": "12",
                                           "CONSULTATIONS.FEMALE": 30, "PREPREG_CHECKUPS": ""}})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"created": 3, "updated": 0, "deleted": 0, "unchanged": 0}
    got = client.get(path).json()
    assert got["values"] == {"PUBLICITY_EVENTS": "3", "CONSULTATIONS.MALE": "12", "CONSULTATIONS.FEMALE": "30"}
    assert got["completed_at"] is None
    # a change, a removal and an unchanged value
    answer = client.put(path, {"values": {"PUBLICITY_EVENTS": 4, "CONSULTATIONS.MALE": None,
                                           "CONSULTATIONS.FEMALE": "30"}})
    assert answer.json() == {"created": 0, "updated": 1, "deleted": 1, "unchanged": 1}
    value = DataValue.objects.get(element__code="PUBLICITY_EVENTS", unit__code=DC, period="202503")
    assert value.value == "4" and value.stored_by == personas.dongcheng
    audit = AuditEntry.objects.filter(object_type="datavalues", object_id=f"FAMSVC_M/{DC}/202503")
    assert audit.count() == 2
    assert {"field": "PUBLICITY_EVENTS", "old": "3", "new": "4"} in audit.first().detail["changes"]

    done = client.post(f"/datasets/FAMSVC_M/complete?unit={DC}&period=202503")
    assert done.status_code == 200 and done.json()["complete"] is True
    assert client.get(path).json()["completed_by"] == "dongcheng"
    undone = client.delete(f"/datasets/FAMSVC_M/complete?unit={DC}&period=202503")
    assert undone.json() == {"complete": False, "completed_at": None}
    assert not CompleteRegistration.objects.exists()


def test_wrong_values_are_refused_field_by_field_and_nothing_is_written(personas):
    client = V1(personas.dongcheng)
    answer = client.put(f"/datasets/FAMSVC_M/values?unit={DC}&period=202503",
                 {"values": {"PUBLICITY_EVENTS": 2, "CONSULTATIONS.MALE": -1, "FOLIC_ACID": "很多",
                             "NO_SUCH": 1, "PUBLICITY_EVENTS.MALE": 1}})
    assert answer.status_code == 422
    errors = {e["field"]: e["code"] for e in answer.json()["errors"]}
    assert errors == {"CONSULTATIONS.MALE": "value.negative", "FOLIC_ACID": "value.type",
                      "NO_SUCH": "field.unknown", "PUBLICITY_EVENTS.MALE": "field.unknown"}
    assert not DataValue.objects.exists()


def test_reward_amounts_take_decimals_and_periods_must_fit_the_data_set(personas):
    client = V1(personas.dongcheng)
    ok = client.put(f"/datasets/REWARD_Q/values?unit={DC}&period=2025Q1",
             {"values": {"REWARD_PERSONS": 10, "REWARD_AMOUNT": "2400.50", "SPECIAL_PERSONS.DEATH": 2}})
    assert ok.status_code == 200
    assert client.get(f"/datasets/REWARD_Q/values?unit={DC}&period=2025Q1").json()["values"][
        "REWARD_AMOUNT"] == "2400.5"
    wrong = client.put(f"/datasets/REWARD_Q/values?unit={DC}&period=202501",
                {"values": {"REWARD_PERSONS": 1}})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "period"
    future = Period.containing(PeriodType.QUARTER, timezone.localdate()).next().code
    later = client.put(f"/datasets/REWARD_Q/values?unit={DC}&period={future}",
                {"values": {"REWARD_PERSONS": 1}})
    assert later.status_code == 422 and later.json()["errors"][0]["code"] == "period.future"


def test_scope_township_officer_only_in_own_township(personas):
    xicheng = V1(personas.xicheng)
    path = f"/datasets/FAMSVC_M/values?unit={DC}&period=202503"
    assert xicheng.put(path, {"values": {"PUBLICITY_EVENTS": 1}}).status_code == 404
    assert xicheng.get(path).status_code == 404
    assert xicheng.post(f"/datasets/FAMSVC_M/complete?unit={DC}&period=202503").status_code == 404
    viewer = V1(personas.viewer)
    assert viewer.put(path, {"values": {"PUBLICITY_EVENTS": 1}}).status_code == 403
    assert viewer.get(path).status_code == 200  # counts only: aggregate viewers may read them
    # the statistician enters for the whole county; a village is not assigned the township data set
    stat = V1(personas.statistician)
    assert stat.put(f"/datasets/FAMSVC_M/values?unit={XC}&period=202503",
               {"values": {"PUBLICITY_EVENTS": 1}}).status_code == 200
    assert stat.put("/datasets/FAMSVC_M/values?unit=500230001001&period=202503",
               {"values": {"PUBLICITY_EVENTS": 1}}).status_code == 404
    assert V1().get("/datasets").status_code == 401


def test_reporting_rate_and_rate_on_time(county, personas):
    stat = V1(personas.statistician)
    today = timezone.localdate()
    this_month = Period.containing(PeriodType.MONTH, today)
    two_back = this_month.previous().previous()
    for unit in (DC, XC):
        assert stat.post(f"/datasets/FAMSVC_M/complete?unit={unit}&period={two_back.code}").status_code == 200
    assert stat.post(f"/datasets/FAMSVC_M/complete?unit={DC}&period={this_month.code}").status_code == 200
    rows = stat.get(f"/datasets/reporting/FAMSVC_M?unit={COUNTY}&start={two_back.code}"
                    f"&end={this_month.code}").json()
    by_unit = {r["unit"]: r for r in rows}
    # 3 townships × 3 months expected; 3 reports; only this month's was completed within 15 days of its end
    assert by_unit[COUNTY] | {} == {"unit": COUNTY, "unit_name": "青山县", "expected": 9, "actual": 3,
                                    "on_time": 1, "rate": 33.3, "on_time_rate": 11.1}
    assert (by_unit[DC]["expected"], by_unit[DC]["actual"], by_unit[DC]["on_time"]) == (3, 2, 1)
    assert by_unit[LH]["rate"] == 0.0
    # a township closed during the range is not expected for the months it was not open for the whole of
    county.longhe.closed_on = two_back.end + timedelta(days=3)
    county.longhe.save()
    rows = stat.get(f"/datasets/reporting/FAMSVC_M?unit={COUNTY}&start={two_back.code}"
                    f"&end={this_month.code}").json()
    assert rows[0]["expected"] == 7 and rows[0]["rate"] == round(300 / 7, 1)
    # the officer of 西城 sees only 西城
    xc = V1(personas.xicheng)
    assert xc.get(f"/datasets/reporting/FAMSVC_M?unit={COUNTY}&start=2025").status_code == 404
    mine = xc.get(f"/datasets/reporting/FAMSVC_M?unit={XC}&start={two_back.code}&end={this_month.code}")
    assert mine.json() == [{"unit": XC, "unit_name": "西城街道", "expected": 3, "actual": 1, "on_time": 0,
                            "rate": 33.3, "on_time_rate": 0.0}]
    # a monthly data set queried by year: 12 periods per assigned unit
    year = stat.get(f"/datasets/reporting/FAMSVC_M?unit={COUNTY}&start=2025").json()
    assert year[0]["expected"] == 36 and year[0]["actual"] == 0
    bad = stat.get(f"/datasets/reporting/FAMSVC_M?unit={COUNTY}&start=2025H1")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "start"


def _enter(client, unit, period, values, data_set="FAMSVC_M"):
    answer = client.put(f"/datasets/{data_set}/values?unit={unit}&period={period}", {"values": values})
    assert answer.status_code == 200, answer.content


def test_validation_violations_over_the_stored_values(personas):
    stat = V1(personas.statistician)
    _enter(stat, DC, "202502", {"PREPREG_CHECKUPS": 10, "PREPREG_HIGH_RISK": 12})
    _enter(stat, XC, "202502", {"PREPREG_CHECKUPS": 10, "PREPREG_HIGH_RISK": 2})
    _enter(stat, XC, "2025Q1", {"REWARD_PERSONS": 10, "REWARD_AMOUNT": 2000}, data_set="REWARD_Q")
    found = stat.get(f"/datasets/validation?unit={COUNTY}&start=2025").json()
    assert [(v["rule"], v["org_unit"], v["period"], v["left"], v["right"]) for v in found] == [
        ("PREPREG_RISK_LE_CHECKUPS", DC, "202502", 12.0, 10.0),
        ("REWARD_AMOUNT_MIN", XC, "2025Q1", 2000.0, 2400.0),
    ]
    assert found[0]["importance"] == "high" and "不能多于" in found[0]["instruction"]
    only_dc = V1(personas.dongcheng).get(f"/datasets/validation?unit={DC}&start=202501&end=202503")
    assert [v["org_unit"] for v in only_dc.json()] == [DC]
    assert V1(personas.dongcheng).get(f"/datasets/validation?unit={XC}&start=2025").status_code == 404


def test_outliers_of_a_monthly_series(personas):
    stat = V1(personas.statistician)
    series = [5, 6, 5, 7, 6, 5, 40, 6, 5, 6, 7, 5]
    for month, value in enumerate(series, start=1):
        _enter(stat, DC, f"2025{month:02d}", {"PUBLICITY_EVENTS": value})
    answer = stat.get(f"/datasets/outliers?unit={COUNTY}&element=PUBLICITY_EVENTS&start=202501&end=202512")
    assert answer.status_code == 200
    [only] = answer.json()
    assert only["org_unit"] == DC and len(only["points"]) == 12
    flagged = [p for p in only["points"] if p["outlier"]]
    # median 6, MAD 1: 0.6745 × 34 / 1 = 22.933
    assert flagged == [{"period": "202507", "value": 40.0, "z": 22.933, "outlier": True}]
    assert only["points"][3] == {"period": "202504", "value": 7.0, "z": 0.6745, "outlier": False}
    strict = stat.get(f"/datasets/outliers?unit={COUNTY}&element=PUBLICITY_EVENTS&start=202501&end=202512"
                      "&threshold=0.5").json()
    # the five 5s and two 7s lie 1 from the median (0.6745 > 0.5), and the 40; the four 6s score 0
    assert sum(p["outlier"] for p in strict[0]["points"]) == 8


def test_dhis2_export_applies_mappings_and_import_round_trips(personas):
    stat = V1(personas.statistician)
    _enter(stat, DC, "202501", {"PUBLICITY_EVENTS": 3, "CONSULTATIONS.MALE": 4, "CONSULTATIONS.FEMALE": 9})
    for kind, code, ext in [("element", "PUBLICITY_EVENTS", "deAbc123456"), ("coc", "MALE", "cocMale0001"),
                            ("coc", "", "HllvX50cXC0"), ("unit", DC, "ouDongchen1"), ("data_set", "FAMSVC_M", "dsFam00001")]:
        CodeMapping.objects.create(system="dhis2-test", kind=kind, renkou_code=code, external_id=ext)
    body = stat.get(f"/datasets/export/dhis2?unit={DC}&start=202501&data_set=FAMSVC_M&system=dhis2-test").json()
    assert body["dataSet"] == "dsFam00001" and body["period"] == "202501" and body["orgUnit"] == "ouDongchen1"
    assert sorted((v["dataElement"], v["categoryOptionCombo"], v["value"]) for v in body["dataValues"]) == [
        ("CONSULTATIONS", "FEMALE", "9"), ("CONSULTATIONS", "cocMale0001", "4"), ("deAbc123456", "HllvX50cXC0", "3")]
    assert AuditEntry.objects.filter(action="export", object_type="datavalues").count() == 1

    # the same file imported again changes nothing; the figures come back after a wipe
    again = stat.post("/datasets/import/dhis2?system=dhis2-test", data=json.dumps(body),
                      content_type="application/json").json()
    assert again["importCount"] == {"imported": 0, "updated": 0, "ignored": 3, "deleted": 0}
    before = sorted(DataValue.objects.values_list("element__code", "category_option_combo", "unit__code", "period",
                                                  "value"))
    DataValue.objects.all().delete()
    dry = stat.post("/datasets/import/dhis2?system=dhis2-test&dry_run=true", data=json.dumps(body),
                    content_type="application/json").json()
    assert dry["dryRun"] is True and dry["importCount"]["imported"] == 3 and not DataValue.objects.exists()
    done = stat.post("/datasets/import/dhis2?system=dhis2-test", data=json.dumps(body),
                     content_type="application/json").json()
    assert done == {"status": "SUCCESS", "dryRun": False, "conflicts": [],
                    "importCount": {"imported": 3, "updated": 0, "ignored": 0, "deleted": 0}}
    after = sorted(DataValue.objects.values_list("element__code", "category_option_combo", "unit__code", "period",
                                                 "value"))
    assert after == before


def test_dhis2_import_lists_conflicts_with_reasons(personas):
    dc = V1(personas.dongcheng)
    _enter(dc, DC, "202501", {"PUBLICITY_EVENTS": 3})
    payload = {"dataSet": "FAMSVC_M", "completeDate": "2025-02-10", "dataValues": [
        {"dataElement": "PUBLICITY_EVENTS", "period": "202501", "orgUnit": DC, "value": "5"},   # updated
        {"dataElement": "FOLIC_ACID", "period": "202501", "orgUnit": DC, "value": "8"},         # imported
        {"dataElement": "NOPE", "period": "202501", "orgUnit": DC, "value": "1"},
        {"dataElement": "FOLIC_ACID", "period": "2025W3", "orgUnit": DC, "value": "1"},
        {"dataElement": "FOLIC_ACID", "period": "202501", "orgUnit": XC, "value": "1"},
        {"dataElement": "FOLIC_ACID", "period": "202501", "orgUnit": "999999999999", "value": "1"},
        {"dataElement": "FOLIC_ACID", "period": "202501", "orgUnit": DC, "value": "-2"},
        {"dataElement": "CONSULTATIONS", "categoryOptionCombo": "DEATH", "period": "202501", "orgUnit": DC,
         "value": "1"},
        {"dataElement": "REWARD_PERSONS", "period": "202501", "orgUnit": DC, "value": "1"},
        {"dataElement": "FOLIC_ACID", "period": "202501", "orgUnit": "500230001001", "value": "1"},
    ]}
    answer = dc.post("/datasets/import/dhis2", data=json.dumps(payload), content_type="application/json")
    assert answer.status_code == 200
    summary = answer.json()
    assert summary["status"] == "WARNING"
    assert summary["importCount"] == {"imported": 1, "updated": 1, "ignored": 8, "deleted": 0}
    reasons = {c["index"]: c["value"] for c in summary["conflicts"]}
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8, 9}
    assert "not assigned to unit 500230001001" in reasons[9]
    assert "NOPE" in reasons[2] and "2025W3" in reasons[3] and "outside your area" in reasons[4]
    assert "999999999999" in reasons[5] and "negative" in reasons[6] and "DEATH" in reasons[7]
    assert "not in data set" in reasons[8]
    reg = CompleteRegistration.objects.get(unit__code=DC, period="202501")
    assert timezone.localtime(reg.completed_at).date() == date(2025, 2, 10)
    # atomic: one conflict and nothing is written
    atomic = dc.post("/datasets/import/dhis2?atomic=true", data=json.dumps(
        {"dataValues": [{"dataElement": "FOLIC_ACID", "period": "202502", "orgUnit": DC, "value": "1"},
                        {"dataElement": "FOLIC_ACID", "period": "202502", "orgUnit": DC, "value": "x"}]}),
        content_type="application/json").json()
    assert atomic["status"] == "ERROR" and not DataValue.objects.filter(period="202502").exists()
    assert V1(personas.viewer).post("/datasets/import/dhis2", data=json.dumps(payload),
                                            content_type="application/json").status_code == 403


def test_adx_export_has_the_adx_structure(personas):
    stat = V1(personas.statistician)
    _enter(stat, DC, "202501", {"PUBLICITY_EVENTS": 3, "CONSULTATIONS.MALE": 4})
    _enter(stat, XC, "2025Q1", {"REWARD_AMOUNT": "1200.5"}, data_set="REWARD_Q")
    answer = stat.get(f"/datasets/export/adx?unit={COUNTY}&start=2025")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/xml"
    root = ET.fromstring(answer.content)
    assert root.tag == f"{{{ADX_NS}}}adx"
    groups = root.findall(f"{{{ADX_NS}}}group")
    got = {(g.get("orgUnit"), g.get("period")): {(d.get("dataElement"), d.get("categoryOptionCombo"), d.get("value"))
                                                  for d in g} for g in groups}
    assert got == {(DC, "2025-01-01/P1M"): {("PUBLICITY_EVENTS", None, "3"), ("CONSULTATIONS", "MALE", "4")},
                   (XC, "2025-01-01/P3M"): {("REWARD_AMOUNT", None, "1200.5")}}
    for child in root.iter():
        assert child.tag.startswith(f"{{{ADX_NS}}}")


def test_dhis2_export_of_register_figures_named_by_code(county, personas, settings, tmp_path):
    """Register-derived figures (renkou.stats) export in the same dataValueSet as the stored values."""
    from renkou.registry.services import events
    from renkou.stats.selectors import forget_cache
    from renkou.testing import make_person

    settings.DATA_DIR = tmp_path
    forget_cache()
    mother = make_person(county.dc_village1, name="甲", sex="2", birth_date=date(1995, 3, 10))
    events.birth_register(by=personas.admin, mother=mother, born_on=date(2025, 6, 1), sex="2", name="甲女")
    stat = V1(personas.statistician)
    _enter(stat, DC, "202506", {"PUBLICITY_EVENTS": 3})
    body = stat.get(f"/datasets/export/dhis2?unit={COUNTY}&start=2025&elements=LIVE_BIRTHS,PUBLICITY_EVENTS").json()
    got = {(v["dataElement"], v["categoryOptionCombo"], v["orgUnit"], v["period"]): v["value"]
           for v in body["dataValues"]}
    assert got[("LIVE_BIRTHS", "HllvX50cXC0", COUNTY, "2025")] == "1"
    assert got[("LIVE_BIRTHS", "FEMALE", DC, "2025")] == "1"
    assert got[("LIVE_BIRTHS", "MALE", XC, "2025")] == "0"
    assert got[("PUBLICITY_EVENTS", "HllvX50cXC0", DC, "202506")] == "3"
    forget_cache()
