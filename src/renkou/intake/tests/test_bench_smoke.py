"""The code paths of ``renkou bench import`` on a few rows: the django-import-export baseline applies the same
checks (it refuses what renkou refuses) and writes the same persons (renkou then finds them all unchanged)."""

from __future__ import annotations

import importlib

import pytest

from renkou.accounts.models import AuditEntry
from renkou.intake.services import import_file
from renkou.intake.synthetic import persons_rows, write_csv, write_xlsx
from renkou.registry.models import Person, PersonHistory

bench = importlib.import_module("renkou.bench.import")


def test_the_baseline_writes_what_renkou_writes(personas, tmp_path):
    rows = persons_rows(25, bench.VILLAGES, seed=3)
    for fmt, write in (("csv", write_csv), ("xlsx", write_xlsx)):
        path = tmp_path / f"p.{fmt}"
        write(path, rows)
        base = bench._baseline(personas.admin, path, fmt)
        assert (base["baseline_rows"], base["baseline_new"] if fmt == "csv" else 0, base["baseline_invalid"]) == (
            25, 25 if fmt == "csv" else 0, 0)
        assert base["baseline_written"] == 25
    assert PersonHistory.objects.filter(action="import").count() == 25
    assert AuditEntry.objects.filter(object_type="person", action="create").count() == 25
    run, _ = import_file(by=personas.admin, kind="persons", data=(tmp_path / "p.csv").read_bytes(), file_name="p.csv")
    assert (run.unchanged, run.created, run.updated, run.rejected) == (25, 0, 0, 0)


def test_the_baseline_refuses_what_renkou_refuses(personas, tmp_path):
    rows = persons_rows(3, bench.VILLAGES, seed=4)
    rows[0][3] = "1990-02-30"  # impossible date
    rows[1][1] = rows[1][1][:17] + ("0" if rows[1][1][17] != "0" else "1")  # checksum warning, unconfirmed
    rows[2][7] = "500230999999"  # no such unit
    path = tmp_path / "bad.csv"
    write_csv(path, rows)
    base = bench._baseline(personas.admin, path, "csv")
    run, _ = import_file(by=personas.admin, kind="persons", data=path.read_bytes(), file_name="bad.csv", partial=True)
    assert base["baseline_invalid"] == 3 and run.rejected == 3
    assert not Person.objects.exists()


@pytest.mark.any_database
def test_the_events_benchmark_imports_every_row_and_prints_the_ratio():
    import io

    out = io.StringIO()
    importlib.import_module("renkou.bench.events").run(["--each", "20", "--baseline-each", "3"], out=out)
    text = out.getvalue()
    assert "import:   60 rows" in text and "rejected 0" in text and "again:    60 rows unchanged" in text
    assert "baseline: 9 events one by one" in text and "ratio:" in text
