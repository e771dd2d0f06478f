"""The exchange's rates as indicators of renkou.stats (issue 5 §5): contributed elements, shipped indicators with
targets, equal to selectors.rates() for the same county and period, on the pages, the API, the CLI, the exports
and in a published period."""

from __future__ import annotations

import json
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from renkou.migrants import selectors, services
from renkou.migrants.models import OutboxMessage
from renkou.migrants.tests.conftest import A, B, person_in
from renkou.stats import selectors as stats
from renkou.stats.models import Indicator
from renkou.testing import client_for


class V1:
    """The test client of a persona, with paths relative to /api/v1 (as tests/test_api_meta.py expects)."""

    def __init__(self, user):
        self.client = client_for(user)

    def get(self, path, params=None):
        return self.client.get("/api/v1" + path, params or {})

    def post(self, path, body=None):
        return self.client.post("/api/v1" + path, body or {}, content_type="application/json")

    def put(self, path, body):
        return self.client.put("/api/v1" + path, body, content_type="application/json")

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
CA, CB = f"{A}000000", f"{B}000000"
RATES = {"EXCH_SUBMISSION_RATE": "submission_rate", "EXCH_FEEDBACK_RATE": "feedback_rate",
         "EXCH_TIMELINESS": "timeliness"}


@pytest.fixture(autouse=True)
def _stats_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    stats.forget_cache()
    yield
    stats.forget_cache()


def _deliver(county_code: str, sender: str, at: datetime) -> None:
    rows = list(OutboxMessage.objects.filter(county_code=sender, to_county=county_code, sent_at__isnull=True))
    OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(sent_at=at)
    for r in rows:
        services.message_receive(county_code=county_code, raw=bytes(r.body), sender=sender, at=at)


@pytest.fixture
def exchange(county, second_county, personas):
    """B registers three of A's residents in April 2025 (due 20 May; two submitted), and asks A about two women
    in June; A answers one at once (on time), the other on 10 July (7 days late)."""
    mei = person_in(county.dc_village1, name="李梅")
    for name, submit in (("李梅", True), ("外来甲", False), ("外来乙", True)):
        services.migrant_record_create(county_code=B, by=None, submit=submit, at=datetime(2025, 4, 2, 9, tzinfo=TZ),
                                       data=services.MigrantIn(direction="in", other_county_code=A, name=name,
                                                               sex="2", birth_date=mei.birth_date,
                                                               since=date(2025, 3, 1)))
    for name in ("李梅", "查无此人"):
        services.verify_request_send(county_code=B, to_county=A, name=name, sex="2", birth_date=mei.birth_date,
                                     sender_role="destination", by=None, at=datetime(2025, 6, 2, 9, tzinfo=TZ))
    _deliver(A, B, datetime(2025, 6, 3, 9, tzinfo=TZ))
    (late,) = selectors.requests_due(A, today=date(2025, 7, 10))
    services.request_answer(request=late.request, matched=False, verified={}, by=personas.admin,
                            at=datetime(2025, 7, 10, 9, tzinfo=TZ))
    return personas


def _by_code(rows):
    return {(r["data_element"], r["org_unit"], r["period"]): r["value"] for r in rows}


def test_shipped_indicators_have_targets():
    got = {i.code: (i.numerator, i.denominator, i.factor, i.decimals, i.target, i.builtin)
           for i in Indicator.objects.filter(code__in=RATES)}
    assert got == {
        "EXCH_SUBMISSION_RATE": ("#{EXCH_RECORDS_SUBMITTED}", "#{EXCH_RECORDS_DUE}", 100, 1, 70.0, True),
        "EXCH_FEEDBACK_RATE": ("#{EXCH_REQUESTS_ANSWERED}", "#{EXCH_REQUESTS_RECEIVED}", 100, 1, 80.0, True),
        "EXCH_TIMELINESS": ("#{EXCH_ANSWERS_ON_TIME}", "#{EXCH_ANSWERS_GIVEN}", 100, 1, 90.0, True),
    }


def test_values_equal_the_exchange_rates(exchange):
    periods = ["202505", "202506", "202507", "2025Q2", "2025S1", "2025", "FP2025"]
    rows = _by_code(stats.values([*RATES, "EXCH_RECORDS_DUE", "EXCH_ANSWERS_GIVEN"], [CA, CB], periods))
    for county, unit in ((A, CA), (B, CB)):
        for p in periods:
            figures = selectors.rates(county, p)
            for code, name in RATES.items():
                assert rows.get((code, unit, p)) == figures[name], (code, unit, p)
            assert rows[("EXCH_RECORDS_DUE", unit, p)] == figures["records_due"]
            assert rows[("EXCH_ANSWERS_GIVEN", unit, p)] == figures["answers_given"]
    # by hand: B's three records were due in May, two submitted → 66.7 %; A received 2 requests in June,
    # both answered; in 2025 one of two answers on time → 50 %
    assert rows[("EXCH_SUBMISSION_RATE", CB, "202505")] == 66.7
    assert ("EXCH_SUBMISSION_RATE", CB, "202504") not in rows  # nothing due: no value
    assert rows[("EXCH_FEEDBACK_RATE", CA, "202506")] == 100.0
    assert rows[("EXCH_TIMELINESS", CA, "2025")] == 50.0
    assert rows[("EXCH_TIMELINESS", CA, "202507")] == 0.0
    # a township has no exchange of its own
    assert stats.values(["EXCH_TIMELINESS"], ["500230001000"], ["2025"]) == []
    assert {r["value"] for r in stats.values(["EXCH_ANSWERS_GIVEN"], ["500230001000"], ["2025"])} == {0}


def test_api_elements_values_and_targets(exchange):
    api = V1(exchange.statistician)
    elements = {e["code"]: e for e in api.get("/stats/elements").json()}
    assert elements["EXCH_RECORDS_DUE"]["kind"] == "contributed"
    assert elements["EXCH_RECORDS_DUE"]["name_zh"] == "流动人口婚育信息应报送数"
    r = api.get("/stats/values", {"elements": "EXCH_TIMELINESS,EXCH_ANSWERS_ON_TIME", "units": CA,
                                         "periods": "2025"})
    assert r.status_code == 200
    assert sorted((v["data_element"], v["value"]) for v in r.json()) == [
        ("EXCH_ANSWERS_ON_TIME", 1), ("EXCH_TIMELINESS", 50.0)]
    r = api.get("/stats/indicator-values", {"unit": CA, "period": "2025",
                                                   "indicators": "EXCH_FEEDBACK_RATE,EXCH_TIMELINESS"})
    assert r.status_code == 200
    got = {v["code"]: (v["value"], v["numerator"], v["denominator"], v["target"], v["target_met"]) for v in r.json()}
    assert got == {"EXCH_FEEDBACK_RATE": (100.0, 2, 2, 80.0, True), "EXCH_TIMELINESS": (50.0, 1, 2, 90.0, False)}
    r = api.get("/stats/indicator-values", {"unit": CA, "period": "2024"})
    by = {v["code"]: v for v in r.json()}
    assert by["EXCH_TIMELINESS"]["value"] is None and by["EXCH_TIMELINESS"]["target_met"] is None
    assert "CBR" in by
    bad = api.get("/stats/indicator-values", {"unit": CA, "period": "2025", "indicators": "NOPE"})
    assert bad.status_code == 422 and "NOPE" in bad.content.decode()


def test_indicator_target_can_be_changed_through_the_api(exchange):
    api = V1(exchange.statistician)
    r = api.put("/stats/indicators/EXCH_TIMELINESS", {"target": 40, "target_is_minimum": True})
    assert r.status_code == 200 and r.json()["target"] == 40.0
    r = api.get("/stats/indicator-values", {"unit": CA, "period": "2025", "indicators": "EXCH_TIMELINESS"})
    assert r.json()[0]["target_met"] is True
    r = api.post("/stats/indicators", {"code": "LATE_MAX", "name_zh": "迟报上限", "name_en": "Late max",
                                              "numerator": "#{EXCH_ANSWERS_GIVEN} - #{EXCH_ANSWERS_ON_TIME}",
                                              "decimals": 0, "target": 0, "target_is_minimum": False})
    assert r.status_code == 201, r.content
    r = api.get("/stats/indicator-values", {"unit": CA, "period": "2025", "indicators": "LATE_MAX"})
    assert (r.json()[0]["value"], r.json()[0]["target_met"]) == (1, False)
    r = api.put("/stats/indicators/LATE_MAX", {"target": None})
    assert r.status_code == 200 and r.json()["target"] is None and r.json()["target_is_minimum"] is False
    r = api.get("/stats/indicator-values", {"unit": CA, "period": "2025", "indicators": "LATE_MAX"})
    assert r.json()[0]["target_met"] is None


def test_indicator_page_shows_values_against_targets(exchange):
    page = client_for(exchange.statistician).get("/stats/indicators/", {"unit": CA, "period": "2025"})
    assert page.status_code == 200
    html = page.content.decode()
    row = html[html.index('data-code="EXCH_TIMELINESS"'):]
    row = row[: row.index("</tr>")]
    assert "50.0%" in row and "≥ 90%" in row and 'data-met="no"' in row
    row = html[html.index('data-code="EXCH_FEEDBACK_RATE"'):]
    assert 'data-met="yes"' in row[: row.index("</tr>")]


def test_cli_prints_the_indicators(exchange):
    out = StringIO()
    call_command("stats", "indicators", "--unit", CB, "--period", "202505", "--json", stdout=out)
    rows = {r["code"]: r for r in json.loads(out.getvalue())}
    assert (rows["EXCH_SUBMISSION_RATE"]["value"], rows["EXCH_SUBMISSION_RATE"]["target_met"]) == (66.7, False)
    out = StringIO()
    call_command("stats", "indicators", "--unit", CB, "--period", "202505", stdout=out)
    line = next(li for li in out.getvalue().splitlines() if "EXCH_SUBMISSION_RATE" in li)
    assert "66.7%" in line and "NOT met" in line


def test_exports_carry_the_rates(exchange):
    api = V1(exchange.statistician)
    body = api.get("/datasets/export/dhis2", {"unit": CA, "start": "2025",
                                                      "elements": "EXCH_TIMELINESS,EXCH_RECORDS_DUE"}).json()
    got = {(v["dataElement"], v["orgUnit"], v["period"]): v["value"] for v in body["dataValues"]}
    assert got[("EXCH_TIMELINESS", CA, "2025")] == "50"
    assert got[("EXCH_TIMELINESS", CA, "202506")] == "100"
    assert got[("EXCH_RECORDS_DUE", f"{A}001000", "2025")] == "0"
    adx = api.get("/datasets/export/adx", {"unit": CA, "start": "2025", "elements": "EXCH_TIMELINESS"})
    assert adx.status_code == 200 and 'dataElement="EXCH_TIMELINESS"' in adx.content.decode()


def test_a_published_period_freezes_the_rates(exchange):
    api = V1(exchange.statistician)
    assert api.post("/stats/periods/2025/publish").status_code == 201
    # a late answer after publication: the frozen figures do not move, the changes page shows it
    services.verify_request_send(county_code=B, to_county=A, name="李梅", sex="2", birth_date=date(1995, 5, 5),
                                 sender_role="destination", by=None, at=datetime(2025, 12, 2, 9, tzinfo=TZ))
    _deliver(A, B, datetime(2025, 12, 3, 9, tzinfo=TZ))
    assert selectors.rates(A, "2025")["answers_given"] == 3
    assert _by_code(stats.values(["EXCH_ANSWERS_GIVEN"], [CA], ["2025"]))[("EXCH_ANSWERS_GIVEN", CA, "2025")] == 2
    changes = api.get("/stats/periods/2025/changes", {"unit": CA}).json()
    assert {"data_element": "EXCH_ANSWERS_GIVEN", "category_option_combo": "", "org_unit": CA, "period": "2025",
            "frozen": 2, "current": 3, "difference": 1} in changes


@pytest.mark.django_db(transaction=True)
def test_reference_data_restore_brings_the_exchange_indicators_back():
    from renkou import testing

    Indicator.objects.all().delete()
    testing.reference_data_restore()
    assert set(RATES) <= set(Indicator.objects.values_list("code", flat=True))
