"""Importing marriages: the register's marriage rules (the same functions as the forms), idempotency, ends of
marriages, scope, all-or-nothing and partial runs, the report round trip, the CLI and the API."""

from __future__ import annotations

import io
from datetime import date

from renkou.intake.services import import_file
from renkou.intake.tests.helpers import csv_bytes, read_xlsx, xlsx_bytes
from renkou.registry.models import Marriage, Person
from renkou.testing import client_for, make_person

HEADERS = ["男方身份证号", "女方身份证号", "结婚日期", "登记地", "离婚日期", "终止原因"]


def _run(by, rows, headers=HEADERS, **kw):
    return import_file(by=by, kind="marriages", data=csv_bytes(rows, headers, encoding="gbk"), file_name="m.csv",
                       **kw)


def _couple(county, **kw):
    man = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1990, 1, 1))
    woman = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1992, 3, 4))
    return man, woman


def test_a_marriage_is_registered_and_a_second_import_changes_nothing(personas, county):
    man, woman = _couple(county)
    rows = [[man.id_number, woman.id_number, "2020年5月20日", "第一社区", "", ""]]
    first, _ = _run(personas.dongcheng, rows)
    second, _ = _run(personas.dongcheng, rows)
    m = Marriage.objects.get()
    assert (first.status, first.created, second.created, second.unchanged) == ("done", 1, 0, 1)
    assert (m.husband_id, m.wife_id, m.married_on, m.unit_id) == (man.pk, woman.pk, date(2020, 5, 20),
                                                                   county.dc_village1.pk)
    assert set(Person.objects.values_list("marital_status", flat=True)) == {"20"}


def test_a_divorce_then_a_remarriage_in_one_file_and_an_end_added_later(personas, county):
    man, woman = _couple(county)
    other = make_person(county.dc_village2, name="赵丽", sex="2", birth_date=date(1991, 1, 1))
    rows = [[man.id_number, woman.id_number, "2015-05-20", "", "2019/1/2", "离婚"],
            [man.id_number, other.id_number, "20200101", "", "", ""]]
    run, _ = _run(personas.dongcheng, rows)
    assert (run.status, run.created) == ("done", 2)
    statuses = dict(Person.objects.values_list("name", "marital_status"))
    assert statuses == {"王强": "22", "李芳": "40", "赵丽": "20"}
    # the same file plus an end of the second marriage: one update, one unchanged
    rows[1][4] = "2023-06-01"
    run, outcome = _run(personas.dongcheng, rows)
    assert (run.unchanged, run.updated, run.created) == (1, 1, 0)
    assert Marriage.objects.get(wife=other).ended_on == date(2023, 6, 1)


def test_every_rule_names_its_row_and_column(personas, county, tmp_path):
    man, woman = _couple(county)
    young = make_person(county.dc_village1, name="小明", sex="1", birth_date=date(2010, 1, 1))
    xc_man = make_person(county.xc_village1, name="西男", sex="1", birth_date=date(1980, 1, 1))
    xc_woman = make_person(county.xc_village1, name="西女", sex="2", birth_date=date(1980, 1, 1))
    rows = [
        [woman.id_number, man.id_number, "2020-01-01", "", "", ""],  # sexes swapped
        [young.id_number, woman.id_number, "2020-01-01", "", "", ""],  # under age
        [man.id_number, woman.id_number, "2099-01-01", "", "", ""],  # future
        [man.id_number, woman.id_number, "2020-02-30", "", "", ""],  # impossible date
        [man.id_number, "110101199003071234", "2020-01-01", "", "", ""],  # unknown person
        [xc_man.id_number, xc_woman.id_number, "2020-01-01", "", "", ""],  # outside the area
        [man.id_number, woman.id_number, "2020-01-01", "火星", "", ""],  # unknown unit
        [man.id_number, woman.id_number, "2020-01-01", "", "2019-01-01", ""],  # ends before it began
        [man.id_number, woman.id_number, "2020-01-01", "", "2021-01-01", "丧偶"],  # death: by a death event
        [man.id_number, woman.id_number, "2020-01-01", "", "", "离婚"],  # a reason without a date
        ["5.00222E+17", woman.id_number, "2020-01-01", "", "", ""],  # a number the spreadsheet mangled
        ["", woman.id_number, "", "", "", ""],
    ]
    run, outcome = _run(personas.dongcheng, rows, report_path=tmp_path / "r.xlsx")
    got = [[(m.field, m.code) for m in r.messages] for r in outcome.rows]
    assert run.status == "rejected" and run.rejected == 12
    assert got[0] == [("husband", "sex"), ("wife", "sex")]
    assert got[1] == [("husband", "age")]
    assert got[2] == [("married_on", "future")]
    assert got[3] == [("married_on", "date_impossible")]
    assert got[4] == [("wife", "reference_unknown")]
    assert got[5] == [("husband", "scope")]
    assert got[6] == [("unit", "unit_unknown")]
    assert got[7] == [("ended_on", "order")]
    assert got[8] == [("end_reason", "reason")]
    assert got[9] == [("ended_on", "required")]
    assert got[10][0][0] == "husband" and "文本" in outcome.rows[10].messages[0].message
    assert got[11] == [("husband", "required"), ("married_on", "required")]
    report = read_xlsx(tmp_path / "r.xlsx")
    assert report[0][-1] == "错误信息" and report[1][-1].startswith("男方公民身份号码：")
    assert "法定婚龄" in report[2][-1] or "婚龄" in report[2][-1]
    assert Marriage.objects.count() == 0


def test_one_spouse_in_the_area_is_enough(personas, county):
    man = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1990, 1, 1))
    woman = make_person(county.xc_village1, name="西女", sex="2", birth_date=date(1992, 1, 1))
    run, _ = _run(personas.dongcheng, [[man.id_number, woman.id_number, "2020-01-01", "第一社区", "", ""]])
    assert (run.status, Marriage.objects.get().wife_id) == ("done", woman.pk)


def test_a_second_current_marriage_and_a_duplicate_row_are_refused(personas, county):
    man, woman = _couple(county)
    other = make_person(county.dc_village2, name="赵丽", sex="2", birth_date=date(1991, 1, 1))
    rows = [[man.id_number, woman.id_number, "2015-05-20", "", "", ""],
            [man.id_number, other.id_number, "2020-01-01", "", "", ""],
            [man.id_number, woman.id_number, "2015-05-20", "", "", ""]]
    run, outcome = _run(personas.dongcheng, rows, partial=True)
    assert [r.status for r in outcome.rows] == ["created", "rejected", "rejected"]
    assert [m.code for m in outcome.rows[1].messages] == ["married"]
    assert outcome.rows[2].messages[0].code == "duplicate_in_file"
    assert (run.status, Marriage.objects.count()) == ("done", 1)


def test_all_or_nothing_then_the_report_fixed_and_imported_again(personas, county, tmp_path):
    man, woman = _couple(county)
    other_man = make_person(county.dc_village2, name="刘刚", sex="1", birth_date=date(1985, 1, 1))
    other = make_person(county.dc_village2, name="赵丽", sex="2", birth_date=date(1991, 1, 1))
    rows = [[man.id_number, woman.id_number, "2015-05-20", "", "", ""],
            [other_man.id_number, other.id_number, "2020-13-01", "", "", ""]]
    run, _ = _run(personas.dongcheng, rows, report_path=tmp_path / "r.xlsx")
    assert (run.status, Marriage.objects.count()) == ("rejected", 0)
    report = read_xlsx(tmp_path / "r.xlsx")
    assert len(report) == 2 and "结婚登记日期" in report[1][-1]
    report[1][2] = "2020-12-01"
    run, _ = import_file(by=personas.dongcheng, kind="marriages", data=xlsx_bytes(report[1:], report[0]),
                         file_name="r.xlsx")
    assert (run.status, run.created) == ("done", 1)
    run, _ = _run(personas.dongcheng, rows[:1])
    assert (run.status, run.created, Marriage.objects.count()) == ("done", 1, 2)


def test_dry_run_writes_nothing(personas, county):
    man, woman = _couple(county)
    run, _ = _run(personas.dongcheng, [[man.id_number, woman.id_number, "2015-05-20", "", "", ""]], dry_run=True)
    assert (run.status, run.created, Marriage.objects.count()) == ("checked", 1, 0)


def test_cli_and_api_take_marriages(personas, county, tmp_path, capsys):
    from django.core.management import call_command

    man, woman = _couple(county)
    path = tmp_path / "m.csv"
    path.write_bytes(csv_bytes([[man.id_number, woman.id_number, "2015-05-20", "", "", ""]], HEADERS))
    call_command("import", "marriages", str(path), "--dry-run", "--user", "dongcheng")
    assert "1" in capsys.readouterr().out and Marriage.objects.count() == 0
    call_command("import", "marriages", "--template", str(tmp_path / "t.xlsx"))
    assert read_xlsx(tmp_path / "t.xlsx")[0][:3] == ["男方公民身份号码*", "女方公民身份号码*", "结婚登记日期*"]
    client = client_for(personas.dongcheng)
    answer = client.post("/api/v1/imports", {"kind": "marriages", "file": io.BytesIO(path.read_bytes())})
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert (body["kind"], body["status"], body["created"]) == ("marriages", "done", 1)
    assert Marriage.objects.count() == 1
    template = client.get("/api/v1/imports/templates/marriages")
    assert template.status_code == 200 and b"".join(template.streaming_content)[:2] == b"PK"


def test_written_in_bulk_with_history_and_audit_as_the_services_write_them(personas, county):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from renkou.accounts.models import AuditEntry
    from renkou.registry.models import PersonHistory

    def couples(n):
        return [(make_person(county.dc_village1, name=f"男{i}", sex="1", birth_date=date(1980, 1, 1)),
                 make_person(county.dc_village1, name=f"女{i}", sex="2", birth_date=date(1982, 1, 1)))
                for i in range(n)]

    counts = []
    for n in (1, 2, 30):  # the first warms the per-process caches (code lists, units)
        rows = [[m.id_number, w.id_number, "2010-01-01", "", "2015-01-01", ""] for m, w in couples(n)]
        with CaptureQueriesContext(connection) as queries:
            run, _ = _run(personas.dongcheng, rows)
        assert (run.status, run.created) == ("done", n)
        counts.append(len(queries))
    assert counts[1] == counts[2]  # no query per row
    assert Marriage.objects.filter(end_reason="divorce").count() == 33
    assert set(Person.objects.values_list("marital_status", flat=True)) == {"40"}
    assert PersonHistory.objects.filter(action="marriage").count() == 66
    assert PersonHistory.objects.filter(action="marriage_end").count() == 66
    assert AuditEntry.objects.filter(object_type="marriage", detail__what="marriage_register").count() == 33
    assert AuditEntry.objects.filter(object_type="marriage", detail__what="marriage_end").count() == 33
    assert set(Person.objects.values_list("version", flat=True)) == {3}
