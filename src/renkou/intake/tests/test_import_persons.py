"""Importing persons end to end through the service the CLI, the page and the API share."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.db import connection

from renkou.accounts.models import AuditEntry
from renkou.intake.models import ImportRun
from renkou.intake.services import import_file, report_path_of
from renkou.intake.tests.helpers import HEADERS, csv_bytes, read_xlsx, xlsx_bytes
from renkou.registry.idnumbers import mask
from renkou.registry.models import Person, PersonHistory
from renkou.testing import id_number_for, make_person

V1 = "500230001001"  # 东城街道 第一社区
V2 = "500230001002"


def _row(name="李四", number=None, sex="男", born="1990-05-06", village=V1, mother="", confirm=""):
    return [name, number if number is not None else id_number_for(date(1990, 5, 6), "1"), sex, born, "汉族", "未婚",
            village, village, mother, confirm]


def _run(by, rows, *, fmt="csv", **kwargs):
    data = csv_bytes(rows) if fmt == "csv" else xlsx_bytes(rows)
    return import_file(by=by, kind="persons", data=data, file_name=f"t.{fmt}", **kwargs)


def test_a_valid_file_creates_persons_with_history_and_audit(personas):
    rows = [_row("李四"), _row("王芳", id_number_for(date(1992, 2, 3), "2"), "女", "1992年2月3日")]
    run, outcome = _run(personas.dongcheng, rows)
    assert (run.status, run.created, run.rejected) == ("done", 2, 0)
    p = Person.objects.get(name="王芳")
    assert (p.sex, p.birth_date, p.residence_unit.code, p.ethnicity, p.marital_status) == (
        "2", date(1992, 2, 3), V1, "01", "10")
    history = PersonHistory.objects.get(person=p, action="import")
    # the same entries person_create writes, ID number masked
    assert history.changes == {"name": [None, "王芳"], "sex": [None, "2"], "birth_date": [None, "1992-02-03"],
                               "id_number": [None, mask(p.id_number)], "residence_unit": [None, p.residence_unit_id],
                               "registration_unit": [None, p.registration_unit_id]}
    assert history.username == "dongcheng" and history.user == personas.dongcheng
    assert AuditEntry.objects.filter(object_type="person", object_id=str(p.pk), action="create").count() == 1
    assert run.username == "dongcheng" and len(run.sha256) == 64


def test_importing_the_same_file_twice_changes_nothing(personas):
    rows = [_row("李四"), _row("赵六", id_number_for(date(1980, 1, 1), "1"), born="19800101")]
    data = xlsx_bytes(rows)
    first, _ = import_file(by=personas.dongcheng, kind="persons", data=data, file_name="a.xlsx")
    history = PersonHistory.objects.count()
    second, _ = import_file(by=personas.dongcheng, kind="persons", data=data, file_name="a.xlsx")
    assert (first.created, second.created, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert Person.objects.count() == 2 and PersonHistory.objects.count() == history
    assert first.sha256 == second.sha256


def test_a_changed_row_is_an_update_through_the_update_rules(personas):
    number = id_number_for(date(1990, 5, 6), "1")
    _run(personas.dongcheng, [_row("李四", number)])
    run, _ = _run(personas.dongcheng, [_row("李四", number, village=V2)])
    p = Person.objects.get(id_number=number)
    assert (run.updated, p.residence_unit.code, p.version) == (1, V2, 2)
    h = PersonHistory.objects.filter(person=p, action="update").get()
    assert "residence_unit" in h.changes


def test_one_bad_row_rejects_the_whole_file_by_default(personas):
    rows = [_row("李四"), _row("坏人", born="2008-02-30")]
    run, outcome = _run(personas.dongcheng, rows)
    assert (run.status, run.created, run.rejected) == ("rejected", 1, 1)
    assert Person.objects.count() == 0
    bad = outcome.rows[1]
    assert bad.row == 3 and bad.messages[0].field == "birth_date" and "2008-02-30" in bad.messages[0].message


def test_partial_writes_the_valid_rows(personas):
    rows = [_row("李四"), _row("坏人", born="2008-02-30")]
    run, _ = _run(personas.dongcheng, rows, partial=True)
    assert (run.status, run.created, run.rejected) == ("done", 1, 1)
    assert list(Person.objects.values_list("name", flat=True)) == ["李四"]


def test_a_dry_run_writes_nothing_and_counts_what_would_happen(personas):
    existing = make_person(personas.dongcheng.unit.children.get(code=V1), name="老王")
    rows = [_row("李四"), _row("老王", existing.id_number, born=existing.birth_date.isoformat())]
    run, _ = _run(personas.dongcheng, rows, dry_run=True)
    assert (run.status, run.created, run.unchanged) == ("checked", 1, 1)
    assert Person.objects.count() == 1


def test_units_outside_the_users_scope_are_refused(personas):
    run, outcome = _run(personas.dongcheng, [_row("李四", village="500230002001")])
    assert run.rejected == 1
    assert {m.code for m in outcome.rows[0].messages} == {"scope"}
    assert not Person.objects.exists()


def test_a_person_of_another_area_is_not_updated(personas, county):
    other = make_person(county.xc_village1, name="西城人")
    run, outcome = _run(personas.dongcheng, [_row("西城人", other.id_number, born=other.birth_date.isoformat())])
    assert run.rejected == 1 and outcome.rows[0].messages[0].code == "scope"


def test_units_by_name_and_codes_by_name(personas):
    row = _row("李四", village="第二社区")
    row[2], row[4], row[5] = "1", "01", "20"
    run, _ = _run(personas.dongcheng, [row])
    p = Person.objects.get()
    assert (run.created, p.residence_unit.code, p.marital_status) == (1, V2, "20")


def test_mangled_id_numbers(personas):
    good = id_number_for(date(1990, 5, 6), "1")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in good)
    spaced = f"{good[:6]} {good[6:14]} {good[14:]}".lower()
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        _row("全角", fullwidth),
        _row("空格", spaced.replace(good[:6], good[:6])),
        _row("科学", "5.00222E+17"),
        _row("校验", wrong_check),
    ]
    run, outcome = _run(personas.dongcheng, rows, partial=True)
    by_name = {r.values[0]: r for r in outcome.rows}
    assert by_name["全角"].status == "created" and by_name["全角"].person.id_number == good
    assert by_name["空格"].status == "rejected"  # same number as row 2: a duplicate within the file
    assert by_name["空格"].messages[0].code == "duplicate_in_file"
    sci = by_name["科学"].messages[0]
    assert sci.code == "id_number.scientific" and "文本" in sci.message
    check = by_name["校验"].messages[0]
    assert check.code == "id_number.checksum" and check.warning and "确认" in check.message


def test_a_float_cell_that_lost_digits_is_rejected_with_the_reason(personas):
    good = id_number_for(date(1990, 5, 6), "1")
    run, outcome = _run(personas.dongcheng, [_row("浮点", float(good))], fmt="xlsx")
    message = outcome.rows[0].messages[0]
    assert message.code == "id_number.scientific" and "文本" in message.message


def test_a_legacy_15_digit_number_is_converted(personas):
    legacy = "500230900506123"
    run, _ = _run(personas.dongcheng, [_row("旧证", legacy, born="1990-05-06")])
    p = Person.objects.get()
    assert run.created == 1 and len(p.id_number) == 18 and p.id_number.startswith("500230199005061")


def test_a_confirmed_checksum_warning_is_written_and_reported(personas, tmp_path):
    good = id_number_for(date(1990, 5, 6), "1")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    run, _ = _run(personas.dongcheng, [_row("校验", wrong, confirm="是")], report_path=tmp_path / "r.xlsx")
    p = Person.objects.get()
    assert (run.created, run.warned, p.id_number_warnings) == (1, 1, ["id_number.checksum"])
    rows = read_xlsx(tmp_path / "r.xlsx")
    assert rows[0][-1] == "错误信息" and "校验码" in rows[1][-1]


def test_a_mother_by_a_row_of_the_same_file(personas):
    mother_no = id_number_for(date(1970, 3, 3), "2")
    rows = [_row("孩子", id_number_for(date(2000, 1, 1), "1"), born="2000-01-01", mother=mother_no),
            _row("母亲", mother_no, "女", "1970-03-03"),
            _row("二孩", id_number_for(date(2003, 1, 1), "2"), "女", "2003-01-01", mother="第3行")]
    run, _ = _run(personas.dongcheng, rows)
    mother = Person.objects.get(name="母亲")
    assert run.created == 3
    assert Person.objects.get(name="孩子").mother == mother and Person.objects.get(name="二孩").mother == mother


def test_a_mother_already_registered_by_id_number(personas, county):
    mother = make_person(county.dc_village1, name="母亲", sex="2", birth_date=date(1970, 3, 3))
    run, _ = _run(personas.dongcheng, [_row("孩子", born="1990-05-06", mother=mother.id_number)])
    assert Person.objects.get(name="孩子").mother == mother


def test_a_missing_name_column_stops_the_file(personas):
    data = csv_bytes([["x"]], headers=["身份证号"])
    run, outcome = import_file(by=personas.dongcheng, kind="persons", data=data, file_name="a.csv")
    assert run.status == "failed" and "姓名" in run.message and outcome is None


def test_header_variants_are_accepted(personas):
    headers = ["姓名*", "身份证号码", "出生年月日", "居住地（代码）", "户籍所在地"]
    number = id_number_for(date(1990, 5, 6), "1")
    data = csv_bytes([["李四", number, "1990/5/6", V1, V1]], headers=headers)
    run, _ = import_file(by=personas.dongcheng, kind="persons", data=data, file_name="a.csv")
    p = Person.objects.get()
    assert run.created == 1 and p.sex == "1" and p.id_number == number


def test_a_viewer_cannot_import(personas):
    from renkou.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        _run(personas.viewer, [_row()])
    assert not ImportRun.objects.exists()


def test_the_report_round_trip(personas, tmp_path):
    rows = [_row("李四"), _row("坏日期", id_number_for(date(1985, 7, 7), "1"), born="1985-13-07"),
            _row("坏代码", id_number_for(date(1986, 8, 8), "2"), "女", "1986-08-08")]
    rows[2][4] = "火星族"
    run, _ = _run(personas.dongcheng, rows, report_path=tmp_path / "report.xlsx")
    assert run.status == "rejected" and run.rejected == 2
    report = read_xlsx(tmp_path / "report.xlsx")
    assert report[0] == [*HEADERS, "错误信息"]
    assert [r[0] for r in report[1:]] == ["坏日期", "坏代码"]
    assert report[1][1] == rows[1][1]  # the ID number stays text, as it was
    assert "出生日期" in report[1][-1] and "民族" in report[2][-1] and "火星族" in report[2][-1]
    assert report_path_of(run) is not None
    # the officer corrects the two rows in the report and imports that same file
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "report.xlsx")
    sheet = book.worksheets[0]
    sheet["D2"] = "1985-07-07"
    sheet["E3"] = "汉族"
    book.save(tmp_path / "fixed.xlsx")
    again, _ = import_file(by=personas.dongcheng, kind="persons", data=(tmp_path / "fixed.xlsx").read_bytes(),
                           file_name="fixed.xlsx")
    assert (again.status, again.created, again.rejected) == ("done", 2, 0)
    assert set(Person.objects.values_list("name", flat=True)) == {"坏日期", "坏代码"}


def test_a_person_without_an_id_number_is_matched_by_name_sex_and_birth(personas):
    rows = [_row("小孩", "", born="2020-01-01")]
    first, _ = _run(personas.dongcheng, rows)
    second, _ = _run(personas.dongcheng, rows)
    assert (first.created, second.unchanged, Person.objects.count()) == (1, 1, 1)


def test_a_repeated_bad_code_is_reported_on_every_row(personas):
    rows = [_row(f"人{i}", id_number_for(date(1990, 5, 6), "1")) for i in range(3)]
    for r in rows:
        r[4] = "火星族"
    run, outcome = _run(personas.dongcheng, rows)
    assert run.rejected == 3
    assert all(r.messages[0].field == "ethnicity" and "火星族" in r.messages[0].message for r in outcome.rows)


def test_history_and_audit_rows_are_the_json_the_single_row_services_write(personas):
    # the bulk write fills a template instead of encoding each row: quotes, backslashes and a missing ID number
    # must come out as the encoder writes them
    number = id_number_for(date(1992, 2, 3), "2")
    rows = [_row('王"芳\\', number, "女", "1992-02-03"), _row("小孩", "", born="2020-01-01")]
    run, _ = _run(personas.dongcheng, rows, fmt="xlsx")
    assert run.created == 2
    for p in Person.objects.all():
        expected = {"name": [None, p.name], "sex": [None, p.sex], "birth_date": [None, p.birth_date.isoformat()],
                    "id_number": [None, mask(p.id_number) if p.id_number else None],
                    "residence_unit": [None, p.residence_unit_id], "registration_unit": [None, p.registration_unit_id]}
        history = PersonHistory.objects.get(person=p)
        assert history.changes == expected
        audit = AuditEntry.objects.get(object_type="person", object_id=str(p.pk))
        assert audit.detail == {"what": "create", "person": p.pk}
        if connection.vendor == "sqlite":  # stored as text: the very text json.dumps writes
            with connection.cursor() as cursor:
                cursor.execute("SELECT changes FROM registry_personhistory WHERE id = %s", [history.pk])
                assert cursor.fetchone()[0] == json.dumps(expected, ensure_ascii=False)
                cursor.execute("SELECT detail FROM accounts_auditentry WHERE id = %s", [audit.pk])
                assert cursor.fetchone()[0] == json.dumps({"what": "create", "person": p.pk})
    assert Person.objects.get(name='王"芳\\').id_number == number
    assert Person.objects.get(name="小孩").id_number is None
