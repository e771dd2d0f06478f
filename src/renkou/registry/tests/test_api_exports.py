"""/api/v1/exports/{kind}: the lists as XLSX or CSV attachments, in scope, masked or revealed, audited."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from renkou.accounts.models import AuditAction, AuditEntry
from renkou.registry.idnumbers import mask
from renkou.registry.tests.test_api_base import Api, Register, assert_error, make_register


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.fixture
def register(county, personas) -> Register:
    return make_register(county, personas)


def _rows(response):
    return list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))


def test_export_persons_of_the_township_masked(api, personas, register):
    response = api.as_(personas.dongcheng).get("/exports/persons", include_dead="true")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["X-Export-Rows"] == "4"
    rows = _rows(response)
    names = {r[0] for r in rows[2:]}
    assert names == {"张伟", "李娜", "张小明", "王芳"} and "赵强" not in names
    zhang = next(r for r in rows[2:] if r[0] == "张伟")
    assert zhang[3] == mask(register.zhang_wei.id_number)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.channel == "api" and entry.detail["rows"] == 4 and entry.detail["id_numbers"] == "masked"


def test_export_csv_revealed_with_a_purpose(api, personas, register):
    response = api.as_(personas.admin).get("/exports/persons", format="csv", q="张伟", reveal="true",
                                           purpose="核对户籍")
    assert response["Content-Type"].startswith("text/csv")
    raw = b"".join(response.streaming_content)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert raw.startswith(b"\xef\xbb\xbf") and rows[1][3] == register.zhang_wei.id_number
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.purpose == "核对户籍" and entry.detail["id_numbers"] == "revealed"


def test_reveal_without_purpose_is_422_and_records_nothing(api, personas, register):
    assert_error(api.as_(personas.admin).get("/exports/persons", reveal="true"), 422, "purpose")
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_export_refusals(api, personas, register, county):
    assert api.as_(None).get("/exports/persons").status_code == 401
    assert api.as_(personas.viewer).get("/exports/persons").status_code == 403
    assert api.as_(personas.reporter).get("/exports/persons", reveal="true", purpose="核对").status_code == 403
    assert api.as_(personas.dongcheng).get("/exports/persons", unit=county.xc_village1.code).status_code == 404
    assert api.as_(personas.admin).get("/exports/people").status_code == 422
    assert_error(api.as_(personas.admin).get("/exports/events", period="FP20x"), 422, "period")
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_export_events_and_households(api, personas, register):
    events = _rows(api.as_(personas.dongcheng).get("/exports/events", event_kind="birth"))
    assert [r[2] for r in events[2:]] == ["张小明"]
    households = _rows(api.as_(personas.dongcheng).get("/exports/households"))
    assert [r[0] for r in households[2:]] == [register.household.number]
