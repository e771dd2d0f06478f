"""``renkou export`` as a user runs it: a subprocess against a temporary data folder."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

# every test runs the command line against its own SQLite database
pytestmark = pytest.mark.any_database


def _run(args, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENKOU_")}
    env["RENKOU_DATA_DIR"] = str(tmp_path)
    return subprocess.run([sys.executable, "-m", "renkou.cli", *args], capture_output=True, text=True, env=env,
                          timeout=180)


def test_renkou_export_writes_a_masked_xlsx_and_refuses_an_aggregate_viewer(tmp_path):
    assert _run(["migrate", "-v", "0"], tmp_path).returncode == 0
    script = (
        "from datetime import date;"
        "from renkou import testing;"
        "c = testing.make_county(); testing.make_personas(c);"
        "p = testing.make_person(c.dc_village1, name='王芳', sex='2', birth_date=date(1990, 3, 3));"
        "testing.make_person(c.xc_village1, name='王五');"
        "print(p.id_number)"
    )
    shell = _run(["manage", "shell", "--no-imports", "-c", script], tmp_path)
    assert shell.returncode == 0, shell.stderr
    number = shell.stdout.strip().splitlines()[-1]
    target = tmp_path / "王.xlsx"
    done = _run(["export", "persons", "--user", "dongcheng", "--q", "王", "-o", str(target)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Wrote 1 rows" in done.stderr and "ID numbers masked" in done.stderr
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert rows[1][:4] == ("姓名", "性别", "出生日期", "公民身份号码")  # Chinese by default
    assert rows[2][0] == "王芳" and rows[2][3] == number[:4] + "*" * 10 + number[-4:]
    refused = _run(["export", "persons", "--user", "viewer", "-o", str(tmp_path / "v.csv")], tmp_path)
    assert refused.returncode != 0 and "may not export personal data" in refused.stderr
    assert not (tmp_path / "v.csv").exists()
    assert "usage:" in _run(["export", "--help"], tmp_path).stdout
