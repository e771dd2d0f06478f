"""The same definitions on Apache Spark (local mode) give exactly DuckDB's numbers, also over two counties."""

from __future__ import annotations

import os
import shutil

import pytest

from renkou.orgunits.periods import Period
from renkou.stats import engine, spark
from renkou.stats.snapshot import snapshot_build, snapshot_copy_as


def _java_or_skip():
    if shutil.which("java") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Java is missing: Spark tests need a JRE (apt-get install openjdk-17-jre-headless)")
        pytest.skip("Java is not installed: install a JRE 17 to run the Spark engine tests")


@pytest.mark.any_database
def test_spark_gives_duckdbs_numbers_to_the_last_digit(small_register, tmp_path):
    _java_or_skip()
    snap = snapshot_build(tmp_path / "a").path
    snapshot_copy_as(snap, tmp_path / "b", "500231")
    periods = [Period.parse(p) for p in ("2023", "2024", "FP2024", "2024S2", "FP2024H1", "2024Q1", "202402")]
    # DuckDB reads the stocks kept with the snapshots; Spark counts them from the spells (the plan's own stock
    # steps), so that both ways are checked against each other.
    assert engine.stocks_cover([snap, tmp_path / "b"], engine.period_tables(periods)["dates"]["d"].to_pylist())
    duck = engine.run_duckdb([snap, tmp_path / "b"], periods).as_dict()
    by_spark = spark.run_spark([snap, tmp_path / "b"], periods, stored_stocks=False).as_dict()
    assert duck == by_spark
    assert duck[("LIVE_BIRTHS", "", "500230000000", "2024")] == 2
    assert duck[("LIVE_BIRTHS", "", "500231000000", "2024")] == 2
    assert duck[("POP_MEAN", "", "500231000000", "2024")] == 8.5
    assert len(duck) > 3000
