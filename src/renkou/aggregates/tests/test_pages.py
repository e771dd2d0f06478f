"""The pages: data entry, reporting rates (with XLSX and CSV), violations, outliers."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from renkou.aggregates.models import CompleteRegistration, DataValue
from renkou.aggregates.selectors import data_set_get
from renkou.aggregates.services import values_save
from renkou.orgunits.periods import Period, PeriodType
from renkou.testing import client_for

pytestmark = pytest.mark.django_db


def test_entry_page_saves_shows_errors_and_completes(county, personas):
    client = client_for(personas.dongcheng)
    page = client.get("/datasets/?data_set=FAMSVC_M")
    assert page.status_code == 200
    text = page.content.decode()
    assert "东城街道" in text and "西城街道" not in text  # only the officer's own township to pick
    url = "/datasets/?data_set=FAMSVC_M&unit=500230001000&period=202502"
    form = client.get(url)
    assert 'name="CONSULTATIONS.MALE"' in form.content.decode()
    fields = {"data_set": "FAMSVC_M", "unit": "500230001000", "period": "202502", "PUBLICITY_EVENTS": "2",
              "CONSULTATIONS.MALE": "-3", "CONSULTATIONS.FEMALE": "5"}
    wrong = client.post(url, fields)
    assert wrong.status_code == 422
    assert "The value may not be negative." in wrong.content.decode()
    assert 'value="-3"' in wrong.content.decode() and not DataValue.objects.exists()
    saved = client.post(url, {**fields, "CONSULTATIONS.MALE": "3"}, follow=True)
    assert "Saved: 3 new, 0 changed, 0 removed." in saved.content.decode()
    assert DataValue.objects.count() == 3
    done = client.post(url, {**fields, "action": "complete"}, follow=True)
    assert "Not complete" not in done.content.decode() and CompleteRegistration.objects.count() == 1
    client.post(url, {**fields, "action": "uncomplete"})
    assert not CompleteRegistration.objects.exists()
    assert client.get("/datasets/?data_set=FAMSVC_M&unit=500230002000&period=202502").status_code == 404
    bad_period = client.get("/datasets/?data_set=FAMSVC_M&unit=500230001000&period=2025Q1")
    assert "not a period of type" in bad_period.content.decode()
    viewer = client_for(personas.viewer).get("/datasets/?data_set=FAMSVC_M")
    assert "your role enters no data" in viewer.content.decode()


def test_reporting_page_and_its_xlsx_and_csv(county, personas):
    this_month = Period.containing(PeriodType.MONTH, timezone.localdate())
    stat = client_for(personas.statistician)
    stat.post(f"/api/v1/datasets/FAMSVC_M/complete?unit=500230001000&period={this_month.code}")
    query = f"data_set=FAMSVC_M&unit=500230000000&start={this_month.code}"
    page = stat.get(f"/datasets/reporting/?{query}")
    assert page.status_code == 200 and "33.3" in page.content.decode()
    xlsx = stat.get(f"/datasets/reporting/?{query}&format=xlsx")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert "青山县" in ws["A1"].value and ws["A2"].value == "单位代码"
    assert [c.value for c in ws[3]] == ["500230000000", "青山县", 3, 1, 1, 33.3, 33.3]
    assert [c.value for c in ws[4]][:5] == ["500230001000", "东城街道", 1, 1, 1]
    assert ws.max_row == 6 and "A1:G1" in {str(r) for r in ws.merged_cells.ranges}
    csv = stat.get(f"/datasets/reporting/?{query}&format=csv").content.decode("utf-8-sig").splitlines()
    assert csv[0].startswith("单位代码,单位,应报数") and csv[1] == "500230000000,青山县,3,1,1,33.3,33.3"
    assert client_for(personas.xicheng).get(f"/datasets/reporting/?{query}").status_code == 404


def test_validation_and_outlier_pages(county, personas):
    ds = data_set_get(code="FAMSVC_M")
    for month, value in enumerate([4, 5, 4, 5, 4, 30], start=1):
        values_save(by=personas.dongcheng, data_set=ds, unit=county.dongcheng, period=f"2025{month:02d}",
                    entries={"PUBLICITY_EVENTS": value, "PREPREG_CHECKUPS": 3, "PREPREG_HIGH_RISK": 4 if month == 2
                             else 1})
    client = client_for(personas.dongcheng)
    page = client.get("/datasets/validation/?unit=500230001000&start=202501&end=202506").content.decode()
    assert "风险人群人数 ≤ 孕前检查人数" in page and "202502" in page and page.count("<tr>") >= 2
    assert "202503" not in page.split("violations-table")[1].split("</table>")[0]
    out = client.get("/datasets/outliers/?unit=500230001000&element=PUBLICITY_EVENTS&start=202501&end=202512")
    html = out.content.decode()
    assert out.status_code == 200 and 'class="outlier"' in html and "1 outlier" in html
    assert client.get("/datasets/outliers/?unit=500230002000").status_code == 404


def test_exchange_page_exports_and_imports_with_a_dry_run(county, personas):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    from renkou.accounts.models import AuditEntry

    values_save(by=personas.dongcheng, data_set=data_set_get(code="FAMSVC_M"), unit=county.dongcheng,
                period="202501", entries={"PUBLICITY_EVENTS": "3"})
    client = client_for(personas.dongcheng)
    assert client.get("/datasets/exchange/").status_code == 200
    exported = client.get("/datasets/exchange/?format=dhis2&unit=500230001000&start=202501&end=202503")
    assert exported["Content-Disposition"] == 'attachment; filename="values-500230001000-202501-202503.json"'
    body = json.loads(exported.content)
    assert body["dataValues"] == [{"dataElement": "PUBLICITY_EVENTS", "period": "202501", "orgUnit": "500230001000",
                                   "value": "3", "categoryOptionCombo": "HllvX50cXC0"}]
    adx = client.get("/datasets/exchange/?format=adx&unit=500230001000&start=202501")
    assert adx["Content-Type"] == "application/xml" and b"2025-01-01/P1M" in adx.content
    assert AuditEntry.objects.filter(action="export", object_type="datavalues").count() == 2
    assert client.get("/datasets/exchange/?format=adx&unit=500230002000&start=2025").status_code == 404

    body["dataValues"][0]["value"] = "5"
    body["dataValues"].append({"dataElement": "FOLIC_ACID", "period": "202501", "orgUnit": "500230002000",
                               "value": "1"})
    upload = SimpleUploadedFile("v.json", json.dumps(body).encode(), content_type="application/json")
    dry = client.post("/datasets/exchange/", {"file": upload, "dry_run": "1"}).content.decode()
    assert 'data-count="updated">1<' in dry and "outside your area" in dry and "dry run, nothing written" in dry
    assert DataValue.objects.get().value == "3"
    upload = SimpleUploadedFile("v.json", json.dumps(body).encode(), content_type="application/json")
    client.post("/datasets/exchange/", {"file": upload})
    assert DataValue.objects.get().value == "5"
    broken = client.post("/datasets/exchange/", {"file": SimpleUploadedFile("v.json", b"{oops")})
    assert broken.status_code == 422 and "The file is not JSON" in broken.content.decode()
