"""The Spark engine: the plan of engine.py (the same SQL text, transpiled by sqlglot) run by Spark over many
county snapshots (a province or the nation). Local mode here; a cluster's master is Spark's own setting."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa

from renkou.orgunits.periods import Period
from renkou.stats.elements import ELEMENTS, DataElement
from renkou.stats.engine import (
    INPUT_TABLES,
    Result,
    _parquet_files,
    _plan_for,
    final_sql,
    leaf_sql,
    period_tables,
    spells_in,
)


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

        _spark = (SparkSession.builder.master("local[2]").appName("renkou-stats")
                  .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                  .config("spark.ui.showConsoleProgress", "false")
                  .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "2g")
                  .getOrCreate())
        _spark.sparkContext.setLogLevel("ERROR")
    return _spark


_SPARK_TYPES = {pa.string(): "string", pa.date32(): "date", pa.float64(): "double", pa.int32(): "int"}


def run_spark(snapshots: Sequence[Path], periods: Iterable[Period],
              elements: Sequence[DataElement] = ELEMENTS) -> Result:
    spark = spark_session()
    t0 = time.perf_counter()
    stored = spells_in(snapshots)
    for t in (*INPUT_TABLES, *(("spells",) if stored else ())):
        spark.read.parquet(*_parquet_files(snapshots, t)).createOrReplaceTempView(t)
    tables = period_tables(periods)
    for name, table in tables.items():
        schema = ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in table.schema)
        spark.createDataFrame([tuple(r.values()) for r in table.to_pylist()], schema=schema) \
            .createOrReplaceTempView(name)
    cached = []
    for name, sql in _plan_for(tables, spells=not stored):
        df = spark.sql(to_spark_sql(sql))
        if name in ("spells", "cnt_pop", "cnt_mw", "src_pop_age", "src_pop_attr", "src_mw"):
            df = df.cache()
            cached.append(df)
        df.createOrReplaceTempView(name)
    # Each element's rows first, each in stages of its own: in one query, the aggregations of all the elements
    # share a task's memory and ran out of it at a few hundred thousand persons (local mode, 2g).
    views = []
    for i, el in enumerate(elements):
        df = spark.sql(to_spark_sql(leaf_sql(el))).cache()
        df.count()
        cached.append(df)
        df.createOrReplaceTempView(f"leaf_{i}")
        views.append(f"leaf_{i}")
    rows = spark.sql(to_spark_sql(final_sql(elements, views))).toArrow()
    for df in cached:
        df.unpersist()
    table = pa.table({c: rows.column(c) for c in ("data_element", "coc", "org_unit", "period", "value")})
    return Result(table=table, seconds=time.perf_counter() - t0, engine="spark")
