"""Code mappings kept in the UI by the county administrator and statistician: list, add, change, delete, XLSX
download and upload (errors name the row and field; nothing half-written); used by the exports."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from renkou.accounts.models import AuditEntry
from renkou.aggregates.models import CodeMapping
from renkou.testing import client_for

pytestmark = pytest.mark.django_db
DC = "500230001000"


def _xlsx(rows) -> SimpleUploadedFile:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile("m.xlsx", buf.getvalue())


def _all():
    return sorted(CodeMapping.objects.values_list("system", "kind", "renkou_code", "external_id"))


def test_admin_adds_changes_and_deletes_a_mapping(personas):
    client = client_for(personas.admin)
    assert client.get("/datasets/mappings/").status_code == 200
    r = client.post("/datasets/mappings/new/", {"system": "dhis2-national", "kind": "element",
                                                "renkou_code": "PUBLICITY_EVENTS", "external_id": "dePub01"})
    assert r.status_code == 302 and r["Location"].endswith("?system=dhis2-national")
    r = client.post("/datasets/mappings/new/", {"system": "dhis2-national", "kind": "element",
                                                "renkou_code": "LIVE_BIRTHS", "external_id": "deBirths"})
    assert r.status_code == 302  # a register element of renkou.stats may be mapped too
    client.post("/datasets/mappings/new/", {"system": "dhis2-national", "kind": "unit", "renkou_code": DC,
                                            "external_id": "ouDC"})
    client.post("/datasets/mappings/new/", {"system": "dhis2-national", "kind": "coc", "renkou_code": "",
                                            "external_id": "HllvX50cXC0"})
    assert _all() == [("dhis2-national", "coc", "", "HllvX50cXC0"), ("dhis2-national", "element", "LIVE_BIRTHS", "deBirths"),
                      ("dhis2-national", "element", "PUBLICITY_EVENTS", "dePub01"),
                      ("dhis2-national", "unit", DC, "ouDC")]
    page = client.get("/datasets/mappings/?system=dhis2-national").content.decode()
    assert "dePub01" in page and 'id="new-mapping"' in page
    pk = CodeMapping.objects.get(external_id="dePub01").pk
    r = client.post(f"/datasets/mappings/{pk}/", {"system": "dhis2-national", "kind": "element",
                                                  "renkou_code": "PUBLICITY_EVENTS", "external_id": "dePub02"})
    assert r.status_code == 302
    assert CodeMapping.objects.get(pk=pk).external_id == "dePub02"
    # the export uses it
    body = client_for(personas.statistician).get(
        f"/api/v1/datasets/export/dhis2?unit={DC}&start=2025&elements=LIVE_BIRTHS&system=dhis2-national").json()
    assert {v["dataElement"] for v in body["dataValues"]} == {"deBirths"}
    assert client.get(f"/datasets/mappings/{pk}/delete/").status_code == 200
    assert client.post(f"/datasets/mappings/{pk}/delete/").status_code == 302
    assert not CodeMapping.objects.filter(pk=pk).exists()
    assert list(AuditEntry.objects.filter(object_type="code_mapping").values_list("action", flat=True)
                .order_by("id")) == ["create"] * 4 + ["update", "delete"]
    assert client.get(f"/datasets/mappings/{pk}/").status_code == 404


def test_errors_name_the_field(personas):
    client = client_for(personas.statistician)
    CodeMapping.objects.create(system="moh", kind="element", renkou_code="PUBLICITY_EVENTS", external_id="x1")
    cases = [
        ({"system": "moh", "kind": "element", "renkou_code": "NOPE", "external_id": "x2"}, "renkou_code", "NOPE"),
        ({"system": "moh", "kind": "unit", "renkou_code": "999999999999", "external_id": "x2"}, "renkou_code",
         "999999999999"),
        ({"system": "moh", "kind": "element", "renkou_code": "PUBLICITY_EVENTS", "external_id": "x9"},
         "renkou_code", "PUBLICITY_EVENTS"),
        ({"system": "moh", "kind": "element", "renkou_code": "CONSULTATIONS", "external_id": "x1"}, "external_id",
         "x1"),
        ({"system": "m o h", "kind": "element", "renkou_code": "CONSULTATIONS", "external_id": "x3"}, "system", ""),
    ]
    for data, field, word in cases:
        r = client.post("/datasets/mappings/new/", data)
        assert r.status_code == 422, data
        html = r.content.decode()
        errors = html[html.index(f'id="id_{field}_errors"'):][:400]
        assert word in errors, (field, errors)
    assert CodeMapping.objects.count() == 1


def test_only_the_county_admin_and_statistician_edit(personas):
    m = CodeMapping.objects.create(system="moh", kind="element", renkou_code="PUBLICITY_EVENTS", external_id="x1")
    officer = client_for(personas.dongcheng)
    page = officer.get("/datasets/mappings/")
    assert page.status_code == 200 and "x1" in page.content.decode() and 'id="new-mapping"' not in page.content.decode()
    assert officer.get("/datasets/mappings/new/").status_code == 403
    assert officer.post(f"/datasets/mappings/{m.pk}/delete/").status_code == 403
    assert officer.post("/datasets/mappings/", {"file": _xlsx([["system"]])}).status_code == 403
    assert CodeMapping.objects.count() == 1


def test_xlsx_download_and_upload(personas):
    client = client_for(personas.admin)
    CodeMapping.objects.create(system="moh", kind="element", renkou_code="PUBLICITY_EVENTS", external_id="e1")
    CodeMapping.objects.create(system="moh", kind="element", renkou_code="CONSULTATIONS", external_id="e2")
    CodeMapping.objects.create(system="other", kind="unit", renkou_code=DC, external_id="u1")
    r = client.get("/datasets/mappings/?system=moh&format=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows == [("system", "kind", "renkou_code", "external_id"), ("moh", "element", "CONSULTATIONS", "e2"),
                    ("moh", "element", "PUBLICITY_EVENTS", "e1")]
    # swap the two ids, add one: a dry run counts, then the upload writes
    upload = [["kind", "system", "renkou_code", "external_id"], ["element", "moh", "CONSULTATIONS", "e1"],
              ["element", "moh", "PUBLICITY_EVENTS", "e2"], ["unit", "moh", DC, "u9"], [None, None, None, None]]
    dry = client.post("/datasets/mappings/", {"file": _xlsx(upload), "dry_run": "on"})
    assert dry.status_code == 200
    assert "2" in dry.content.decode()[dry.content.decode().index('id="mapping-import-result"'):][:200]
    assert CodeMapping.objects.get(renkou_code="CONSULTATIONS").external_id == "e2"
    r = client.post("/datasets/mappings/", {"file": _xlsx(upload)})
    assert r.status_code == 302
    assert _all() == [("moh", "element", "CONSULTATIONS", "e1"), ("moh", "element", "PUBLICITY_EVENTS", "e2"),
                      ("moh", "unit", DC, "u9"), ("other", "unit", DC, "u1")]
    # a wrong row: nothing written, the row and field named
    bad = [["system", "kind", "renkou_code", "external_id"], ["moh", "element", "CONSULTATIONS", "e7"],
           ["moh", "thing", "X", "e8"], ["moh", "element", "NOPE", ""]]
    r = client.post("/datasets/mappings/", {"file": _xlsx(bad)})
    assert r.status_code == 422
    html = r.content.decode()
    for text in ("row 3", "kind", "row 4", "renkou_code", "external_id"):
        assert text in html or {"row 3": "第3行", "row 4": "第4行"}.get(text, "\0") in html, text
    assert CodeMapping.objects.get(renkou_code="CONSULTATIONS").external_id == "e1"
    r = client.post("/datasets/mappings/", {"file": SimpleUploadedFile("m.xlsx", b"not a workbook")})
    assert r.status_code == 422
    r = client.post("/datasets/mappings/", {"file": _xlsx([["system", "kind"]])})
    assert r.status_code == 422 and "renkou_code" in r.content.decode()
