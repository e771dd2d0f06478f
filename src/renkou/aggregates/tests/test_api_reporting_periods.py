"""Reporting rate and reporting rate on time per period (DHIS2's definitions): API, page, and the totals they
add up to."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from renkou.aggregates.models import CompleteRegistration
from renkou.testing import client_for


class V1:
    def __init__(self, user):
        self.client = client_for(user)

    def get(self, path, params=None):
        return self.client.get("/api/v1" + path, params or {})

    def post(self, path):
        return self.client.post("/api/v1" + path)

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
COUNTY, DC, XC, LH = "500230000000", "500230001000", "500230002000", "500230101000"


@pytest.fixture
def completions(county, personas):
    """FAMSVC_M (monthly, townships 东城 西城 龙河, due 15 days) in 2025: 东城 completes January on 10 Feb (on time)
    and February on 20 Mar (late: due by 15 Mar); 西城 completes January on 15 Feb (the last day: on time).
    龙河 closes on 15 June: expected January–May only."""
    api = V1(personas.statistician)
    for unit, period, at in ((DC, "202501", datetime(2025, 2, 10, 9, tzinfo=TZ)),
                             (DC, "202502", datetime(2025, 3, 20, 9, tzinfo=TZ)),
                             (XC, "202501", datetime(2025, 2, 15, 23, 30, tzinfo=TZ))):
        r = api.post(f"/datasets/FAMSVC_M/complete?unit={unit}&period={period}")
        assert r.status_code == 200, r.content
        CompleteRegistration.objects.filter(unit__code=unit, period=period).update(completed_at=at)
    county.longhe.closed_on = date(2025, 6, 15)
    county.longhe.save()
    return api


def test_api_gives_each_period_and_the_total(completions):
    r = completions.get(f"/datasets/reporting/FAMSVC_M/periods?unit={COUNTY}&start=2025")
    assert r.status_code == 200
    rows = {s["unit"]: s for s in r.json()}
    assert list(rows) == [COUNTY, DC, XC, LH]
    county = rows[COUNTY]
    assert [p["period"] for p in county["periods"]] == [f"2025{m:02d}" for m in range(1, 13)]
    cells = {p["period"]: (p["expected"], p["actual"], p["on_time"], p["rate"], p["on_time_rate"])
             for p in county["periods"]}
    assert cells["202501"] == (3, 2, 2, 66.7, 66.7)
    assert cells["202502"] == (3, 1, 0, 33.3, 0.0)
    assert cells["202505"] == (3, 0, 0, 0.0, 0.0)
    assert cells["202506"] == (2, 0, 0, 0.0, 0.0)  # 龙河 not open for the whole of June
    assert county["total"] == {"period": "2025-2025", "expected": 5 * 3 + 7 * 2, "actual": 3, "on_time": 2,
                               "rate": 10.3, "on_time_rate": 6.9}
    assert [p["expected"] for p in rows[LH]["periods"]] == [1] * 5 + [0] * 7
    assert {p["period"]: p["rate"] for p in rows[DC]["periods"]}["202502"] == 100.0
    # the totals are the rows of the range endpoint
    whole = completions.get(f"/datasets/reporting/FAMSVC_M?unit={COUNTY}&start=2025").json()
    assert [(w["unit"], w["expected"], w["actual"], w["on_time"]) for w in whole] == [
        (s["unit"], s["total"]["expected"], s["total"]["actual"], s["total"]["on_time"]) for s in rows.values()]
    # a quarterly range of a monthly set: its three months
    q = completions.get(f"/datasets/reporting/FAMSVC_M/periods?unit={DC}&start=2025Q1").json()
    assert [(p["period"], p["actual"]) for p in q[0]["periods"]] == [("202501", 1), ("202502", 1), ("202503", 0)]


def test_api_checks_scope_and_periods(completions, personas):
    xc = V1(personas.xicheng)
    assert xc.get(f"/datasets/reporting/FAMSVC_M/periods?unit={COUNTY}&start=2025").status_code == 404
    mine = xc.get(f"/datasets/reporting/FAMSVC_M/periods?unit={XC}&start=202501&end=202502").json()
    assert [(p["period"], p["on_time_rate"]) for p in mine[0]["periods"]] == [("202501", 100.0), ("202502", 0.0)]
    bad = completions.get(f"/datasets/reporting/FAMSVC_M/periods?unit={COUNTY}&start=2025H1")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "start"
    assert completions.get(f"/datasets/reporting/NOPE/periods?unit={COUNTY}&start=2025").status_code == 404


def test_page_shows_the_table_by_period(completions):
    page = completions.client.get("/datasets/reporting/", {"data_set": "FAMSVC_M", "unit": COUNTY, "start": "2025",
                                                    "end": "2025"})
    assert page.status_code == 200
    html = page.content.decode()
    table = html[html.index('id="reporting-periods-table"'):]
    assert '<th class="num" scope="col">202512</th>' in table
    assert 'data-period="202501" title="expected 3, actual 2, on time 2">66.7 / 66.7</td>' in table \
        or 'data-period="202501" title="应报 3，实报 2，及时 2">66.7 / 66.7</td>' in table
    assert 'data-period="202502"' in table and "33.3 / 0.0" in table


def test_xlsx_has_a_sheet_by_period(completions):
    import io

    from openpyxl import load_workbook

    r = completions.client.get("/datasets/reporting/", {"data_set": "FAMSVC_M", "unit": COUNTY, "start": "2025",
                                                        "format": "xlsx"})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["报告率", "按时期"]
    rows = list(wb["按时期"].iter_rows(values_only=True))
    assert rows[0][:4] == ("单位代码", "单位", "时期", "应报数")
    assert len(rows) == 1 + 4 * 12
    assert rows[1] == (COUNTY, "青山县", "202501", 3, 2, 2, 66.7, 66.7)
    assert rows[2] == (COUNTY, "青山县", "202502", 3, 1, 0, 33.3, 0.0)
