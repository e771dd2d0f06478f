"""The same definitions on Apache Spark (local mode) give exactly DuckDB's numbers, also over two counties."""

from __future__ import annotations

import os
import shutil

import pyarrow.parquet as pq
import pytest

from renkou.orgunits.periods import Period
from renkou.stats import engine
from renkou.stats.snapshot import snapshot_build


def _java_or_skip():
    if shutil.which("java") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Java is missing: Spark tests need a JRE (apt-get install openjdk-17-jre-headless)")
        pytest.skip("Java is not installed: install a JRE 17 to run the Spark engine tests")


def _recode(src, dst, county: str) -> None:
    """Copy a snapshot as another county: every unit code and the county column get the new prefix."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dst.mkdir()
    for f in src.glob("*.parquet"):
        t = pq.read_table(f)
        cols = {}
        for name in t.column_names:
            col = t[name]
            if pa.types.is_string(col.type) and name in {"county", "code", "parent_code", "unit", "ancestor",
                                                          "residence_unit", "registration_unit", "from_unit",
                                                          "to_unit"}:
                col = pc.replace_substring_regex(col, "^500230", county)
            cols[name] = col
        pq.write_table(pa.table(cols), dst / f.name)


def test_spark_gives_duckdbs_numbers_to_the_last_digit(small_register, tmp_path):
    _java_or_skip()
    snap = snapshot_build(tmp_path / "a").path
    _recode(snap, tmp_path / "b", "500231")
    periods = [Period.parse(p) for p in ("2023", "2024", "FP2024", "2024S2", "FP2024H1", "2024Q1", "202402")]
    duck = engine.run_duckdb([snap, tmp_path / "b"], periods).as_dict()
    spark = engine.run_spark([snap, tmp_path / "b"], periods).as_dict()
    assert duck == spark
    assert duck[("LIVE_BIRTHS", "", "500230000000", "2024")] == 2
    assert duck[("LIVE_BIRTHS", "", "500231000000", "2024")] == 2
    assert duck[("POP_MEAN", "", "500231000000", "2024")] == 8.5
    assert len(duck) > 3000
