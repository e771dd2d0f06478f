"""The engines: the data elements compiled to one SQL plan, run by DuckDB over Parquet, or by Spark.

The plan is written once, in DuckDB's SQL, as a list of named steps (derived tables) and a final query; the Spark
engine runs the very same text, transpiled by sqlglot. Nothing about an element is written twice.

Inputs of the plan: the snapshot tables (``units``, ``ancestors``, ``persons``, ``events``, ``marriages``, see
snapshot.py) and three small tables the caller's periods give: ``periods(period, start_date, end_date)``,
``period_dates(period, at, d, weight)`` (the dates a stock is read at: the start, the end, and both with weight
½ for the mean) and ``dates(d, j)`` (the distinct dates, j their rank). The plan's steps are generated for
those dates (``plan_steps``: the stocks' pieces and per-date sums name the dates, the flows the periods' span)
and given unchanged to both engines. Output: one row per (data_element, coc, org_unit, period) with its value,
for every unit of the snapshots (villages summed into townships and the county through ``ancestors``: the stock
sources right after their per-village counts, each flow element after its per-village count; each element's
total by a grouping set), only where something is counted.

The stocks at month ends are also kept with the snapshot (``stock_<source>.parquet``, written by snapshot.py from
``stock_delta_sql``/``stock_store_sql``, the same intervals and pieces): a run whose stock dates are all month ends
within every snapshot's range reads them (``stored_stock_steps``) instead of counting them (``stock_steps``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from renkou.orgunits.periods import Period
from renkou.stats.elements import ELEMENTS, DataElement, age_sql

INPUT_TABLES = ("units", "ancestors", "persons", "events", "marriages")
HERE = "('resident', 'in')"

SPELL_PERSON = "{p}.sex, {p}.birth_date, {p}.death_date, {p}.registration_type, {p}.residence_status"

MOVE_STEPS: tuple[tuple[str, str], ...] = (
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
    # Spells of living in a village: present at the end of day d when valid_from <= d < valid_to; with the person's
    # sex, dates and registration (what the stocks count by), so that no later step joins persons again.
    ("spells", f"""
SELECT m.county, m.person_id, m.valid_from, m.valid_to, m.unit, {SPELL_PERSON.format(p='p')}
FROM (
  SELECT county, person_id, DATE '0001-01-01' AS valid_from, date AS valid_to, before_unit AS unit
  FROM mv WHERE rn = 1 AND before_here
  UNION ALL
  SELECT county, person_id, date AS valid_from, COALESCE(next_date, DATE '9999-12-31') AS valid_to,
    after_unit AS unit
  FROM mv WHERE after_here) m
JOIN persons p ON p.county = m.county AND p.id = m.person_id
UNION ALL
SELECT p.county, p.id AS person_id, DATE '0001-01-01' AS valid_from, DATE '9999-12-31' AS valid_to,
  p.residence_unit AS unit, {SPELL_PERSON.format(p='p')}
FROM persons p LEFT JOIN (SELECT DISTINCT county, person_id FROM mv) moved
  ON moved.county = p.county AND moved.person_id = p.id
WHERE moved.person_id IS NULL AND p.residence_status IN {HERE} AND p.residence_unit IS NOT NULL"""),
)

# A flow row can only fall in a period by its date or by the day it was recorded (``LATE_JOIN``): the sources keep
# the rows of the span of the periods asked ({SPAN}: the first start and the last end), not the whole history.
IN_SPAN_OR_RECORDED = "(date BETWEEN {SPAN} OR recorded_on BETWEEN {SPAN})"

DERIVED_STEPS: tuple[tuple[str, str], ...] = (
    ("src_births", f"""
SELECT unit, date, recorded_on, sex, live_born, birth_order,
  {age_sql('mother_birth_date', 'date')} AS mage, 1 AS n
FROM events WHERE kind = 'birth' AND {IN_SPAN_OR_RECORDED}"""),
    ("src_deaths", f"""
SELECT unit, date, recorded_on, person_sex AS sex, person_status, 1 AS n FROM events
WHERE kind = 'death' AND {IN_SPAN_OR_RECORDED}"""),
    ("src_marriages", "SELECT unit, married_on AS date, 1 AS n FROM marriages WHERE married_on BETWEEN {SPAN}"),
    ("src_divorces", "SELECT unit, ended_on AS date, 1 AS n FROM marriages "
                     "WHERE ended_on IS NOT NULL AND end_reason = 'divorce' AND ended_on BETWEEN {SPAN}"),
    ("src_moves_in", f"""
SELECT COALESCE(to_unit, unit) AS unit, date, recorded_on,
  CASE WHEN kind = 'move_in' THEN 'OTHER_COUNTY' ELSE 'WITHIN_COUNTY' END AS scope, 1 AS n
FROM events WHERE (kind = 'move_in' OR (kind = 'move_out' AND to_unit IS NOT NULL)) AND {IN_SPAN_OR_RECORDED}"""),
    ("src_moves_out", f"""
SELECT COALESCE(from_unit, unit) AS unit, date, recorded_on,
  CASE WHEN to_unit IS NULL THEN 'OTHER_COUNTY' ELSE 'WITHIN_COUNTY' END AS scope, 1 AS n
FROM events WHERE kind = 'move_out' AND {IN_SPAN_OR_RECORDED}"""),
)



def _ymd(col: str) -> str:
    """A date as the integer yyyymmdd (DuckDB and Spark alike). Completed years of age on day d of someone born on
    day b are exactly floor((ymd(d) − ymd(b)) / 10000), so the birthday of age A is the first day whose ymd is at
    least ymd(b) + A·10000 (29 February included: in other years the birthday is 1 March, as in ``age_sql``)."""
    return f"(year({col}) * 10000 + month({col}) * 100 + dayofmonth({col}))"


FOREVER = 99991231
# The ages the stocks are counted by: exact from 15 to 49, otherwise the first age of the five-year group (85 and
# over as 85) — what the declared elements use. As rows (index, first age, first age of the next group), so that an
# interval is cut only where its group changes.
AGE_GROUPS = ([(i, 5 * i, 5 * i + 5) for i in range(3)] + [(3 + a - 15, a, a + 1) for a in range(15, 50)]
              + [(38 + i, 50 + 5 * i, 55 + 5 * i) for i in range(7)] + [(45, 85, 1000)])
GROUP_INDEX = ("GREATEST(0, CASE WHEN {a} < 15 THEN CAST(FLOOR({a} / 5) AS INTEGER) WHEN {a} < 50 THEN {a} - 12 "
               "ELSE 38 + LEAST(7, CAST(FLOOR(({a} - 50) / 5) AS INTEGER)) END)")

# The stock sources: for each, the intervals [lo, hi) (yyyymmdd) during which a row is counted — living in the
# village (``spells``), born, not yet dead, and for married women married and not yet divorced or widowed —
# with the attributes it is counted by and the birth date ``b`` its age comes from.
STOCK_INTERVALS: dict[str, tuple[tuple[str, ...], str]] = {
    "pop": (("sex", "registration_type", "residence_status"), f"""
SELECT s.unit, s.sex, s.registration_type, s.residence_status, {_ymd('s.birth_date')} AS b,
  GREATEST({_ymd('s.valid_from')}, {_ymd('s.birth_date')}) AS lo,
  LEAST({_ymd('s.valid_to')}, COALESCE({_ymd('s.death_date')}, {FOREVER})) AS hi
FROM {{SPELLS}} s
WHERE s.unit IS NOT NULL AND s.birth_date IS NOT NULL AND {{SPELL_WITHIN}}"""),
    "mw": ((), f"""
SELECT s.unit, {_ymd('s.birth_date')} AS b,
  GREATEST({_ymd('s.valid_from')}, {_ymd('s.birth_date')}, {_ymd('m.married_on')}) AS lo,
  LEAST({_ymd('s.valid_to')}, COALESCE({_ymd('s.death_date')}, {FOREVER}),
    COALESCE({_ymd('m.ended_on')}, {FOREVER})) AS hi
FROM {{MARRIAGES}} m JOIN {{SPELLS}} s ON s.county = m.county AND s.person_id = m.wife_id
WHERE s.unit IS NOT NULL AND s.birth_date IS NOT NULL AND m.married_on IS NOT NULL AND {{SPELL_WITHIN}}
  AND m.married_on <= {{LAST}} AND (m.ended_on IS NULL OR m.ended_on > {{FIRST}})"""),
}


# The intervals that can overlap [first date, last date] at all, on the snapshot's own date columns (the same
# condition as ``lo <= last AND hi > first`` below, yyyymmdd keeping the order of dates), so that the rows outside
# are dropped while reading, before any yyyymmdd is computed. {FIRST}/{LAST}: DATE literals.
SPELL_WITHIN = ("s.valid_from <= {LAST} AND s.birth_date <= {LAST} AND s.valid_to > {FIRST} "
                "AND (s.death_date IS NULL OR s.death_date > {FIRST})")


# The stock sources the elements read (``src_<name>``): which counts, by which of their columns.
STOCK_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pop_age": ("pop", ("sex", "age")),
    "pop_attr": ("pop", ("sex", "registration_type", "residence_status")),
    "mw": ("mw", ("age",)),
}


def _within(sql: str, first_day: date, last_day: date, spells: str = "spells", marriages: str = "marriages") -> str:
    return (sql.replace("{SPELL_WITHIN}", SPELL_WITHIN).replace("{FIRST}", f"DATE '{first_day.isoformat()}'")
            .replace("{LAST}", f"DATE '{last_day.isoformat()}'").replace("{SPELLS}", spells)
            .replace("{MARRIAGES}", marriages))


def _ymd_of(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def _pieces(name: str, first_day: date, last_day: date, spells: str = "spells", marriages: str = "marriages") -> str:
    """The pieces of constant age group of the stock source ``name``'s intervals between the first and the last
    date, as the common table expressions ``iv`` (the intervals that can overlap those dates, with ``g0`` and
    ``g1``, the index of the age group at the first day of the interval within the dates and at its last) and
    ``pc`` (unit, attributes…, age, s, e): each interval is cut at the birthdays where its age group changes (group
    ``g0 + k``, k = 0…K: the ks as a small table of values, so that ``iv`` is read once), a piece starting after
    the last date left out. ``age`` is the group's first age (``AGE_GROUPS``). ``spells``/``marriages``: the tables
    read (or subqueries)."""
    attrs, intervals = STOCK_INTERVALS[name]
    cols = "".join(f"{a}, " for a in attrs)
    first, last = _ymd_of(first_day), _ymd_of(last_day)
    steps = _years_between([first_day, last_day]) + 1
    ks = ", ".join(f"({k})" for k in range(steps + 1))
    groups = ", ".join(f"({i}, {lo}, {hi})" for i, lo, hi in AGE_GROUPS)
    age_from = f"CAST(FLOOR((GREATEST(lo, {first}) - b) / 10000) AS INTEGER)"
    age_to = f"CAST(FLOOR((LEAST(hi, {last}) - b) / 10000) AS INTEGER)"
    return f"""WITH iv AS (SELECT x.*, {GROUP_INDEX.format(a=age_from)} AS g0, {GROUP_INDEX.format(a=age_to)} AS g1
  FROM ({_within(intervals, first_day, last_day, spells, marriages)}) x WHERE lo <= {last} AND hi > {first}),
pc AS (SELECT * FROM (
  SELECT unit, {cols}ag.age, GREATEST(lo, b + ag.age * 10000) AS s, LEAST(hi, b + ag.next_age * 10000) AS e
  FROM iv CROSS JOIN (VALUES {ks}) AS ks(k) JOIN (VALUES {groups}) AS ag(g, age, next_age) ON ag.g = iv.g0 + ks.k
  WHERE ks.k <= iv.g1 - iv.g0) p
  WHERE s < e AND s <= {last})"""


def stock_steps(dates: Sequence[date]) -> list[tuple[str, str]]:
    """The stocks at the dates without joining persons × dates.

    A row is counted at date d when lo <= d < hi, at the age it has on d. Each interval is cut into pieces of
    constant age (``_pieces``); the pieces are then counted by (village, attributes, age) with one conditional
    count per date — a single aggregation whatever the number of dates — and the counts are laid out as rows.
    Steps ``cnt_pop``/``cnt_mw``: (village, attributes…, age, c0…cN), the count at each date; ``src_<source>``:
    (unit, d, columns…, n), summed into every unit at or above the village and laid out as rows per date (no row
    for a count of 0). ``stored_stock_steps`` gives the same ``src_<source>`` rows from the snapshot's month-end
    stocks."""
    days = sorted(set(dates))
    ymds = [_ymd_of(d) for d in days]
    pick = "CASE dt.j " + " ".join(f"WHEN {j} THEN g.c{j}" for j in range(len(ymds))) + " END" if ymds else "0"
    first_day, last_day = (days[0], days[-1]) if days else (date(9999, 12, 31), date(9999, 12, 31))

    out = []
    for name, (attrs, _intervals) in STOCK_INTERVALS.items():
        cols = "".join(f"{a}, " for a in attrs)
        counts = ", ".join(f"COUNT(CASE WHEN s <= {v} AND e > {v} THEN 1 END) AS c{j}"
                           for j, v in enumerate(ymds))
        out.append((f"cnt_{name}", f"""
{_pieces(name, first_day, last_day)}
SELECT unit, {cols}age, {counts or '0 AS c0'} FROM pc
GROUP BY unit, {cols}age"""))
    for name, (base, by) in STOCK_SOURCES.items():
        cols = ", ".join(by)
        # Summed into every unit above the village (``ancestors``) here, on a few rows per unit, before the rows
        # are laid out per date.
        sums_up = ", ".join(f"SUM(c.c{j}) AS c{j}" for j in range(len(ymds))) or "0 AS c0"
        cs = ", ".join(f"c.{c}" for c in by)
        out.append((f"src_{name}", f"""
SELECT unit, d, {cols}, n FROM (
  SELECT g.unit, dt.d, {', '.join(f'g.{c}' for c in by)}, {pick} AS n
  FROM (SELECT an.ancestor AS unit, {cs}, {sums_up} FROM cnt_{base} c JOIN ancestors an ON an.unit = c.unit
        GROUP BY an.ancestor, {cs}) g CROSS JOIN dates dt) x
WHERE n > 0"""))
    return out


# --------------------------------------------------------------------------------------------------------------
# Stocks kept with the snapshot at every month end of a range (``stock_<source>.parquet``): every period's start
# (the day before its first day) and end is a month end, so a run over such periods reads its stocks instead of
# counting them. Written by the snapshot (DuckDB) from the same pieces as ``stock_steps``; a run whose dates are
# not all month ends within every snapshot's range counts them as above.


def month_ends(first: date, last: date) -> list[date]:
    """The last day of every month from ``first``'s month to ``last``'s."""
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        out.append(nxt - timedelta(days=1))
        y, m = nxt.year, nxt.month
    return out


def _month_index(x: str, first: date, n: int) -> str:
    """SQL (DuckDB): the index, among the month ends from ``first``'s month on, of the first month end on or after
    the day ``x`` (yyyymmdd), clamped to [0, n]. That is the month end of ``x``'s own month — except for a
    birthday 29 February in a year without one (a yyyymmdd only, see ``_ymd``), which falls after 28 February."""
    y = f"({x} // 10000)"
    leap = f"({y} % 4 = 0 AND ({y} % 100 <> 0 OR {y} % 400 = 0))"
    return (f"GREATEST(0, LEAST({n}, {y} * 12 + ({x} // 100) % 100 - {first.year * 12 + first.month}"
            f" + CASE WHEN {x} % 10000 = 229 AND NOT {leap} THEN 1 ELSE 0 END))")


def stock_delta_sql(source: str, first: date, last: date, spells: str = "spells", marriages: str = "marriages") -> str:
    """The month-end stocks of the stock source ``source`` by village as changes: (unit, columns…, j, dn), ``dn``
    rows more at month end ``j`` (an index into ``month_ends(first, last)``) than at month end j − 1. Additive over
    the rows counted, so that the part of a few persons can be taken out and put back (the snapshot's refresh). A
    piece [s, e) — an interval, or its pieces of constant age group when the source is counted by age — is counted
    at the month ends j with s <= d_j < e: from the month end on or after s up to the one before the month end on
    or after e."""
    base, by = STOCK_SOURCES[source]
    cols = "".join(f"{c}, " for c in by)
    n = len(month_ends(first, last))
    if "age" in by:
        rows, s, e = f"{_pieces(base, first, last, spells, marriages)},\nix AS (SELECT", "s", "e"
        src = "pc"
    else:
        rows, s, e = "WITH ix AS (SELECT", "lo", "hi"
        src = f"({_within(STOCK_INTERVALS[base][1], first, last, spells, marriages)}) x"
    return f"""{rows} {cols}unit, {_month_index(s, first, n)} AS js, {_month_index(e, first, n)} AS je FROM {src})
SELECT unit, {cols}j, SUM(dn) AS dn FROM (
  SELECT unit, {cols}UNNEST([js, je]) AS j, UNNEST([1, -1]) AS dn FROM ix WHERE js < je) x
WHERE j < {n} GROUP BY unit, {cols}j HAVING SUM(dn) <> 0"""


def stock_store_sql(source: str, deltas: str, months: str, n: int) -> str:
    """The stored stock ``source`` (unit, d, columns…, n) at every month end from its changes by village
    (``deltas``, see ``stock_delta_sql``): summed into every unit at or above the village, added up month by month,
    and laid out as a row per month end (``months``: j, d) with something counted."""
    _base, by = STOCK_SOURCES[source]
    cols = ", ".join(by)
    xcols = ", ".join(f"x.{c}" for c in by)
    return f"""
WITH g AS (SELECT an.ancestor AS unit, {xcols}, x.j, SUM(x.dn) AS dn
  FROM {deltas} x JOIN ancestors an ON an.unit = x.unit GROUP BY an.ancestor, {xcols}, x.j),
r AS (SELECT unit, {cols}, j, SUM(dn) OVER w AS n, LEAD(j, 1, {n}) OVER w AS jn FROM g
  WINDOW w AS (PARTITION BY unit, {cols} ORDER BY j)),
x AS (SELECT unit, {cols}, n, UNNEST(range(j, jn)) AS j FROM r WHERE n <> 0)
SELECT x.unit, mo.d, {xcols}, CAST(x.n AS BIGINT) AS n FROM x JOIN {months} mo ON mo.j = x.j"""


def stored_stock_steps(dates: Sequence[date]) -> list[tuple[str, str]]:
    """``src_<source>`` read from the snapshot's stored stocks (tables ``stock_<source>``) at the dates."""
    days = ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(set(dates))) or "DATE '9999-12-31'"
    return [(f"src_{name}", f"SELECT unit, d, {', '.join(by)}, n FROM stock_{name} WHERE d IN ({days})")
            for name, (_base, by) in STOCK_SOURCES.items()]


def stocks_cover(snapshots: Sequence[Path], dates: Sequence[date]) -> bool:
    """Whether every snapshot keeps its stocks at every one of the dates (all month ends within its range)."""
    if not dates or any((d + timedelta(days=1)).day != 1 for d in dates):
        return False
    lo, hi = min(dates).isoformat(), max(dates).isoformat()
    for s in snapshots:
        meta_file = Path(s) / "meta.json"
        stocks = json.loads(meta_file.read_text()).get("stocks") if meta_file.exists() else None
        if not stocks or not (stocks["first"] <= lo and hi <= stocks["last"]) or not all(
                (Path(s) / f"stock_{name}.parquet").exists() for name in STOCK_SOURCES):
            return False
    return True


def plan_steps(dates: Sequence[date], span: tuple[date, date] | None = None, *,
               spells: bool = True, stored_stocks: bool = False, stocks: bool = True) -> list[tuple[str, str]]:
    """Every named step of the plan, in order, for stocks read at these dates and flows within ``span`` (the first
    day and the last day of the periods). ``spells=False`` when the snapshots hold the spells already (written
    with the snapshot by the same ``MOVE_STEPS``, see snapshot.py); ``stored_stocks`` when they hold the stocks
    at those dates (``stocks_cover``); ``stocks=False`` when no element asked is a stock (no stock step)."""
    lo, hi = span or (date(1, 1, 1), date(9999, 12, 31))
    bounds = f"DATE '{lo.isoformat()}' AND DATE '{hi.isoformat()}'"
    stock = (stored_stock_steps(dates) if stored_stocks else stock_steps(dates)) if stocks else []
    return [*(MOVE_STEPS if spells and stocks and not stored_stocks else ()), *stock,
            *((n, sql.replace("{SPAN}", bounds)) for n, sql in DERIVED_STEPS)]


def spells_in(snapshots: Sequence[Path]) -> bool:
    """Whether every snapshot carries its spells (``spells.parquet``); else the plan computes them."""
    return all((Path(s) / "spells.parquet").exists() for s in snapshots)


def snapshot_inputs(snapshots: Sequence[Path], dates: Sequence[date], stored_stocks: bool | None = None,
                    elements: Sequence[DataElement] = ELEMENTS) -> tuple[list[str], bool, bool]:
    """The snapshot tables a run reads (as views of the same names), whether the plan computes the spells, and
    whether it reads the stored stocks: by default when they cover the dates; ``stored_stocks=False`` counts them
    (the tests compare both ways). A run of flow elements alone reads no stock."""
    stored = spells_in(snapshots)
    if not any(e.stock for e in elements):
        stored_stocks = False
    stocks = stocks_cover(snapshots, dates) if stored_stocks is None else stored_stocks
    tables = [*INPUT_TABLES, *(("spells",) if stored else ()), *(f"stock_{n}" for n in STOCK_SOURCES if stocks)]
    return tables, not stored, stocks


def _plan_for(tables: dict[str, pa.Table], *, spells: bool = True, stored_stocks: bool = False,
              elements: Sequence[DataElement] = ELEMENTS) -> list[tuple[str, str]]:
    periods = tables["periods"]
    span = (min(periods["start_date"].to_pylist()), max(periods["end_date"].to_pylist())) if periods.num_rows else None
    return plan_steps(tables["dates"]["d"].to_pylist(), span, spells=spells, stored_stocks=stored_stocks,
                      stocks=any(e.stock for e in elements))


def element_sql(el: DataElement) -> str:
    """The rows of one element for every unit: (data_element, coc, unit, period, value), the total under the COC
    ``""`` (a grouping set: every row, also the rows no option covers) and those rows under ``-``. The stock
    sources hold their counts for every unit already; a flow is counted by village, then summed into the units
    above through ``ancestors``."""
    rows = f"SELECT COALESCE({el.coc_sql()}, '-') AS k, a.unit AS unit, "
    if el.stock:
        # Counted first by (COC, unit, date) — a few rows per unit — and only then spread over the periods read at
        # that date: a period's start or end is one date (one row of ``period_dates``), its mean the sum of two.
        counted = (f"(SELECT k, unit, d, SUM(n) AS n FROM ({rows}a.d AS d, a.n AS n FROM src_{el.source} a "
                   f"WHERE {el.filter}) y GROUP BY GROUPING SETS ((k, unit, d), (unit, d))) x "
                   f"JOIN period_dates pd ON pd.d = x.d AND pd.at = '{el.at}'")
        head = f"SELECT '{el.code}' AS data_element, COALESCE(x.k, '') AS coc, x.unit AS unit, pd.period AS period, "
        if el.at in ("start", "end"):
            return f"{head}x.n * pd.weight AS value FROM {counted}"
        return f"{head}SUM(x.n * pd.weight) AS value FROM {counted} GROUP BY x.k, x.unit, pd.period"
    # Flows: counted by (COC, village, period) first, then summed into every unit at or above the village.
    join = el.period_join or "a.date BETWEEN pr.start_date AND pr.end_date"
    return (f"SELECT '{el.code}' AS data_element, COALESCE(k, '') AS coc, unit, period, SUM(n) AS value "
            f"FROM (SELECT v.k, an.ancestor AS unit, v.period, v.n FROM (SELECT k, unit, period, SUM(n) AS n "
            f"FROM ({rows}pr.period AS period, a.n AS n FROM src_{el.source} a JOIN periods pr ON {join} "
            f"WHERE {el.filter}) y GROUP BY k, unit, period) v JOIN ancestors an ON an.unit = v.unit) z "
            f"GROUP BY GROUPING SETS ((k, unit, period), (unit, period))")


def leaf_sql(el: DataElement) -> str:
    """One element's rows as the final query reads them (every unit; the rows no option covers left out)."""
    return (f"SELECT data_element, coc, unit, period, CAST(value AS DOUBLE) AS value "
            f"FROM ({element_sql(el)}) x WHERE coc <> '-'")


def final_sql(elements: Sequence[DataElement], leaf_views: Sequence[str] | None = None) -> str:
    """The element rows of every unit: the elements' rows one after the other (each element has summed its rows
    into every unit already, through the sources). ``leaf_views``: the elements' ``leaf_sql`` computed beforehand
    as named tables (Spark: all of them as one checkpointed table, see spark.py)."""
    leaf = "\nUNION ALL\n".join(
        [f"SELECT * FROM {v}" for v in leaf_views] if leaf_views is not None
        else [leaf_sql(e) for e in elements])
    return f"SELECT data_element, coc, unit AS org_unit, period, value FROM (\n{leaf}) l"


def period_tables(periods: Iterable[Period]) -> dict[str, pa.Table]:
    plist = list(dict.fromkeys(periods))
    pd_rows: list[tuple[str, str, object, float]] = []
    for p in plist:
        before = p.start - timedelta(days=1)
        pd_rows += [(p.code, "start", before, 1.0), (p.code, "end", p.end, 1.0),
                    (p.code, "mean", before, 0.5), (p.code, "mean", p.end, 0.5)]
    dates = sorted({r[2] for r in pd_rows})
    return {
        "periods": pa.table({"period": [p.code for p in plist], "start_date": pa.array([p.start for p in plist],
                                                                                      pa.date32()),
                             "end_date": pa.array([p.end for p in plist], pa.date32())}),
        "period_dates": pa.table({"period": [r[0] for r in pd_rows], "at": [r[1] for r in pd_rows],
                                  "d": pa.array([r[2] for r in pd_rows], pa.date32()),
                                  "weight": pa.array([r[3] for r in pd_rows], pa.float64())}),
        "dates": pa.table({"d": pa.array(dates, pa.date32()), "j": pa.array(range(len(dates)), pa.int32())}),
    }


def _years_between(dates: Sequence[date]) -> int:
    if not dates:
        return 0
    a, b = dates[0], dates[-1]
    return (b.year * 10000 + b.month * 100 + b.day - (a.year * 10000 + a.month * 100 + a.day)) // 10000


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
               elements: Sequence[DataElement] = ELEMENTS, threads: int | None = None,
               timings: dict[str, tuple[float, float]] | None = None, stored_stocks: bool | None = None) -> Result:
    """The plan run by DuckDB over the snapshots' Parquet files. ``timings``: filled with (wall, CPU) seconds per
    step (``setup``: the views and the period tables; each named step; ``final``: the final query into Arrow).
    CPU is this process's, DuckDB's threads included. ``stored_stocks``: see ``snapshot_inputs``."""
    t0 = time.perf_counter()
    clock = _Clock(timings)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        tables = period_tables(periods)
        inputs, spells, stocks = snapshot_inputs(snapshots, tables["dates"]["d"].to_pylist(), stored_stocks,
                                                 elements)
        for t in inputs:
            files = ", ".join(f"'{f}'" for f in _parquet_files(snapshots, t))
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet([{files}])")
        for name, table in tables.items():
            con.register(f"{name}_arrow", table)
            con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        clock.lap("setup")
        for name, sql in _plan_for(tables, spells=spells, stored_stocks=stocks, elements=elements):
            con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
            clock.lap(name)
        table = con.sql(final_sql(elements)).to_arrow_table()
        clock.lap("final")
    finally:
        con.close()
    return Result(table=table, seconds=time.perf_counter() - t0, engine="duckdb")


class _Clock:
    def __init__(self, into: dict[str, tuple[float, float]] | None) -> None:
        self.into = into
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        if self.into is None:
            return
        wall, cpu = time.perf_counter(), time.process_time()
        self.into[name] = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu


def run(engine: str, snapshots: Sequence[Path], periods: Iterable[Period],
        elements: Sequence[DataElement] = ELEMENTS, stored_stocks: bool | None = None) -> Result:
    if engine == "duckdb":
        return run_duckdb(snapshots, periods, elements, stored_stocks=stored_stocks)
    if engine == "spark":
        from renkou.stats.spark import run_spark

        return run_spark(snapshots, periods, elements, stored_stocks=stored_stocks)
    raise ValueError(f"unknown engine {engine!r}: duckdb or spark")
