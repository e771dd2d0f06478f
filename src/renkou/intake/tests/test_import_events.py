"""Importing events (births, deaths, moves in and out): the register's own rules, references within the file,
idempotency, all-or-nothing and partial runs, the report round trip, the CLI and the API."""

from __future__ import annotations

import io
import os
import time
from datetime import date, timedelta

import pytest
from django.utils import timezone

from renkou.core.errors import RuleViolation
from renkou.intake.jobs import INTERRUPTED
from renkou.intake.models import ImportRun
from renkou.intake.services import import_file, import_run_create, progress_path
from renkou.intake.tests.helpers import csv_bytes, read_xlsx, xlsx_bytes
from renkou.registry.models import Event, Marriage, Person
from renkou.registry.services import marriage_register
from renkou.testing import client_for, id_number_for, make_person

HEADERS = ["事件类型", "日期", "身份证号", "姓名", "性别", "母亲身份证号", "父亲身份证号", "活产", "村（居）",
           "迁往村（居）", "迁出地县级代码", "迁往县级代码", "户口迁移", "备注"]


def _row(kind, on, number="", name="", sex="", mother="", father="", live="", unit="", to_unit="", from_county="",
         to_county="", moved="", note=""):
    return [kind, on, number, name, sex, mother, father, live, unit, to_unit, from_county, to_county, moved, note]


def _run(by, rows, **kw):
    return import_file(by=by, kind="events", data=csv_bytes(rows, HEADERS, encoding="gbk"), file_name="e.csv", **kw)


def test_each_event_type_and_a_second_import_changes_nothing(personas, county):
    mother = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1992, 3, 4))
    old = make_person(county.dc_village1, name="张老", sex="1", birth_date=date(1930, 1, 1))
    mover = make_person(county.dc_village1, name="王走", sex="1", birth_date=date(1995, 1, 1))
    local = make_person(county.dc_village2, name="陈搬", sex="1", birth_date=date(1996, 1, 1))
    newcomer = id_number_for(date(1990, 7, 1), "2", "110105")
    rows = [_row("出生", "2024/3/5", name="李小宝", sex="男", mother=mother.id_number),
            _row("birth", "2024-04-01", sex="女", mother=mother.id_number, live="死产"),
            _row("死亡", "2024年1月2日", old.id_number, note="病故"),
            _row("迁出", "20240201", mover.id_number, to_county="110105"),
            _row("迁出", "2024-02-02", local.id_number, to_unit="第一社区"),
            _row("迁入", "2024-02-03", newcomer, name="外来女", unit="第二社区", from_county="110105")]
    first, outcome = _run(personas.dongcheng, rows)
    assert first.status == "done" and first.created == 6, [r.messages for r in outcome.rows]
    second, _ = _run(personas.dongcheng, rows)
    assert (second.created, second.unchanged) == (0, 6)
    assert Event.objects.count() == 6
    child = Person.objects.get(name="李小宝")
    birth = Event.objects.get(person=child)
    assert (child.mother_id, child.sex, child.birth_date, birth.birth_order) == (mother.pk, "1", date(2024, 3, 5), 1)
    assert Event.objects.get(kind="birth", live_born=False).sex == "2"
    old.refresh_from_db()
    mover.refresh_from_db()
    local.refresh_from_db()
    assert old.death_date == date(2024, 1, 2)
    assert (mover.residence_status, mover.other_county_code) == ("out", "110105")
    assert local.residence_unit_id == county.dc_village1.pk
    arrived = Person.objects.get(id_number=newcomer)
    assert (arrived.residence_status, arrived.residence_unit_id, arrived.sex) == ("in", county.dc_village2.pk, "2")


def test_a_birth_to_a_mother_who_moved_in_on_an_earlier_row(personas, county):
    newcomer = id_number_for(date(1990, 7, 1), "2", "110105")
    rows = [_row("迁入", "2024-02-03", newcomer, name="外来女", unit="第一社区", from_county="110105"),
            _row("出生", "2024-05-06", name="小新", sex="1", mother="第2行"),
            _row("出生", "2024-06-06", name="小二", sex="2", mother=newcomer)]
    run, outcome = _run(personas.dongcheng, rows)
    assert run.created == 3, [r.messages for r in outcome.rows]
    mother = Person.objects.get(id_number=newcomer)
    assert sorted(Person.objects.filter(mother=mother).values_list("name", flat=True)) == ["小二", "小新"]
    again, _ = _run(personas.dongcheng, rows)
    assert (again.created, again.unchanged) == (0, 3)


def test_a_reference_to_a_later_or_rejected_row_is_refused(personas, county):
    newcomer = id_number_for(date(1990, 7, 1), "2", "110105")
    rows = [_row("出生", "2024-05-06", name="小新", sex="1", mother="第3行"),
            _row("迁入", "2024-02-03", newcomer, name="外来女", unit="火星村", from_county="110105"),
            _row("出生", "2024-05-06", name="小新", sex="1", mother=newcomer)]
    run, outcome = _run(personas.dongcheng, rows, partial=True)
    codes = [[(m.field, m.code) for m in r.messages] for r in outcome.rows]
    assert codes == [[("mother", "reference_order")], [("unit", "unit_unknown")],
                     [("mother", "reference_unknown")]]
    assert run.created == 0


def test_every_rule_names_its_row_and_column(personas, county, tmp_path):
    mother = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1992, 3, 4))
    man = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1990, 1, 1))
    xc = make_person(county.xc_village1, name="西人", sex="1", birth_date=date(1980, 1, 1))
    rows = [
        _row("结婚", "2024-01-01", man.id_number),  # unknown type
        _row("出生", "2024-02-30", name="甲", sex="1", mother=mother.id_number),  # impossible date
        _row("出生", "2024-03-01", name="乙", sex="1", mother=man.id_number),  # a man as mother
        _row("出生", "2000-03-01", name="丙", sex="1", mother=mother.id_number),  # before the mother's 12th year
        _row("出生", "2024-03-01", sex="1", mother=mother.id_number),  # a live birth without a name
        _row("出生", "2024-03-01", name="丁", mother=mother.id_number),  # no sex
        _row("出生", "2024-03-01", name="戊", sex="1"),  # no mother
        _row("死亡", "2099-01-01", man.id_number),  # future
        _row("死亡", "1980-01-01", man.id_number),  # before birth
        _row("死亡", "2024-01-01", xc.id_number),  # outside the area
        _row("死亡", "2024-01-01", "110101199003071234"),  # unknown
        _row("迁出", "2024-01-01", man.id_number),  # no destination
        _row("迁出", "2024-01-01", man.id_number, to_county="1101"),  # a bad county code
        _row("迁出", "2024-01-01", man.id_number, to_unit="第一社区"),  # already lives there
        _row("迁入", "2024-01-01", man.id_number, unit="第二社区", from_county="110105"),  # already lives here
        _row("迁入", "2024-01-01", "", name="无证", unit="第二社区", from_county="110105"),  # no ID number
        _row("迁入", "2024-01-01", id_number_for(date(1990, 1, 1), "1"), name="新人", unit="500230002001",
             from_county="110105"),  # a unit outside the area
        _row("出生", "2024-03-01", name="己", sex="1", mother=mother.id_number, father=mother.id_number),
    ]
    run, outcome = _run(personas.dongcheng, rows, report_path=tmp_path / "r.xlsx")
    got = [[(m.field, m.code) for m in r.messages] for r in outcome.rows]
    assert run.status == "rejected" and run.rejected == len(rows)
    assert got[0] == [("kind", "code")]
    assert got[1] == [("date", "date_impossible")]
    assert got[2] == [("mother", "invalid")]
    assert got[3][0][0] == "date"
    assert got[4] == [("name", "invalid")]
    assert got[5] == [("sex", "required")]
    assert got[6] == [("mother", "required")]
    assert got[7] == [("date", "future")]
    assert got[8] == [("date", "before_birth")]
    assert got[9] == [("id_number", "scope")]
    assert got[10] == [("id_number", "reference_unknown")]
    assert got[11] == [("to_unit", "destination")]
    assert got[12] == [("to_county", "invalid")]
    assert got[13] == [("to_unit", "same_unit")]
    assert got[14] == [("id_number", "here")]
    assert got[15] == [("id_number", "required")]
    assert got[16] == [("unit", "scope")]
    assert ("father", "invalid") in got[17]
    report = read_xlsx(tmp_path / "r.xlsx")
    assert report[0][-1] == "错误信息" and report[1][-1].startswith("事件类型：")
    assert Event.objects.count() == 0 and Person.objects.count() == 3


def test_a_death_ends_the_marriage_and_sequences_in_one_file_are_checked_in_order(personas, county):
    man = make_person(county.dc_village1, name="王强", sex="1", birth_date=date(1960, 1, 1))
    wife = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1962, 1, 1))
    marriage_register(by=personas.admin, husband=man, wife=wife, married_on=date(1985, 1, 1))
    rows = [_row("迁出", "2024-01-01", man.id_number, to_county="110105"),
            _row("迁入", "2024-03-01", man.id_number, unit="第一社区", from_county="110105"),
            _row("死亡", "2024-05-01", man.id_number),
            _row("迁出", "2024-06-01", man.id_number, to_county="110105")]  # after the death
    run, outcome = _run(personas.dongcheng, rows, partial=True)
    assert [r.status for r in outcome.rows] == ["created", "created", "created", "rejected"]
    assert outcome.rows[3].messages[0].code == "after_death"
    assert Marriage.objects.get().end_reason == "death"
    wife.refresh_from_db()
    assert wife.marital_status == "30"
    assert list(Event.objects.filter(person=man).order_by("date").values_list("kind", flat=True)) == [
        "move_out", "move_in", "death"]


def test_all_or_nothing_then_the_report_fixed_and_imported_again(personas, county, tmp_path):
    mother = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1992, 3, 4))
    old = make_person(county.dc_village1, name="张老", sex="1", birth_date=date(1930, 1, 1))
    rows = [_row("死亡", "2024-01-02", old.id_number),
            _row("出生", "2024-13-05", name="小宝", sex="男", mother=mother.id_number)]
    run, _ = _run(personas.dongcheng, rows, report_path=tmp_path / "r.xlsx")
    assert (run.status, Event.objects.count()) == ("rejected", 0)
    report = read_xlsx(tmp_path / "r.xlsx")
    assert len(report) == 2 and report[1][-1].startswith("事件日期：")
    report[1][1] = "2024-03-05"
    run, _ = import_file(by=personas.dongcheng, kind="events", data=xlsx_bytes(report[1:], report[0]),
                         file_name="r.xlsx")
    assert (run.status, run.created) == ("done", 1)
    run, _ = _run(personas.dongcheng, rows[:1])
    assert (run.status, run.created, Event.objects.count()) == ("done", 1, 2)
    run, _ = _run(personas.dongcheng, [rows[0], [*rows[1][:1], "2024-03-05", *rows[1][2:]]], dry_run=True)
    assert (run.status, run.unchanged, run.created) == ("checked", 2, 0)


def test_cli_and_api_take_events(personas, county, tmp_path, capsys):
    from django.core.management import call_command

    old = make_person(county.dc_village1, name="张老", sex="1", birth_date=date(1930, 1, 1))
    path = tmp_path / "e.csv"
    path.write_bytes(csv_bytes([_row("死亡", "2024-01-02", old.id_number)], HEADERS))
    call_command("import", "events", str(path), "--dry-run", "--user", "dongcheng")
    assert Event.objects.count() == 0
    call_command("import", "events", "--template", str(tmp_path / "t.xlsx"))
    assert read_xlsx(tmp_path / "t.xlsx")[0][:2] == ["事件类型*", "事件日期*"]
    client = client_for(personas.dongcheng)
    answer = client.post("/api/v1/imports", {"kind": "events", "file": io.BytesIO(path.read_bytes())})
    assert answer.status_code == 202, answer.content
    assert (answer.json()["kind"], answer.json()["created"]) == ("events", 1)
    assert Event.objects.get().kind == "death"
    assert b"".join(client.get("/api/v1/imports/templates/events").streaming_content)[:2] == b"PK"
    page = client.get("/intake/")
    assert b'value="events"' in page.content and b'value="marriages"' in page.content


def test_a_run_left_running_by_a_dead_process_is_listed_as_interrupted(personas, settings):
    def run_left(minutes_ago: int, touched_minutes_ago: int | None) -> ImportRun:
        run = import_run_create(by=personas.dongcheng, kind="events", data=b"x", file_name=f"{minutes_ago}.csv")
        ImportRun.objects.filter(pk=run.pk).update(
            status="running", started_at=timezone.now() - timedelta(minutes=minutes_ago))
        if touched_minutes_ago is not None:
            path = progress_path(run)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text('{"done": 2000, "total": 9000, "phase": "checking"}')
            then = time.time() - touched_minutes_ago * 60
            os.utime(path, (then, then))
        return run

    dead = run_left(60, 30)  # started an hour ago, no progress for 30 minutes
    no_file = run_left(60, None)
    busy = run_left(60, 1)  # a long file whose progress moved a minute ago (another process)
    fresh = run_left(2, None)
    client = client_for(personas.dongcheng)
    listed = {r["id"]: r for r in client.get("/api/v1/imports").json()}
    assert (listed[dead.pk]["status"], listed[no_file.pk]["status"]) == ("failed", "failed")
    assert (listed[busy.pk]["status"], listed[fresh.pk]["status"]) == ("running", "running")
    dead.refresh_from_db()
    assert dead.message == INTERRUPTED and dead.finished_at is not None
    page = client.get(f"/intake/{busy.pk}/")
    assert page.status_code == 200


def test_header_variants_date_cells_and_a_confirmed_warning_on_the_child_id_number(personas, county):
    from datetime import datetime

    from renkou.registry import idnumbers

    mother = make_person(county.dc_village1, name="李芳", sex="2", birth_date=date(1992, 3, 4))
    good = id_number_for(date(2024, 3, 5), "1")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")  # a wrong check character: a warning
    assert idnumbers.check(wrong).warnings
    headers = ["变动类型", "发生日期", "公民身份号码（婴儿）", "婴儿姓名", "性别", "母亲公民身份号码", "确认"]
    rows = [["出生", datetime(2024, 3, 5), wrong, "王一", "1", mother.id_number, ""],
            ["出生", 45361, "", "王二", "女", mother.id_number, ""]]  # 45361 = 2024-03-10
    run, outcome = import_file(by=personas.dongcheng, kind="events", data=xlsx_bytes(rows, headers),
                               file_name="e.xlsx")
    assert run.status == "rejected" and outcome.rows[0].messages[0].warning
    assert outcome.rows[0].messages[0].field == "id_number" and outcome.rows[1].status == "created"
    rows[0][-1] = "是"
    run, outcome = import_file(by=personas.dongcheng, kind="events", data=xlsx_bytes(rows, headers),
                               file_name="e.xlsx")
    assert (run.status, run.created) == ("done", 2), [r.messages for r in outcome.rows]
    assert dict(Person.objects.filter(mother=mother).values_list("name", "birth_date")) == {
        "王一": date(2024, 3, 5), "王二": date(2024, 3, 10)}
    orders = dict(Event.objects.filter(mother=mother).values_list("person__name", "birth_order"))
    assert orders == {"王一": 1, "王二": 2}


def test_written_in_bulk_with_history_and_audit_as_the_services_write_them(personas, county):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from renkou.accounts.models import AuditEntry
    from renkou.registry.models import PersonHistory

    def batch(n):
        rows = []
        for i in range(n):
            man = make_person(county.dc_village1, name=f"夫{n}-{i}", sex="1", birth_date=date(1950, 1, 1))
            wife = make_person(county.dc_village1, name=f"妻{n}-{i}", sex="2", birth_date=date(1990, 1, 1))
            marriage_register(by=personas.admin, husband=man, wife=wife, married_on=date(2015, 1, 1))
            rows += [_row("出生", "2024-01-05", name=f"孩{n}-{i}", sex="1", mother=wife.id_number,
                          father=man.id_number),
                     _row("迁出", "2024-02-01", man.id_number, to_unit="第二社区"),
                     _row("死亡", "2024-03-01", man.id_number)]
        return rows

    counts = []
    for n in (1, 2, 20):  # the first warms the per-process caches
        rows = batch(n)
        with CaptureQueriesContext(connection) as queries:
            run, outcome = _run(personas.dongcheng, rows)
        assert (run.status, run.created) == ("done", 3 * n), [r.messages for r in outcome.rows]
        counts.append(len(queries))
    assert counts[1] == counts[2]  # no query per row
    wife = Person.objects.get(name="妻20-3")
    man = Person.objects.get(name="夫20-3")
    child = Person.objects.get(name="孩20-3")
    assert (wife.marital_status, man.death_date, man.residence_unit_id) == ("30", date(2024, 3, 1),
                                                                            county.dc_village2.pk)
    assert (child.mother_id, child.father_id, child.household_id) == (wife.pk, man.pk, None)
    assert Event.objects.get(person=child).birth_order == 1
    assert Marriage.objects.get(husband=man).end_reason == "death"
    actions = sorted(PersonHistory.objects.filter(person__in=[man, wife, child]).values_list("action", flat=True))
    assert actions == ["birth", "birth_given", "death", "marriage", "marriage", "move_out", "widowed"]
    death = Event.objects.get(person=man, kind="death")
    assert PersonHistory.objects.get(person=wife, action="widowed").event_id == death.pk
    assert (man.version, wife.version) == (4, 3)  # created 1, married, moved, died; created 1, married, widowed
    whats = AuditEntry.objects.filter(object_type="event").values_list("detail__what", flat=True)
    assert sorted(set(whats)) == ["birth_register", "death_register", "move_out_register"] and len(whats) == 69


def test_a_register_changed_between_the_check_and_the_write_fails_the_file(personas, county):
    from renkou.intake import events as engine
    from renkou.intake.readers import read_table

    old = make_person(county.dc_village1, name="张老", sex="1", birth_date=date(1930, 1, 1))
    data = csv_bytes([_row("死亡", "2024-01-02", old.id_number)], HEADERS)
    outcome = engine.check_rows(by=personas.dongcheng, table=read_table(data, "e.csv"))
    Person.objects.filter(pk=old.pk).update(version=9)
    with pytest.raises(RuleViolation) as info:
        engine.write(by=personas.dongcheng, outcome=outcome, channel="cli")
    assert info.value.code == "changed"
    assert Event.objects.count() == 0
