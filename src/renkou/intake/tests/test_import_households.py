"""Importing households: the register's household rules, idempotency by number, scope, the report."""

from __future__ import annotations

from renkou.intake.services import import_file
from renkou.intake.tests.helpers import csv_bytes, read_xlsx
from renkou.registry.models import Household
from renkou.testing import make_household

HEADERS = ["户号", "住址", "所在村", "户口性质"]


def _run(by, rows, **kw):
    return import_file(by=by, kind="households", data=csv_bytes(rows, HEADERS, encoding="gbk"), file_name="h.csv",
                       **kw)


def test_households_are_created_by_unit_name_or_code_and_a_second_import_changes_nothing(personas):
    rows = [["50023000100100001", "东城路1号", "第一社区", "农业"], ["50023000100200002", "东城路2号", "500230001002",
                                                               "非农业户口"]]
    first, _ = _run(personas.dongcheng, rows)
    second, _ = _run(personas.dongcheng, rows)
    h = Household.objects.get(number="50023000100200002")
    assert (first.created, second.unchanged, second.created) == (2, 2, 0)
    assert (h.unit.code, h.address, h.registration_type) == ("500230001002", "东城路2号", "urban")


def test_household_rules_and_scope(personas, county, tmp_path):
    make_household(county.xc_village1, "50023000200100009")
    rows = [["", "无号路", "第一社区", ""],
            ["50023000100100003", "", "第一社区", ""],
            ["50023000100100004", "东城路4号", "东城街道", ""],  # a township, not a village
            ["50023000100100005", "东城路5号", "500230002001", ""],  # another township's village
            ["50023000200100009", "西城路9号", "第一社区", ""],  # a number of another area
            ["50023000100100006", "东城路6号", "第一社区", "火星户口"]]
    run, outcome = _run(personas.dongcheng, rows, report_path=tmp_path / "r.xlsx")
    codes = [[m.code for m in r.messages] for r in outcome.rows]
    assert run.status == "rejected" and run.rejected == 6
    assert codes == [["required"], ["invalid"], ["invalid"], ["scope"], ["scope"], ["code"]]
    report = read_xlsx(tmp_path / "r.xlsx")
    assert report[0][-1] == "错误信息" and report[2][-1].startswith("地址：")
    assert Household.objects.count() == 1


def test_a_changed_household_is_refused_not_overwritten(personas, county):
    make_household(county.dc_village1, "50023000100100007", address="旧地址")
    run, outcome = _run(personas.dongcheng, [["50023000100100007", "新地址", "第一社区", "农业户口"]])
    assert outcome.rows[0].messages[0].code == "differs"
    assert Household.objects.get().address == "旧地址"
