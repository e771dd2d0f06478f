"""The engines: the data elements compiled to one SQL plan, run by DuckDB over Parquet, or by Spark.

The plan is written once, in DuckDB's SQL, as a list of named steps (derived tables) and a final query; the Spark
engine runs the very same text, transpiled by sqlglot. Nothing about an element is written twice.

Inputs of the plan: the snapshot tables (``units``, ``ancestors``, ``persons``, ``events``, ``marriages``, see
snapshot.py) and three small tables the caller's periods give: ``periods(period, start_date, end_date)``,
``period_dates(period, at, d, weight)`` (the dates a stock is read at: the start, the end, and both with weight
½ for the mean) and ``dates(d)``. Output: one row per (data_element, coc, org_unit, period) with its value, for
every unit of the snapshots (villages rolled up to townships and the county through ``ancestors``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from renkou.orgunits.periods import Period
from renkou.stats.elements import ELEMENTS, DataElement, age_sql

INPUT_TABLES = ("units", "ancestors", "persons", "events", "marriages")
HERE = "('resident', 'in')"

STEPS: tuple[tuple[str, str], ...] = (
    # Moves of each person in date order, with the state each leaves behind and the state before it.
    ("mv", """
SELECT county, person_id, date, id,
  CASE WHEN kind = 'move_in' THEN TRUE WHEN to_unit IS NOT NULL THEN TRUE ELSE FALSE END AS after_here,
  CASE WHEN kind = 'move_in' THEN COALESCE(to_unit, unit) ELSE to_unit END AS after_unit,
  CASE WHEN kind = 'move_in' THEN FALSE ELSE TRUE END AS before_here,
  CASE WHEN kind = 'move_in' THEN CAST(NULL AS VARCHAR) ELSE COALESCE(from_unit, unit) END AS before_unit,
  ROW_NUMBER() OVER (PARTITION BY county, person_id ORDER BY date, id) AS rn,
  LEAD(date) OVER (PARTITION BY county, person_id ORDER BY date, id) AS next_date
FROM events WHERE kind IN ('move_in', 'move_out') AND person_id IS NOT NULL"""),
    # Spells of living in a village: present at the end of day d when valid_from <= d < valid_to.
    ("spells", f"""
SELECT county, person_id, DATE '0001-01-01' AS valid_from, date AS valid_to, before_unit AS unit
FROM mv WHERE rn = 1 AND before_here
UNION ALL
SELECT county, person_id, date AS valid_from, COALESCE(next_date, DATE '9999-12-31') AS valid_to,
  after_unit AS unit
FROM mv WHERE after_here
UNION ALL
SELECT p.county, p.id AS person_id, DATE '0001-01-01' AS valid_from, DATE '9999-12-31' AS valid_to,
  p.residence_unit AS unit
FROM persons p LEFT JOIN (SELECT DISTINCT county, person_id FROM mv) moved
  ON moved.county = p.county AND moved.person_id = p.id
WHERE moved.person_id IS NULL AND p.residence_status IN {HERE} AND p.residence_unit IS NOT NULL"""),
    # Persons living here at each date, counted by village and the attributes the elements disaggregate by. The age
    # is exact under 50 and the first age of its five-year group from 50 (85 for 85 and over): all that the declared
    # elements use (women 15–49, single years 15–49, five-year groups), at a fraction of the rows.
    ("src_pop", f"""
SELECT unit, d, sex, CASE WHEN age < 50 THEN age ELSE LEAST(85, CAST(FLOOR(age / 5) AS INTEGER) * 5) END AS age,
  registration_type, residence_status, COUNT(*) AS n
FROM (SELECT s.unit, dd.d, p.sex, {age_sql('p.birth_date', 'dd.d')} AS age, p.registration_type, p.residence_status
  FROM spells s JOIN persons p ON p.county = s.county AND p.id = s.person_id
  JOIN dates dd ON s.valid_from <= dd.d AND dd.d < s.valid_to
  WHERE s.unit IS NOT NULL AND p.birth_date <= dd.d AND (p.death_date IS NULL OR p.death_date > dd.d)) x
GROUP BY 1, 2, 3, 4, 5, 6"""),
    # The same, by village, sex and age only, and by registration type and status only: what the elements read.
    ("src_pop_age", "SELECT unit, d, sex, age, SUM(n) AS n FROM src_pop GROUP BY 1, 2, 3, 4"),
    ("src_pop_attr", "SELECT unit, d, registration_type, residence_status, SUM(n) AS n FROM src_pop "
                     "GROUP BY 1, 2, 3, 4"),
    # Married women living here at each date.
    ("src_mw", f"""
SELECT s.unit, dd.d, {age_sql('p.birth_date', 'dd.d')} AS age, COUNT(*) AS n
FROM marriages m JOIN persons p ON p.county = m.county AND p.id = m.wife_id
JOIN spells s ON s.county = m.county AND s.person_id = m.wife_id
JOIN dates dd ON s.valid_from <= dd.d AND dd.d < s.valid_to
WHERE s.unit IS NOT NULL AND m.married_on <= dd.d AND (m.ended_on IS NULL OR m.ended_on > dd.d)
  AND p.birth_date <= dd.d AND (p.death_date IS NULL OR p.death_date > dd.d)
GROUP BY s.unit, dd.d, {age_sql('p.birth_date', 'dd.d')}"""),
    ("src_births", f"""
SELECT unit, date, recorded_on, sex, live_born, birth_order,
  {age_sql('mother_birth_date', 'date')} AS mage, 1 AS n
FROM events WHERE kind = 'birth'"""),
    ("src_deaths", """
SELECT unit, date, recorded_on, person_sex AS sex, person_status, 1 AS n FROM events WHERE kind = 'death'"""),
    ("src_marriages", "SELECT unit, married_on AS date, 1 AS n FROM marriages"),
    ("src_divorces", "SELECT unit, ended_on AS date, 1 AS n FROM marriages "
                     "WHERE ended_on IS NOT NULL AND end_reason = 'divorce'"),
    ("src_moves_in", """
SELECT COALESCE(to_unit, unit) AS unit, date, recorded_on,
  CASE WHEN kind = 'move_in' THEN 'OTHER_COUNTY' ELSE 'WITHIN_COUNTY' END AS scope, 1 AS n
FROM events WHERE kind = 'move_in' OR (kind = 'move_out' AND to_unit IS NOT NULL)"""),
    ("src_moves_out", """
SELECT COALESCE(from_unit, unit) AS unit, date, recorded_on,
  CASE WHEN to_unit IS NULL THEN 'OTHER_COUNTY' ELSE 'WITHIN_COUNTY' END AS scope, 1 AS n
FROM events WHERE kind = 'move_out'"""),
)


def element_sql(el: DataElement) -> str:
    """The leaf rows of one element: (data_element, coc, unit, period, value) per village."""
    head = f"SELECT '{el.code}' AS data_element, {el.coc_sql()} AS coc, a.unit AS unit, "
    if el.stock:
        return (f"{head}pd.period AS period, SUM(a.n * pd.weight) AS value FROM src_{el.source} a "
                f"JOIN period_dates pd ON pd.d = a.d AND pd.at = '{el.at}' WHERE {el.filter} "
                "GROUP BY 1, 2, 3, 4")
    join = el.period_join or "a.date BETWEEN pr.start_date AND pr.end_date"
    return (f"{head}pr.period AS period, SUM(a.n) AS value FROM src_{el.source} a JOIN periods pr ON {join} "
            f"WHERE {el.filter} GROUP BY 1, 2, 3, 4")


def final_sql(elements: Sequence[DataElement]) -> str:
    leaf = "\nUNION ALL\n".join(
        f"SELECT data_element, coc, unit, period, CAST(value AS DOUBLE) AS value FROM ({element_sql(e)}) x{i}"
        for i, e in enumerate(elements))
    return f"""
WITH leaf AS ({leaf}),
rolled AS (
  SELECT l.data_element, l.coc, an.ancestor AS org_unit, l.period, SUM(l.value) AS value
  FROM leaf l JOIN ancestors an ON an.unit = l.unit
  GROUP BY l.data_element, l.coc, an.ancestor, l.period
)
SELECT data_element, coc, org_unit, period, value FROM rolled WHERE coc IS NOT NULL
UNION ALL
SELECT data_element, '' AS coc, org_unit, period, SUM(value) AS value FROM rolled
GROUP BY data_element, org_unit, period"""


def period_tables(periods: Iterable[Period]) -> dict[str, pa.Table]:
    plist = list(dict.fromkeys(periods))
    pd_rows: list[tuple[str, str, object, float]] = []
    for p in plist:
        before = p.start - timedelta(days=1)
        pd_rows += [(p.code, "start", before, 1.0), (p.code, "end", p.end, 1.0),
                    (p.code, "mean", before, 0.5), (p.code, "mean", p.end, 0.5)]
    return {
        "periods": pa.table({"period": [p.code for p in plist], "start_date": pa.array([p.start for p in plist],
                                                                                      pa.date32()),
                             "end_date": pa.array([p.end for p in plist], pa.date32())}),
        "period_dates": pa.table({"period": [r[0] for r in pd_rows], "at": [r[1] for r in pd_rows],
                                  "d": pa.array([r[2] for r in pd_rows], pa.date32()),
                                  "weight": pa.array([r[3] for r in pd_rows], pa.float64())}),
        "dates": pa.table({"d": pa.array(sorted({r[2] for r in pd_rows}), pa.date32())}),
    }


@dataclass
class Result:
    table: pa.Table  # data_element, coc, org_unit, period, value
    seconds: float
    engine: str

    def as_dict(self) -> dict[tuple[str, str, str, str], float]:
        cols = self.table.to_pydict()
        return {(d, c, u, p): v for d, c, u, p, v in zip(cols["data_element"], cols["coc"], cols["org_unit"],
                                                            cols["period"], cols["value"], strict=True)}


def _parquet_files(snapshots: Sequence[Path], table: str) -> list[str]:
    files = [str(Path(s) / f"{table}.parquet") for s in snapshots]
    missing = [f for f in files if not Path(f).exists()]
    if missing:
        raise FileNotFoundError(f"snapshot table missing: {missing[0]} (run 'renkou stats snapshot')")
    return files


def run_duckdb(snapshots: Sequence[Path], periods: Iterable[Period],
               elements: Sequence[DataElement] = ELEMENTS, threads: int | None = None) -> Result:
    t0 = time.perf_counter()
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        for t in INPUT_TABLES:
            files = ", ".join(f"'{f}'" for f in _parquet_files(snapshots, t))
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet([{files}])")
        for name, table in period_tables(periods).items():
            con.register(f"{name}_arrow", table)
            con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        for name, sql in STEPS:
            con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
        table = con.sql(final_sql(elements)).to_arrow_table()
    finally:
        con.close()
    return Result(table=table, seconds=time.perf_counter() - t0, engine="duckdb")


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


_SPARK_TYPES = {pa.string(): "string", pa.date32(): "date", pa.float64(): "double"}


def run_spark(snapshots: Sequence[Path], periods: Iterable[Period],
              elements: Sequence[DataElement] = ELEMENTS) -> Result:
    spark = spark_session()
    t0 = time.perf_counter()
    for t in INPUT_TABLES:
        spark.read.parquet(*_parquet_files(snapshots, t)).createOrReplaceTempView(t)
    for name, table in period_tables(periods).items():
        schema = ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in table.schema)
        spark.createDataFrame([tuple(r.values()) for r in table.to_pylist()], schema=schema) \
            .createOrReplaceTempView(name)
    cached = []
    for name, sql in STEPS:
        df = spark.sql(to_spark_sql(sql))
        if name in ("spells", "src_pop", "src_pop_age", "src_pop_attr", "src_mw"):
            df = df.cache()
            cached.append(df)
        df.createOrReplaceTempView(name)
    rows = spark.sql(to_spark_sql(final_sql(elements))).toArrow()
    for df in cached:
        df.unpersist()
    table = pa.table({c: rows.column(c) for c in ("data_element", "coc", "org_unit", "period", "value")})
    return Result(table=table, seconds=time.perf_counter() - t0, engine="spark")


def run(engine: str, snapshots: Sequence[Path], periods: Iterable[Period],
        elements: Sequence[DataElement] = ELEMENTS) -> Result:
    if engine == "duckdb":
        return run_duckdb(snapshots, periods, elements)
    if engine == "spark":
        return run_spark(snapshots, periods, elements)
    raise ValueError(f"unknown engine {engine!r}: duckdb or spark")
