"""The import routes: upload (multipart), status, list, report and template downloads; roles and scope."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from renkou.intake.tests.helpers import csv_bytes
from renkou.registry.models import Person
from renkou.testing import client_for as _client_for
from renkou.testing import id_number_for


class _Api:
    """A test client whose paths are relative to /api/v1 (as in the other modules' API tests)."""

    def __init__(self, user=None) -> None:
        self.client = _client_for(user)

    def get(self, path: str, **params):
        return self.client.get("/api/v1" + path, params)

    def post(self, path: str, data: dict):
        return self.client.post("/api/v1" + path, data)


def client_for(user=None) -> _Api:
    return _Api(user)


def _upload(client, rows, name="people.csv", **data):
    f = io.BytesIO(csv_bytes(rows, encoding="gbk"))
    f.name = name
    return client.post("/imports", {"file": f, "kind": "persons", **data})


def _row(name, born=date(1990, 5, 6), village="500230001001"):
    return [name, id_number_for(born, "1"), "男", born.isoformat(), "汉族", "未婚", village, village, "", ""]


def test_upload_imports_and_answers_the_outcome(personas):
    client = client_for(personas.dongcheng)
    response = _upload(client, [_row("李四"), _row("王五", date(1991, 1, 1))])
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["created"], body["total"], body["file_name"]) == ("done", 2, 2, "people.csv")
    assert body["progress"]["done"] == 2 and body["has_report"] is False
    assert Person.objects.count() == 2


def test_a_rejected_row_is_reported_with_its_message_and_the_report_downloads(personas):
    client = client_for(personas.dongcheng)
    bad = _row("坏")
    bad[3] = "2008-02-30"
    body = _upload(client, [_row("李四"), bad], dry_run="true").json()
    assert (body["status"], body["created"], body["rejected"]) == ("checked", 1, 1)
    run_id = body["id"]
    problem = body["problems"][0]
    assert problem["row"] == 3 and problem["messages"][0]["column"] == "出生日期"
    assert problem["messages"][0]["code"] == "date_impossible"
    response = client.get(f"/imports/{run_id}/report")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert sheet["A2"].value == "坏" and sheet.cell(2, sheet.max_column).value.startswith("出生日期")
    assert Person.objects.count() == 0


def test_partial_flag(personas):
    bad = _row("坏")
    bad[3] = "2008-02-30"
    body = _upload(client_for(personas.dongcheng), [_row("李四"), bad], partial="true").json()
    assert (body["status"], body["created"], body["rejected"]) == ("done", 1, 1)
    assert Person.objects.count() == 1


def test_status_and_list_are_scoped_to_the_area(personas):
    east = client_for(personas.dongcheng)
    body = _upload(east, [_row("李四")]).json()
    run_id = body["id"]
    got = east.get(f"/imports/{run_id}").json()
    assert got["id"] == body["id"] and got["sha256"] == body["sha256"]
    assert [r["id"] for r in east.get("/imports").json()] == [body["id"]]
    assert [r["id"] for r in client_for(personas.admin).get("/imports").json()] == [body["id"]]
    west = client_for(personas.xicheng)
    assert west.get("/imports").json() == []
    assert west.get(f"/imports/{run_id}").status_code == 404
    assert west.get(f"/imports/{run_id}/report").status_code == 404
    assert east.get(f"/imports/{run_id}/report").status_code == 404  # no rejected rows: no report


def test_roles_without_write_access_are_refused(personas):
    for user in (personas.viewer, personas.statistician):
        client = client_for(user)
        assert _upload(client, [_row("李四")]).status_code == 403
        assert client.get("/imports").status_code == 403
        assert client.get("/imports/templates/persons").status_code == 403
    assert client_for().get("/imports").status_code == 401
    assert not Person.objects.exists()


def test_the_template_downloads(personas):
    response = client_for(personas.reporter).get("/imports/templates/persons")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book["导入模板"]["A1"].value == "姓名*"
    assert client_for(personas.reporter).get("/imports/templates/martians").status_code == 422


def test_an_unreadable_file_fails_with_a_message(personas):
    f = io.BytesIO(b"PK\x03\x04broken")
    f.name = "x.xlsx"
    body = client_for(personas.dongcheng).post("/imports", {"file": f, "kind": "persons"}).json()
    assert body["status"] == "failed" and "xlsx" in body["message"]


def test_messages_mask_id_numbers(personas):
    number = id_number_for(date(1990, 5, 6), "1")
    row = _row("李四")
    row[1] = number[:17] + ("0" if number[17] != "0" else "1")  # checksum warning, not confirmed
    body = _upload(client_for(personas.dongcheng), [row, _row("重复")]).json()
    text = str(body["problems"])
    assert row[1] not in text


def test_confirm_flag_confirms_the_warnings(personas):
    row = _row("李四")
    row[1] = row[1][:17] + ("0" if row[1][17] != "0" else "1")
    client = client_for(personas.dongcheng)
    held = _upload(client, [row]).json()
    assert (held["status"], held["rejected"], held["problems"][0]["messages"][0]["warning"]) == ("rejected", 1, True)
    body = _upload(client, [row], confirm="true").json()
    assert (body["status"], body["created"], body["warned"]) == ("done", 1, 1)
    assert Person.objects.get().id_number_warnings == ["id_number.checksum"]


def test_households_upload(personas):
    f = io.BytesIO(csv_bytes([["50023000100100001", "东城路1号", "第一社区", "农业户口"]],
                             ["户编号", "地址", "所在村（居）", "户口性质"], encoding="utf-8-sig"))
    f.name = "hh.csv"
    body = client_for(personas.dongcheng).post("/imports", {"file": f, "kind": "households"}).json()
    assert (body["kind"], body["status"], body["created"]) == ("households", "done", 1)


def test_an_empty_kind_or_flag_is_refused_not_taken_for_its_default(personas):
    for field in ("kind", "dry_run", "partial", "confirm"):
        response = _upload(client_for(personas.admin), [_row("李四")], **{field: ""})
        assert response.status_code == 422, (field, response.content)
        assert response.json()["errors"][0]["field"] in {field, f"form.{field}"}
    assert not Person.objects.filter(name="李四").exists()


def test_a_kind_or_flag_sent_as_a_file_part_is_refused(personas):
    import io as _io

    for field in ("kind", "dry_run"):
        part = _io.BytesIO(b"")
        part.name = "empty.txt"
        response = _upload(client_for(personas.admin), [_row("李五")], **{field: part})
        assert response.status_code == 422, (field, response.content)
        assert response.json()["errors"][0]["field"] in {field, f"form.{field}"}
    assert not Person.objects.filter(name="李五").exists()
