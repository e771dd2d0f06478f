"""The statistics pages: dashboard, downloads (opened with openpyxl and LibreOffice), indicator forms,
publication and the changes of a published period."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from renkou.stats.models import Indicator
from renkou.testing import client_for

C = "500230000000"


def test_dashboard_shows_the_form_and_chart_data(small_register, personas):
    r = client_for(personas.viewer).get("/stats/", {"unit": C, "period": "2024", "form": "pop_births"})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="report-table"' in html and 'data-code="500230001000"' in html
    row = html.split(f'data-code="{C}"')[1].split("</tr>")[0]
    assert "<td class=\"num\">9</td>" in row  # population at the end
    assert 'id="trend-data"' in html and 'id="compare-data"' in html and 'id="pyramid-data"' in html


def test_dashboard_outside_the_area_is_404(small_register, personas):
    assert client_for(personas.dongcheng).get("/stats/", {"unit": C, "period": "2024"}).status_code == 404
    assert client_for(personas.dongcheng).get("/stats/", {"period": "2024"}).status_code == 200
    assert client_for().get("/stats/").status_code == 302


def test_xlsx_download_looks_like_the_paper_form(small_register, personas):
    r = client_for(personas.statistician).get("/stats/report/pop_births.xlsx", {"unit": C, "period": "2024"})
    assert r.status_code == 200 and "pop_births-500230000000-2024.xlsx" in r["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert {"A1:K1", "A2:K2", "A3:A4", "B3:D3", "F3:I3", "E3:E4"} <= merged
    assert "青山县" in ws["A2"].value and "2024-01-01" in ws["A2"].value
    assert ws["A5"].value == "Total" and ws["B5"].value == 9 and ws["C5"].value == 3 and ws["D5"].value == 6
    assert ws["B5"].number_format == "#,##0"
    assert [ws.cell(row=r, column=1).value for r in (6, 7, 8)] == ["东城街道", "西城街道", "龙河镇"]
    assert ws.cell(row=5, column=10).value == 1  # births of earlier periods reported late


def _soffice():
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is missing: apt-get install -y libreoffice-calc-nogui")
        pytest.skip("LibreOffice is not installed (apt-get install -y libreoffice-calc-nogui)")
    return exe


def test_libreoffice_opens_the_xlsx_with_the_same_values(small_register, tmp_path, personas):
    exe = _soffice()
    r = client_for(personas.statistician).get("/stats/report/vital_rates.xlsx", {"unit": C, "period": "2024"})
    path = tmp_path / "vital.xlsx"
    path.write_bytes(r.content)
    subprocess.run([exe, f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=120)
    rows = list(csv.reader((tmp_path / "vital.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0][0] == "Vital rates"
    total = rows[4]
    assert total[0] == "Total"
    assert total[1:4] == ["8.5", "2", "1"]  # mean population, live births, deaths
    assert total[4] == "235.29" and total[8] == "4.000"  # CBR, TFR as formatted


def test_csv_download(small_register, personas):
    r = client_for(personas.viewer).get("/stats/report/births_order_sex.csv", {"unit": C, "period": "2024"})
    rows = list(csv.reader(r.content.decode("utf-8-sig").splitlines()))
    assert rows[1][:5] == ["First child", "O1", "0", "1", "1"]
    assert rows[-1][:5] == ["Total", "TOTAL", "1", "1", "2"]


def test_statistician_adds_an_indicator_in_the_form(small_register, personas):
    client = client_for(personas.statistician)
    assert client.get("/stats/indicators/new/").status_code == 200
    body = {"code": "girls", "name_zh": "女婴数", "name_en": "Girls", "numerator": "#{LIVE_BIRTHS.GIRL}",
            "denominator": "1", "factor": "1", "decimals": "0", "unit_label": "人", "interval": ""}
    r = client.post("/stats/indicators/new/", body)
    assert r.status_code == 200 and "has no category option combo “GIRL”" in r.content.decode()
    body["numerator"] = "#{LIVE_BIRTHS.FEMALE}"
    r = client.post("/stats/indicators/new/", body)
    assert r.status_code == 302
    assert Indicator.objects.get(code="GIRLS").numerator == "#{LIVE_BIRTHS.FEMALE}"
    r = client.post("/stats/indicators/GIRLS/", {**body, "decimals": "2"})
    assert r.status_code == 302 and Indicator.objects.get(code="GIRLS").decimals == 2
    assert "GIRLS" in client.get("/stats/indicators/").content.decode()


def test_indicator_forms_refuse_other_roles(personas):
    assert client_for(personas.viewer).get("/stats/indicators/new/").status_code == 403
    assert client_for(personas.dongcheng).get("/stats/indicators/CBR/").status_code == 403
    assert client_for(personas.viewer).get("/stats/indicators/").status_code == 200


def test_publish_page_and_changes(small_register, personas):
    from datetime import date

    from renkou.registry.services import events as ev

    client = client_for(personas.statistician)
    r = client.post("/stats/publish/", {"period": "2024"})
    assert r.status_code == 302
    assert "2024" in client.get("/stats/publish/").content.decode()
    assert 'id="no-changes"' in client.get("/stats/publish/2024/changes/").content.decode()
    ev.death_register(by=personas.admin, person=small_register.m1, died_on=date(2024, 11, 1))
    html = client.get("/stats/publish/2024/changes/").content.decode()
    assert 'id="changes-table"' in html and "DEATHS" in html
    assert client.post("/stats/publish/", {"period": "2024"}).status_code == 200  # already published: error
    assert client_for(personas.viewer).post("/stats/publish/", {"period": "2023"}).status_code == 403
    assert client.get("/stats/publish/2019/changes/").status_code == 404
    assert 'id="published-badge"' in client.get("/stats/", {"unit": C, "period": "2024"}).content.decode()
