"""renkou import: the command line, the template, and an import killed halfway (nothing written)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from renkou.intake.models import ImportRun
from renkou.intake.tests.helpers import csv_bytes
from renkou.registry.models import Person
from renkou.testing import id_number_for

ROOT = Path(__file__).resolve().parents[4]


def _file(tmp_path, rows, name="people.csv", encoding="gbk"):
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, encoding=encoding))
    return path


def _row(name, born=date(1990, 5, 6), sex="1", village="500230001001", **kw):
    return [name, id_number_for(born, sex), "男" if sex == "1" else "女", born.isoformat(), "汉族", "未婚", village,
            village, "", ""]


def test_import_a_gbk_csv_from_the_command_line(personas, tmp_path, capsys):
    path = _file(tmp_path, [_row("李四"), _row("王芳", sex="2")])
    call_command("import", "persons", str(path), "--user", "dongcheng")
    out = capsys.readouterr().out
    assert "created 2" in out and "written" in out
    assert set(Person.objects.values_list("name", flat=True)) == {"李四", "王芳"}
    run = ImportRun.objects.get()
    assert (run.encoding, run.channel, run.username, run.file_name) == ("gb18030", "cli", "dongcheng", "people.csv")


def test_dry_run_and_report_from_the_command_line(personas, tmp_path, capsys):
    bad = _row("坏")
    bad[3] = "2008/2/30"
    path = _file(tmp_path, [_row("李四"), bad], encoding="utf-8-sig")
    report = tmp_path / "report.xlsx"
    with pytest.raises(SystemExit):  # rejected: nothing written, exit status 1
        call_command("import", "persons", str(path), "--user", "dongcheng", "--report", str(report))
    out = capsys.readouterr().out
    assert "row 3 (rejected): 出生日期：“2008/2/30”" in out and "nothing written" in out
    assert Person.objects.count() == 0
    rows = [list(r) for r in load_workbook(report).worksheets[0].iter_rows(values_only=True)]
    assert rows[1][0] == "坏" and rows[1][-1].startswith("出生日期：")
    call_command("import", "persons", str(path), "--user", "dongcheng", "--dry-run", "--partial")
    assert "dry run" in capsys.readouterr().out and Person.objects.count() == 0
    call_command("import", "persons", str(path), "--user", "dongcheng", "--partial")
    assert list(Person.objects.values_list("name", flat=True)) == ["李四"]


def test_the_template_has_chinese_headers_an_example_and_the_codes(db, tmp_path):
    target = tmp_path / "tpl.xlsx"
    call_command("import", "persons", "--template", str(target))
    book = load_workbook(target)
    sheet = book["导入模板"]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["姓名*", "公民身份号码", "性别", "出生日期"]
    assert sheet["B2"].value == "500230199001011237" and sheet["B2"].number_format == "@"
    codes = {(r[0], r[1], r[2]) for r in book["代码表"].iter_rows(min_row=2, values_only=True)}
    assert ("民族", "01", "汉族") in codes and ("性别", "2", "女") in codes and ("婚姻状况", "20", "已婚") in codes


def test_the_template_imports_as_it_is(personas, tmp_path):
    target = tmp_path / "tpl.xlsx"
    call_command("import", "persons", "--template", str(target))
    call_command("import", "persons", str(target), "--user", "dongcheng")
    assert Person.objects.get().name == "张三"


def test_an_unknown_user_or_a_missing_file_is_an_error(personas, tmp_path):
    with pytest.raises(CommandError, match="no active user"):
        call_command("import", "persons", str(tmp_path / "x.csv"), "--user", "nobody")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import", "persons", str(tmp_path / "x.csv"), "--user", "dongcheng")
    with pytest.raises(CommandError, match="may not write"):
        path = _file(tmp_path, [_row("李四")])
        call_command("import", "persons", str(path), "--user", "viewer")


SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from renkou.testing import make_county, make_personas
make_personas(make_county())
from renkou.intake.synthetic import persons_rows, write_csv
from pathlib import Path
write_csv(Path("{path}"), persons_rows({n}, ["500230001001", "500230001002"]))
"""

COUNT = """
import django
django.setup()
from renkou.registry.models import Person, PersonHistory
from renkou.accounts.models import AuditEntry
from renkou.intake.models import ImportRun
print(Person.objects.count(), PersonHistory.objects.count(), AuditEntry.objects.filter(object_type="person").count(),
      ImportRun.objects.get().status)
"""


@pytest.mark.any_database
def test_an_import_killed_while_writing_leaves_the_register_as_it_was(tmp_path):
    env = {**os.environ, "RENKOU_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "renkou.settings",
           "PYTHONPATH": str(ROOT / "src")}
    env.pop("RENKOU_DATABASE_URL", None)
    data = tmp_path / "big.csv"
    subprocess.run([sys.executable, "-c", SETUP.format(path=data, n=30_000)], env=env, check=True)  # noqa: S603
    proc = subprocess.Popen([sys.executable, "-m", "renkou.cli", "import", "persons", str(data),  # noqa: S603
                             "--user", "dongcheng"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    phase = ""
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            progress = next((tmp_path / "imports").glob("*/progress.json"))
            phase = json.loads(progress.read_text())["phase"]
        except (OSError, ValueError, StopIteration):
            phase = ""
        if phase == "writing":
            time.sleep(0.3)  # well inside the transaction: 30,000 persons, their history and audit rows
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the import finished before it could be killed: {proc.communicate()}"
    assert phase == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    counts = subprocess.run([sys.executable, "-c", COUNT], env=env, check=True, capture_output=True,  # noqa: S603
                            text=True).stdout.split()
    assert counts == ["0", "0", "0", "running"]


def test_the_households_template_imports_as_it_is(personas, tmp_path):
    target = tmp_path / "hh.xlsx"
    call_command("import", "households", "--template", str(target))
    assert [c.value for c in load_workbook(target)["导入模板"][1]][:3] == ["户编号*", "地址*", "所在村（居）*"]
    call_command("import", "households", str(target), "--user", "dongcheng")
    from renkou.registry.models import Household

    assert Household.objects.get().number == "50023000100100001"
