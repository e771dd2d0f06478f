"""Importing IHE ADX: dry run, summary (imported, updated, ignored, conflicts), values stored, code mappings,
completion, atomic; through the API, the exchange page and the CLI; and export → import round trips."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkou.accounts.models import AuditEntry
from renkou.aggregates import formats
from renkou.aggregates.models import CodeMapping, CompleteRegistration, DataValue
from renkou.testing import client_for

pytestmark = pytest.mark.django_db
DC, XC = "500230001000", "500230002000"
NS = formats.ADX_NS


class V1:
    def __init__(self, user=None):
        self.client = client_for(user)

    def get(self, path):
        return self.client.get("/api/v1" + path)

    def post(self, path, data=None, content_type="application/xml"):
        return self.client.post("/api/v1" + path, data=data, content_type=content_type)

    def put(self, path, body):
        return self.client.put("/api/v1" + path, json.dumps(body), content_type="application/json")

    def delete(self, path):
        return self.client.delete("/api/v1" + path)


def adx(*groups: str, data_set: str = "FAMSVC_M", complete: str = "") -> str:
    attrs = (f' dataSet="{data_set}"' if data_set else "") + (f' completeDate="{complete}"' if complete else "")
    return (f'<?xml version="1.0" encoding="UTF-8"?><adx xmlns="{NS}" exported="2025-03-01T10:00:00">'
            + "".join(g.replace("<group ", f"<group{attrs} ") for g in groups) + "</adx>")


JANUARY = (f'<group orgUnit="{DC}" period="2025-01-01/P1M">'
           '<dataValue dataElement="PUBLICITY_EVENTS" value="3"/>'
           '<dataValue dataElement="CONSULTATIONS" categoryOptionCombo="MALE" value="12"/>'
           '<dataValue dataElement="CONSULTATIONS" categoryOptionCombo="FEMALE" value="30"/></group>')


def _stored():
    return {(v.element.code, v.category_option_combo, v.unit.code, v.period): v.value
            for v in DataValue.objects.select_related("element", "unit")}


def test_dry_run_then_import_then_again(personas):
    api = V1(personas.dongcheng)
    dry = api.post("/datasets/import/adx?dry_run=true", adx(JANUARY))
    assert dry.status_code == 200, dry.content
    assert dry.json() == {"status": "SUCCESS", "dryRun": True, "conflicts": [],
                          "importCount": {"imported": 3, "updated": 0, "ignored": 0, "deleted": 0}}
    assert not DataValue.objects.exists()
    done = api.post("/datasets/import/adx", adx(JANUARY)).json()
    assert (done["dryRun"], done["importCount"]["imported"]) == (False, 3)
    assert _stored() == {("PUBLICITY_EVENTS", "", DC, "202501"): "3", ("CONSULTATIONS", "MALE", DC, "202501"): "12",
                         ("CONSULTATIONS", "FEMALE", DC, "202501"): "30"}
    assert AuditEntry.objects.filter(object_type="datavalues", object_id="adx-import").count() == 1
    again = api.post("/datasets/import/adx", adx(JANUARY)).json()
    assert again["importCount"] == {"imported": 0, "updated": 0, "ignored": 3, "deleted": 0}
    changed = api.post("/datasets/import/adx", adx(JANUARY.replace('value="3"', 'value="5"'))).json()
    assert changed["importCount"] == {"imported": 0, "updated": 1, "ignored": 2, "deleted": 0}
    assert _stored()[("PUBLICITY_EVENTS", "", DC, "202501")] == "5"
    form = client_for(personas.dongcheng).get(f"/api/v1/datasets/FAMSVC_M/values?unit={DC}&period=202501").json()
    assert form["values"]["PUBLICITY_EVENTS"] == "5"


def test_conflicts_are_listed_and_the_rest_is_written(personas):
    api = V1(personas.dongcheng)
    doc = adx(JANUARY, f'<group orgUnit="{DC}" period="2025-02-01/P1M">'
                       '<dataValue dataElement="NOPE" value="1"/>'
                       '<dataValue dataElement="PUBLICITY_EVENTS" value="abc"/>'
                       '<dataValue dataElement="PUBLICITY_EVENTS" value="-2"/>'
                       '<dataValue dataElement="REWARD_PERSONS" value="4"/>'
                       '<dataValue dataElement="CONSULTATIONS" categoryOptionCombo="DEATH" value="4"/></group>',
              f'<group orgUnit="{XC}" period="2025-02-01/P1M"><dataValue dataElement="PUBLICITY_EVENTS" value="1"/>'
              '</group>',
              f'<group orgUnit="{DC}" period="2025-02-01/P2M"><dataValue dataElement="PUBLICITY_EVENTS" value="1"/>'
              '</group>')
    atomic = api.post("/datasets/import/adx?atomic=true", doc).json()
    assert atomic["status"] == "ERROR" and atomic["dryRun"] is True and not DataValue.objects.exists()
    summary = api.post("/datasets/import/adx", doc).json()
    assert summary["status"] == "WARNING"
    assert summary["importCount"] == {"imported": 3, "updated": 0, "ignored": 7, "deleted": 0}
    by_index = {c["index"]: c for c in summary["conflicts"]}
    assert sorted(by_index) == [3, 4, 5, 6, 7, 8, 9]
    assert by_index[3]["object"] == "NOPE" and "NOPE" in by_index[3]["value"]
    assert "not a number" in by_index[4]["value"]
    assert by_index[5]["object"] == "PUBLICITY_EVENTS"
    assert "FAMSVC_M" in by_index[6]["value"]  # REWARD_PERSONS is not in the data set
    assert "DEATH" in by_index[7]["value"]
    assert XC in by_index[8]["value"]  # outside the officer's area
    assert "P2M" in by_index[9]["value"]
    assert len(_stored()) == 3


def test_documents_that_are_not_adx_are_refused(personas):
    api = V1(personas.dongcheng)
    for body, words in (("<adx", "XML"), ('<dataValueSet xmlns="x"/>', "root"), ("{}", "XML")):
        r = api.post("/datasets/import/adx", body)
        assert r.status_code == 422, body
        err = r.json()["errors"][0]
        assert err["field"] == "file" and words in err["message"]
    mixed = adx(JANUARY, data_set="").replace("<group ", '<group dataSet="A" ', 1)
    mixed = mixed.replace("</adx>", f'<group dataSet="B" orgUnit="{DC}" period="2025-01-01/P1M"/></adx>')
    r = api.post("/datasets/import/adx", mixed)
    assert r.status_code == 422 and "different data sets" in r.json()["errors"][0]["message"]
    assert V1(personas.viewer).post("/datasets/import/adx", adx(JANUARY)).status_code == 403
    assert V1().post("/datasets/import/adx", adx(JANUARY)).status_code == 401


def test_mappings_and_completion(personas):
    for kind, code, ext in (("element", "PUBLICITY_EVENTS", "dePub"), ("unit", DC, "ouDC"), ("coc", "MALE", "cocM"),
                            ("data_set", "FAMSVC_M", "dsFam")):
        CodeMapping.objects.create(system="dhis2-national", kind=kind, renkou_code=code, external_id=ext)
    doc = adx('<group orgUnit="ouDC" period="2025-03-01/P1M"><dataValue dataElement="dePub" value="7"/>'
              '<dataValue dataElement="CONSULTATIONS" categoryOptionCombo="cocM" value="2"/></group>',
              data_set="dsFam", complete="2025-04-03")
    summary = V1(personas.dongcheng).post("/datasets/import/adx?system=dhis2-national", doc).json()
    assert summary["importCount"]["imported"] == 2, summary
    assert _stored() == {("PUBLICITY_EVENTS", "", DC, "202503"): "7", ("CONSULTATIONS", "MALE", DC, "202503"): "2"}
    done = CompleteRegistration.objects.get(unit__code=DC, period="202503")
    assert done.data_set.code == "FAMSVC_M" and str(done.completed_at.date()) == "2025-04-03"


def test_export_then_import_round_trip(personas):
    api = V1(personas.dongcheng)
    api.post("/datasets/import/adx", adx(JANUARY))
    exported = api.get(f"/datasets/export/adx?unit={DC}&start=202501&data_set=FAMSVC_M").content
    DataValue.objects.all().delete()
    back = api.post("/datasets/import/adx", exported).json()
    assert back["importCount"]["imported"] == 3 and back["conflicts"] == []
    assert len(_stored()) == 3


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: f"<adx xmlns='{NS}'>{t}</adx>"))
def test_parser_never_fails_on_garbage_except_with_a_value_error(data):
    try:
        _ds, _complete, entries = formats.adx_parse_incoming(data)
    except ValueError:
        return
    assert all(isinstance(e.value, str) for e in entries)


def test_page_and_cli_import_adx(personas, tmp_path):
    client = client_for(personas.dongcheng)
    dry = client.post("/datasets/exchange/", {"file": SimpleUploadedFile("v.xml", adx(JANUARY).encode()),
                                              "dry_run": "1"})
    html = dry.content.decode()
    assert dry.status_code == 200 and '<span data-count="imported">3</span>' in html
    assert not DataValue.objects.exists()
    bad = client.post("/datasets/exchange/", {"file": SimpleUploadedFile("v.xml", b"<adx oops")})
    assert bad.status_code == 422
    path = tmp_path / "values.xml"
    path.write_text(adx(JANUARY), encoding="utf-8")
    out = StringIO()
    call_command("datasets", "import", str(path), "--user", "dongcheng", stdout=out)
    assert json.loads(out.getvalue())["importCount"]["imported"] == 3
    assert len(_stored()) == 3
    path.write_text(adx(JANUARY.replace(f'orgUnit="{DC}"', f'orgUnit="{XC}"')), encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("datasets", "import", str(path), "--user", "dongcheng", stdout=StringIO())


def test_mappings_through_the_api(personas):
    stat = V1(personas.statistician)
    body = {"system": "dhis2-national", "kind": "element", "renkou_code": "PUBLICITY_EVENTS", "external_id": "deP"}
    r = stat.post("/datasets/mappings", json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json() == {"id": pk, **body}
    again = stat.post("/datasets/mappings", json.dumps(body | {"external_id": "deQ"}), content_type="application/json")
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "renkou_code"
    unknown = stat.post("/datasets/mappings", json.dumps(body | {"renkou_code": "NOPE"}),
                        content_type="application/json")
    assert unknown.status_code == 422 and "NOPE" in unknown.json()["errors"][0]["message"]
    r = stat.put(f"/datasets/mappings/{pk}", body | {"external_id": "deR"})
    assert r.status_code == 200 and r.json()["external_id"] == "deR"
    assert [m["external_id"] for m in stat.get("/datasets/mappings?system=dhis2-national").json()] == ["deR"]
    assert stat.get("/datasets/mappings?system=other").json() == []
    officer = V1(personas.dongcheng)
    assert officer.get("/datasets/mappings").status_code == 200
    assert officer.delete(f"/datasets/mappings/{pk}").status_code == 403
    assert stat.delete(f"/datasets/mappings/{pk}").status_code == 204
    assert stat.delete(f"/datasets/mappings/{pk}").status_code == 404
    assert not CodeMapping.objects.exists()
