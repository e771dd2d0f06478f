"""/api/v1/quality: figures per unit and child unit, the persons behind a figure, their export."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from renkou.accounts.models import AuditAction, AuditEntry
from renkou.quality.checks import CHECKS
from renkou.registry.idnumbers import mask
from renkou.registry.tests.test_api_base import Api
from renkou.testing import make_household, make_person


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.fixture
def findings(county):
    hh = make_household(county.dc_village1, "H1")
    make_person(county.dc_village1, name="有户", household=hh)
    return [make_person(county.dc_village1, name="无户甲", birth_date=date(1970, 1, 1)),
            make_person(county.dc_village2, name="无户乙"), make_person(county.xc_village1, name="无户丙")]


def test_figures_of_the_county_and_its_townships(api, personas, findings, county):
    body = api.as_(personas.viewer).get("/quality/figures").json()  # aggregate viewers see the counts
    assert body["unit"]["code"] == county.county.code
    checks = {c["key"]: c for c in body["checks"]}
    assert set(checks) == set(CHECKS)
    assert checks["no_household"]["count"] == 3 and checks["no_household"]["lists_persons"] is True
    assert checks["no_household"]["label"] == "无户人员"  # the API answers in Chinese by default
    children = {c["unit"]["code"]: c["counts"]["no_household"] for c in body["children"]}
    assert children == {county.dongcheng.code: 2, county.xicheng.code: 1, county.longhe.code: 0}
    assert body["direct"] is None


def test_drill_down_by_unit_code(api, personas, findings, county):
    body = api.as_(personas.dongcheng).get("/quality/figures", unit=county.dongcheng.code).json()
    assert {c["unit"]["name"]: c["counts"]["no_household"] for c in body["children"]} == {"第一社区": 1, "第二社区": 1}
    assert api.as_(personas.dongcheng).get("/quality/figures", unit=county.xicheng.code).status_code == 404
    assert api.as_(None).get("/quality/figures").status_code == 401


def test_records_of_a_check_masked_paged_and_audited(api, personas, findings, county):
    a = findings[0]
    response = api.as_(personas.dongcheng).get("/quality/checks/no_household/records", page_size=1)
    body = response.json()
    assert body["count"] == 2 and body["num_pages"] == 2 and body["has_next"] is True
    item = body["items"][0]
    assert item["name"] == "无户甲" and item["id_number_masked"] == mask(a.id_number)
    assert "id_number" not in item
    entry = AuditEntry.objects.get(action=AuditAction.SEARCH)
    assert entry.channel == "api" and entry.detail["shown"] == [a.pk]


def test_records_refusals(api, personas, findings, county):
    assert api.as_(personas.viewer).get("/quality/checks/no_household/records").status_code == 403
    assert api.as_(personas.admin).get("/quality/checks/no_such_check/records").status_code == 404
    assert api.as_(personas.xicheng).get("/quality/checks/no_household/records",
                                         unit=county.dc_village1.code).status_code == 404


def test_export_of_a_checks_records(api, personas, findings, county):
    response = api.as_(personas.admin).get("/quality/checks/no_household/export", unit=county.dongcheng.code)
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[2:]] == ["无户甲", "无户乙"]
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).detail["rows"] == 2
    assert api.as_(personas.viewer).get("/quality/checks/no_household/export").status_code == 403
    assert api.as_(personas.admin).get("/quality/checks/no_such_check/export").status_code == 404
