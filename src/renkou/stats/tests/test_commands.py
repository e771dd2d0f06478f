"""The commands: renkou stats (snapshot, compute to a file), renkou report, and the benchmark's code path."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

C = "500230000000"


def test_stats_snapshot_then_compute_to_csv_and_parquet(small_register, tmp_path, settings):
    out = io.StringIO()
    call_command("stats", "snapshot", stdout=out)
    assert "persons" in out.getvalue() and (settings.DATA_DIR / "stats" / "snapshot" / "events.parquet").exists()
    call_command("stats", "--period", "2024", "--period", "FP2024", "-o", str(tmp_path / "v.csv"), stdout=out)
    rows = list(csv.DictReader((tmp_path / "v.csv").open(encoding="utf-8")))
    got = {(r["data_element"], r["coc"], r["org_unit"], r["period"]): float(r["value"]) for r in rows}
    assert got[("LIVE_BIRTHS", "", C, "2024")] == 2 and got[("LIVE_BIRTHS", "", C, "FP2024")] == 3
    call_command("stats", "--period", "2024", "-o", str(tmp_path / "v.parquet"), stdout=out)
    assert pq.read_table(tmp_path / "v.parquet").num_rows == sum(1 for r in rows if r["period"] == "2024")


def test_stats_refuses_bad_input(small_register, tmp_path):
    with pytest.raises(CommandError, match="2024Q9"):
        call_command("stats", "--period", "2024Q9")
    with pytest.raises(CommandError, match="snapshot"):
        call_command("stats", "--snapshots", str(tmp_path / "none"), "--period", "2024")


def test_report_command_writes_each_format(small_register, tmp_path):
    call_command("report", "srb_township", "--unit", C, "--period", "2024", "-o", str(tmp_path / "s.json"),
                 stdout=io.StringIO())
    data = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    # Wilson, n = 2, p = ½: centre ½, half-width 0.4055 → p from 0.0945 to 0.9055 → ratios 0.1044 and 9.5785.
    assert data["rows"][0]["values"] == {"male": 1, "female": 1, "total": 2, "srb": 100, "low": 10.44,
                                         "high": 957.85}
    call_command("report", "pyramid", "--period", "2024", "-o", str(tmp_path / "p.xlsx"), stdout=io.StringIO())
    ws = load_workbook(tmp_path / "p.xlsx").active
    # boys C2 and C3, girls C1 and C4
    assert ws["A5"].value == "0–4岁" and ws["B5"].value == 2 and ws["C5"].value == 2
    call_command("report", "pop_births", "--period", "2024", "--format", "csv", "-o", str(tmp_path / "x.out"),
                 stdout=io.StringIO())
    assert "东城街道" in (tmp_path / "x.out").read_text(encoding="utf-8-sig")
    with pytest.raises(CommandError, match="999999"):
        call_command("report", "pyramid", "--unit", "999999999999", "--period", "2024", "-o", str(tmp_path / "a"))


def test_bench_orm_baseline_equals_duckdb_on_the_small_register(small_register):
    """The benchmark's baseline (ORM unit by unit) and DuckDB give the same indicators (its smoke test)."""
    from renkou.bench.stats import _orm_baseline
    from renkou.orgunits.periods import Period
    from renkou.stats.indicators import Definition, compute
    from renkou.stats.models import Indicator
    from renkou.stats.selectors import computed_cube

    periods = [Period.parse("2024"), Period.parse("FP2024")]
    orm, queries = _orm_baseline(periods)
    duck = computed_cube(periods).aligned(orm.rows)
    assert queries > 50
    for ind in Indicator.objects.all():
        a, b = compute(Definition.of(ind), orm).value, compute(Definition.of(ind), duck).value
        assert ((a == b) | (a != a) & (b != b)).all(), ind.code


def test_snapshot_prepare_writes_the_snapshot_once(small_register):
    """What ``renkou serve --demo`` calls at start: the snapshot is written, then left as it is while current."""
    from renkou.stats.services import snapshot_prepare

    first = snapshot_prepare()
    assert first.mode == "full" and (first.path / "stock_pop_age.parquet").exists()
    assert snapshot_prepare().mode == "current"
