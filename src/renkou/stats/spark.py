"""The Spark engine: the plan of engine.py (the same SQL text, transpiled by sqlglot) run by Spark over many
county snapshots (a province or the nation). Local mode here; a cluster's master is Spark's own setting.

How Spark runs the plan (nothing here changes what is computed):

- Each step of the plan that later steps read (the spells, the stock counts ``cnt_*``, every source ``src_*``)
  is computed once and kept as a *local checkpoint*: its rows stay in Spark's block manager and its lineage is
  cut. Cached tables (``cache()``) keep their lineage, and every task of a later stage then carries the whole
  plan behind them: the roll-up over 25 cached element tables spent most of its time deserialising task
  binaries (about 1 s per task, 4 stages × 39 tasks, on two 20k counties).
- The elements' rows (``leaf_sql`` of each element, their ``UNION ALL``) are one query over those small sources,
  checkpointed again, and ``final_sql`` reads that one table (each element's rows are already summed into every
  unit through the sources): three or four dozen Spark jobs in all instead of about 200.
- The period tables are created from Arrow (a local relation Spark broadcasts), not from Python rows (which
  started Python workers for every scan of them).
"""

from __future__ import annotations

import atexit
import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa

from renkou.orgunits.periods import Period
from renkou.stats.elements import ELEMENTS, DataElement
from renkou.stats.engine import (
    Result,
    _parquet_files,
    _plan_for,
    final_sql,
    leaf_sql,
    period_tables,
    snapshot_inputs,
)

# Local-mode settings (a cluster run sets its own through spark-submit / spark-defaults.conf).
SPARK_CONF = {
    "spark.master": "local[2]",
    "spark.app.name": "renkou-stats",
    "spark.driver.memory": os.environ.get("RENKOU_SPARK_MEMORY", "6g"),
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    # Few, large tasks: the tables after the first aggregation are small; AQE merges what is left.
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.parallelismFirst": "false",
    "spark.sql.files.maxPartitionBytes": "256m",
    "spark.locality.wait": "0",
    # The married women's spells join marriages with spells: broadcasting the marriages (a few tens of MB of
    # Parquet for a province; Spark falls back to a sort-merge join above this) saves sorting both sides.
    "spark.sql.autoBroadcastJoinThreshold": "64m",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def to_spark_sql(sql: str) -> str:
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


_spark = None


def spark_session():
    """One local Spark session per process (start-up costs seconds)."""
    global _spark
    if _spark is None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        builder = SparkSession.builder
        for key, value in SPARK_CONF.items():
            builder = builder.config(key, value)
        _spark = builder.getOrCreate()
        _spark.sparkContext.setLogLevel("ERROR")
        # py4j says at INFO level that each connection closes, also from finalizers at interpreter exit, when the
        # streams its log would go to may be closed already.
        logging.getLogger("py4j").setLevel(logging.WARNING)
        atexit.register(_spark.stop)  # the JVM goes with the process, not half-way through interpreter shutdown
    return _spark


def _frozen(df):
    """The rows of ``df`` computed now and kept, with the plan behind them cut off (see the module's doc)."""
    return df.localCheckpoint(eager=True)


def run_spark(snapshots: Sequence[Path], periods: Iterable[Period],
              elements: Sequence[DataElement] = ELEMENTS, stored_stocks: bool | None = None) -> Result:
    spark = spark_session()
    t0 = time.perf_counter()
    tables = period_tables(periods)
    inputs, spells, stocks = snapshot_inputs(snapshots, tables["dates"]["d"].to_pylist(), stored_stocks, elements)
    for t in inputs:
        spark.read.parquet(*_parquet_files(snapshots, t)).createOrReplaceTempView(t)
    for name, table in tables.items():
        spark.createDataFrame(table).createOrReplaceTempView(name)
    kept = []
    for name, sql in _plan_for(tables, spells=spells, stored_stocks=stocks, elements=elements):
        df = spark.sql(to_spark_sql(sql))
        if name != "mv":  # read once, by ``spells``; the others feed later steps and elements, most several
            df = _frozen(df)
            kept.append(df)
        df.createOrReplaceTempView(name)
    leaf = _frozen(spark.sql(to_spark_sql("\nUNION ALL\n".join(leaf_sql(el) for el in elements))))
    kept.append(leaf)
    leaf.createOrReplaceTempView("leaf_rows")
    rows = spark.sql(to_spark_sql(final_sql(elements, ["leaf_rows"]))).toArrow()
    for df in kept:
        df.unpersist()
    table = pa.table({c: rows.column(c) for c in ("data_element", "coc", "org_unit", "period", "value")})
    return Result(table=table, seconds=time.perf_counter() - t0, engine="spark")
