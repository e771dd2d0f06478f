"""renkou bench stats: snapshot time, every indicator for every unit by DuckDB, against the Django ORM unit by unit.

Generates a synthetic county (``renkou demo``) into a fresh SQLite database in a temporary folder (or reuses
``--data-dir``; the install's own database is never touched), then, in a child process on that database:

1. writes the Parquet snapshot (timed);
2. DuckDB: every data element and every indicator for every unit for one year of each period type — the
   calendar year, the family-planning year, both halves of each, the four quarters and twelve months (22
   periods) — and for the two annual periods alone;
3. baseline, same run: the figures the indicators need, for the two annual periods, computed with the Django ORM
   unit by unit (aggregate queries per unit, period and date; the movers' residence resolved in Python), then
   the same indicator code; the values must equal DuckDB's (else the benchmark fails);
4. ``--province N``: N copies of the snapshot recoded as N counties, computed by DuckDB and by Spark (local
   mode) for the calendar year; both results must be equal.

Prints the figures and the ratios; it never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RENKOU_DATABASE_URL", None)
    env.pop("RENKOU_DEMO_TRUTH", None)
    env["RENKOU_DATA_DIR"] = str(data_dir)
    env["DJANGO_SETTINGS_MODULE"] = "renkou.settings"
    return env


def _renkou(args: list[str], data_dir: Path, out: Any = None) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "renkou.cli", *args], env=_env(data_dir), check=True,  # noqa: S603
                   stdout=None if out else subprocess.DEVNULL)
    return time.perf_counter() - started


def run(argv: list[str], out: Any) -> None:
    parser = argparse.ArgumentParser(prog="renkou bench stats", description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000, help="residents of the county (default 100000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--province", type=int, default=0, help="also Spark vs DuckDB on N county snapshots")
    parser.add_argument("--orm", choices=("sample", "all"), default="sample",
                        help="units of the ORM baseline: the county, its first township and that township's villages "
                             "(default), or every unit (hours at 1M persons)")
    parser.add_argument("--no-spark", action="store_true", help="with --province: DuckDB only")
    parser.add_argument("--province-only", action="store_true",
                        help="with --province: only the province (the county's snapshot as it is, written if missing)")
    parser.add_argument("--distinct", type=int, default=0, metavar="PERSONS",
                        help="with --province N: N distinct counties of about PERSONS residents each (renkou demo "
                             "with seeds 1…N, each snapshot recoded to its own county code) instead of N copies")
    parser.add_argument("--count-stocks", action="store_true",
                        help="with --province: both engines count the stocks from the spells instead of reading the "
                             "month-end stocks the snapshots keep")
    parser.add_argument("--province-dirs", nargs="*", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default=None,
                        help="reuse (or create) the county in this folder instead of a temporary one")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        _inner(args, out)
        return
    w = out.write
    w("renkou bench stats (SQLite)\n")
    with tempfile.TemporaryDirectory(prefix="renkou-bench-stats-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        if not (data_dir / "truth.json").exists():
            _renkou(["migrate", "-v0"], data_dir)
            seconds = _renkou(["demo", "--persons", str(args.persons), "--seed", str(args.seed)], data_dir)
            w(f"  county of about {args.persons:,} residents (seed {args.seed}) generated in {seconds:.1f} s\n")
        else:
            w(f"  reusing the county in {data_dir}\n")
        province_dirs = []
        if args.province and args.distinct:
            for k in range(1, args.province + 1):
                dk = data_dir / f"province-county-{k}"
                dk.mkdir(exist_ok=True)
                if not (dk / "truth.json").exists():
                    _renkou(["migrate", "-v0"], dk)
                    seconds = _renkou(["demo", "--persons", str(args.distinct), "--seed", str(k)], dk)
                    w(f"  province county {k}: about {args.distinct:,} residents (seed {k}) generated in "
                      f"{seconds:.1f} s\n")
                    out.flush()
                if not (dk / "stats" / "snapshot" / "meta.json").exists():
                    _renkou(["stats", "snapshot"], dk)
                province_dirs.append(str(dk / "stats" / "snapshot"))
        out.flush()
        inner = ["bench", "stats", "--inner", "--province", str(args.province), "--orm", args.orm,
                 *(["--count-stocks"] if args.count_stocks else []),
                 *(["--no-spark"] if args.no_spark else []), *(["--province-only"] if args.province_only else []),
                 *(["--province-dirs", *province_dirs] if province_dirs else [])]
        subprocess.run([sys.executable, "-m", "renkou.cli", *inner], env=_env(data_dir), check=True)  # noqa: S603


# ------------------------------------------------------------------------------------------------- the child


def _inner(args, out) -> None:  # noqa: C901 - a script: measure, compare, print
    if args.province_only:
        _province_only(args, out)
        return
    import numpy as np
    from django.conf import settings

    from renkou.orgunits.periods import Period
    from renkou.stats import engine
    from renkou.stats.cube import Cube
    from renkou.stats.indicators import Definition, compute
    from renkou.stats.models import Indicator
    from renkou.stats.snapshot import snapshot_build

    w = out.write
    truth = json.loads((Path(settings.DATA_DIR) / "truth.json").read_text())
    year = max(int(y) for y, v in truth["years"].items() if not v["partial"])
    w(f"  persons on the register: {truth['register']['persons']:,}; year {year}\n")
    snap_dir = Path(settings.DATA_DIR) / "stats" / "bench-snapshot"
    c0 = time.process_time()
    info = snapshot_build(snap_dir)
    w(f"snapshot: {info.total_seconds:.2f} s (CPU {time.process_time() - c0:.2f} s; "
      f"{', '.join(f'{t} {n:,}' for t, n in info.rows.items())}) [load {_load()}]\n")
    w(f"  {', '.join(f'{k} {v:.2f} s' for k, v in info.seconds.items())}\n")

    y = Period.parse(str(year))
    annual = [y, Period.parse(f"FP{year}")]
    every = [*annual, *[Period.parse(c) for c in (f"{year}S1", f"{year}S2", f"FP{year}H1", f"FP{year}H2")],
             *[Period.parse(f"{year}Q{q}") for q in range(1, 5)],
             *[Period.parse(f"{year}{m:02d}") for m in range(1, 13)]]
    defs = [Definition.of(i) for i in Indicator.objects.all()]
    from renkou.orgunits.models import OrgUnit

    unit_codes = list(OrgUnit.objects.values_list("code", flat=True))

    def duck(periods, timings=None):
        """Everything from the snapshot's Parquet files to every indicator value: the DuckDB plan (reading the
        files, every data element for every unit and period, into Arrow), the cube (units × periods × element
        values) and every indicator for every unit and period."""
        t0, c0 = time.perf_counter(), time.process_time()
        res = engine.run_duckdb([snap_dir], periods, timings=timings)
        t1, c1 = time.perf_counter(), time.process_time()
        cube = Cube.from_arrow(res.table, rows=[(u, p.code) for u in unit_codes for p in periods])
        t2, c2 = time.perf_counter(), time.process_time()
        values = {d.code: compute(d, cube) for d in defs}
        t3, c3 = time.perf_counter(), time.process_time()
        if timings is not None:
            timings["cube"], timings["indicators"] = (t2 - t1, c2 - c1), (t3 - t2, c3 - c2)
        return t3 - t0, c3 - c0, res, cube, values

    duck(annual)  # warm-up: imports, file cache
    runs = []
    for _ in range(3):
        steps: dict[str, tuple[float, float]] = {}
        t_run, c_run, res_all, cube_all, _v = duck(every, steps)
        runs.append((t_run, c_run, steps, _load()))
    t_all, c_all, steps, load = min(runs, key=lambda r: r[0])
    units = len({u for u, _p in cube_all.rows})
    w(f"every indicator × every unit × 22 periods (one year of each period type), from the snapshot's Parquet "
      f"files to the indicator values: {t_all:.3f} s wall, {c_all:.2f} s CPU (best of 3: "
      f"{', '.join(f'{r[0]:.3f} s / CPU {r[1]:.2f} s [load {r[3]}]' for r in runs)})\n")
    w(f"  covers: DuckDB reading the Parquet files and computing {len(engine.ELEMENTS)} data elements "
      f"({res_all.table.num_rows:,} element values, all units), the cube, {len(defs)} indicators × "
      f"{len(cube_all.rows):,} unit-periods ({units} units × 22 periods); not the snapshot itself\n")
    plan = {k: v for k, v in steps.items() if k not in ("cube", "indicators")}
    stock = {k: v for k, v in plan.items() if k.startswith("cnt_") or k.startswith("src_pop") or k == "src_mw"}
    flows = {k: v for k, v in plan.items() if k.startswith("src_") and k not in stock}
    parts = [("setup", [plan.get("setup", (0, 0))]), ("stocks (" + ", ".join(stock) + ")", list(stock.values())),
             ("flows (" + ", ".join(flows) + ")", list(flows.values())), ("elements → Arrow", [plan["final"]]),
             ("cube", [steps["cube"]]), ("indicators", [steps["indicators"]])]
    w("  where the time goes (wall / CPU): " + "; ".join(
        f"{name} {sum(v[0] for v in vs):.3f} / {sum(v[1] for v in vs):.3f} s" for name, vs in parts) + "\n")
    w(f"  steps: {', '.join(f'{k} {v[0]:.3f}/{v[1]:.3f}' for k, v in steps.items())}\n")
    # The stocks as the run read them (kept at month ends by the snapshot) against counted from the spells at the
    # run's dates, the way a run outside the kept range computes them: the same values, asserted.
    dates = engine.period_tables(every)["dates"]["d"].to_pylist()
    read = engine.stocks_cover([snap_dir], dates)
    t0, c0 = time.perf_counter(), time.process_time()
    counted = engine.run_duckdb([snap_dir], every, stored_stocks=False)
    t_cnt, c_cnt = time.perf_counter() - t0, time.process_time() - c0
    if counted.as_dict() != res_all.as_dict():
        raise SystemExit("the stocks read from the snapshot and the stocks counted from the spells differ")
    w(f"  stocks {'read from the snapshot (kept at every month end)' if read else 'counted from the spells'}; the "
      f"engine with the stocks counted from the spells instead: {t_cnt:.3f} s wall, {c_cnt:.2f} s CPU; "
      f"{counted.table.num_rows:,} values, the same\n")
    t_duck, c_duck, _res, cube, duck_values = duck(annual)
    w(f"the same for the 2 annual periods: {t_duck:.3f} s wall (CPU {c_duck:.2f} s) [load {_load()}]\n")

    sample = _orm_units(args.orm)
    t0, c0 = time.perf_counter(), time.process_time()
    per_unit: dict = {}
    orm_cube, queries = _orm_baseline(annual, sample, per_unit)
    orm_values = {d.code: compute(d, orm_cube) for d in defs}
    t_orm, c_orm = time.perf_counter() - t0, time.process_time() - c0
    levels = Counter(u.level for u in sample)
    w(f"baseline, Django ORM unit by unit, the 2 annual periods, {len(sample)} units "
      f"({', '.join(f'{n} of level {lv}' for lv, n in sorted(levels.items()))}): {t_orm:.2f} s "
      f"(CPU in this process {c_orm:.2f} s; {queries:,} queries) [load {_load()}]\n")
    # Same results: every indicator for every unit and period the baseline computed.
    index = {r: j for j, r in enumerate(cube.rows)}
    mismatches = 0
    for code, comp in orm_values.items():
        for j, row in enumerate(orm_cube.rows):
            a, b = comp.value[j], duck_values[code].value[index[row]] if row in index else np.nan
            if not (a == b or (np.isnan(a) and np.isnan(b))):
                mismatches += 1
                if mismatches <= 5:
                    w(f"  MISMATCH {code} {row}: ORM {a} DuckDB {b}\n")
    if mismatches:
        raise SystemExit(f"{mismatches} indicator values differ between the ORM baseline and DuckDB")
    w(f"same results: {len(orm_values)} indicators × {len(orm_cube.rows):,} unit-periods equal\n")
    all_levels = Counter(OrgUnit.objects.values_list("level", flat=True))
    if args.orm == "all":
        t_orm_all = t_orm
        w(f"ratio ORM / DuckDB (same work, every unit): {t_orm / t_duck:.1f}×\n")
    else:
        # Every unit, estimated from the sample: the mean time of a unit of each level × the units of that level.
        mean = {lv: sum(t for u, t in per_unit.items() if u.level == lv) / n for lv, n in levels.items()}
        t_orm_all = sum(mean.get(lv, 0.0) * n for lv, n in all_levels.items())
        w(f"  per unit-period: ORM {', '.join(f'level {lv} {mean[lv] / len(annual):.2f} s' for lv in sorted(mean))}; "
          f"DuckDB {t_duck / (units * len(annual)) * 1000:.2f} ms (every unit at once)\n")
        w(f"ratio ORM / DuckDB: measured {t_orm / t_duck:.1f}× (ORM for {len(sample)} units against DuckDB for all "
          f"{units}: a lower bound); every unit estimated from the sample's mean time per level "
          f"({t_orm_all:.0f} s): {t_orm_all / t_duck:.1f}×\n")
    w(f"summary: snapshot {info.total_seconds:.2f} s; every indicator × every unit × 22 periods {t_all:.3f} s wall "
      f"({c_all:.2f} s CPU, load {load}); ORM / DuckDB {t_orm / t_duck:.1f}× measured, "
      f"{t_orm_all / t_duck:.1f}× every unit estimated\n")
    w(f"goal: all 22 periods under 1 s after the snapshot — {'met' if t_all < 1 else 'not met'} ({t_all:.3f} s); "
      f"≥ 20× the ORM — {'met' if t_orm_all / t_duck >= 20 else 'not met'}\n")

    if args.province:
        _province(args.province, snap_dir, y, w, spark=not args.no_spark,
                  sources=[Path(d) for d in args.province_dirs or []], count=args.count_stocks)


def _province_only(args, out) -> None:
    """``--province-only``: the province made of this county's snapshot (``renkou stats snapshot``'s folder,
    written now if missing), for the last complete calendar year."""
    from django.conf import settings

    from renkou.orgunits.periods import Period
    from renkou.stats.snapshot import snapshot_build

    data = Path(settings.DATA_DIR)
    truth = json.loads((data / "truth.json").read_text())
    year = max(int(y) for y, v in truth["years"].items() if not v["partial"])
    snap_dir = data / "stats" / "snapshot"
    if not (snap_dir / "meta.json").exists():
        snapshot_build(snap_dir)
    out.write(f"  persons on the register: {truth['register']['persons']:,}; year {year}; snapshot {snap_dir}\n")
    _province(args.province, snap_dir, Period.parse(str(year)), out.write, spark=not args.no_spark,
              sources=[Path(d) for d in args.province_dirs or []], count=args.count_stocks)


def _province(n: int, snap_dir: Path, period, w, *, spark: bool = True, sources: list[Path] | None = None,
              count: bool = False) -> None:
    import shutil

    import pyarrow.parquet as pq

    from renkou.stats import engine
    from renkou.stats.snapshot import snapshot_copy_as

    root = snap_dir.parent / "province"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    t0 = time.perf_counter()
    dirs = []
    for k in range(n):
        county = f"{990000 + k + 1:06d}"
        dirs.append(snapshot_copy_as(sources[k] if sources else snap_dir, root / county, county))
    rows = {t: sum(pq.ParquetFile(d / f"{t}.parquet").metadata.num_rows for d in dirs)
            for t in ("persons", "events", "marriages", "spells") if (dirs[0] / f"{t}.parquet").exists()}
    what = (f"{n} distinct demo counties (seeds 1…{n})" if sources else f"{n} copies of this county")
    w(f"province: {what}, recoded {dirs[0].name}…{dirs[-1].name}, {rows['persons']:,} person records "
      f"({', '.join(f'{t} {v:,}' for t, v in rows.items())}), written in {time.perf_counter() - t0:.1f} s\n")
    stored = False if count else None
    dates = engine.period_tables([period])["dates"]["d"].to_pylist()
    w(f"  stocks: {'read from the snapshots (kept at month ends)' if stored is None and engine.stocks_cover(dirs, dates) else 'counted from the spells'}\n")
    c0 = time.process_time()
    duck = engine.run_duckdb(dirs, [period], stored_stocks=stored)
    w(f"  duckdb: {duck.seconds:.2f} s (CPU {time.process_time() - c0:.2f} s), {duck.table.num_rows:,} values "
      f"[load {_load()}]\n")
    if not spark:
        return
    from renkou.stats.spark import SPARK_CONF, run_spark, spark_session

    t0 = time.perf_counter()
    spark_session()
    w(f"  spark session ({SPARK_CONF['spark.master']}, driver memory {SPARK_CONF['spark.driver.memory']}) started in "
      f"{time.perf_counter() - t0:.1f} s (JVM CPU {_jvm_cpu():.1f} s)\n")
    c0, j0 = time.process_time(), _jvm_cpu()
    res = run_spark(dirs, [period], stored_stocks=stored)
    w(f"  spark: {res.seconds:.2f} s (CPU: JVM {_jvm_cpu() - j0:.1f} s, Python {time.process_time() - c0:.2f} s), "
      f"{res.table.num_rows:,} values [load {_load()}]\n")
    same = duck.as_dict() == res.as_dict()
    w(f"  same results: {same}; ratio spark / duckdb: {res.seconds / duck.seconds:.1f}× (wall)\n")
    if not same:
        raise SystemExit("Spark and DuckDB differ")


def _jvm_cpu() -> float:
    """CPU seconds (user + system) of the JVMs this process started (Spark's driver in local mode), from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
            if int(fields[1]) == os.getpid() and b"java" in (stat.parent / "cmdline").read_bytes():
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --------------------------------------------------------------------------------------- the ORM baseline


def _orm_units(which: str) -> list:
    """The units of the ORM baseline: every unit, or the county, its first township and that township's villages."""
    from renkou.orgunits.models import OrgUnit

    units = list(OrgUnit.objects.order_by("code"))
    if which == "all":
        return units
    county = min(units, key=lambda u: (u.level, u.code))
    township = next(u for u in units if u.parent_id == county.id)
    return [county, township, *(u for u in units if u.parent_id == township.id)]

HERE = ("resident", "in")


def _orm_baseline(periods, units=None, timings: dict | None = None) -> tuple[Any, int]:  # noqa: C901 - the naive way, on purpose unit by unit
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.db import connection
    from django.db.models import Count, Exists, OuterRef, Q
    from django.test.utils import CaptureQueriesContext

    from renkou.orgunits.models import OrgUnit
    from renkou.registry.models import Event, Person
    from renkou.stats.cube import Cube

    tz = ZoneInfo(settings.TIME_ZONE)
    moves = ("move_in", "move_out")
    items: list[tuple[str, str, str, str, float]] = []

    def age_bounds(d: date, a: int) -> tuple[date, date]:
        """Born in (d − (a+1) years, d − a years]: completed age a on day d."""
        hi = _minus_years(d, a)
        lo = _minus_years(d, a + 1) + timedelta(days=1)
        return lo, hi

    per_unit: dict = {} if timings is None else timings  # unit → seconds
    if units is None:
        units = list(OrgUnit.objects.order_by("code"))
    with CaptureQueriesContext(connection) as ctx:
        for unit in units:
            started = time.perf_counter()
            ids = list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True))
            # The movers of this subtree: everyone with a move whose unit, origin or destination lies in it.
            mover_ids = Event.objects.filter(kind__in=moves, person__isnull=False).filter(
                Q(unit_id__in=ids) | Q(from_unit_id__in=ids) | Q(to_unit_id__in=ids)).values("person_id")
            mover_rows = list(Event.objects.filter(kind__in=moves, person_id__in=mover_ids).order_by(
                "person_id", "date", "id").values_list("person_id", "kind", "date", "unit_id", "from_unit_id",
                                                       "to_unit_id", "person__sex", "person__birth_date",
                                                       "person__death_date"))
            by_person: dict[int, list] = defaultdict(list)
            for r in mover_rows:
                by_person[r[0]].append(r)
            idset = set(ids)
            for p in periods:
                code = p.code
                for at, d in (("start", p.start - timedelta(days=1)), ("end", p.end)):
                    alive = Q(birth_date__lte=d) & (Q(death_date__isnull=True) | Q(death_date__gt=d))
                    women = {f"a{a}": Count("id", filter=Q(sex="2", birth_date__range=age_bounds(d, a)))
                             for a in range(15, 50)}
                    agg = Person.objects.filter(alive, residence_unit_id__in=ids, residence_status__in=HERE).exclude(
                        Exists(Event.objects.filter(person=OuterRef("pk"), kind__in=moves))).aggregate(
                        n=Count("id"), **women)
                    women_by_age = Counter({a: agg[f"a{a}"] for a in range(15, 50)})
                    total = agg["n"]
                    for rows in by_person.values():
                        where = _unit_at(rows, d)
                        _pid, _k, _dt, _u, _f, _t, sex, born, died = rows[0]
                        if where in idset and born <= d and (died is None or died > d):
                            total += 1
                            if sex == "2":
                                age = _age(born, d)
                                if 15 <= age <= 49:
                                    women_by_age[age] += 1
                    half = 0.5
                    items.append(("POP_MEAN", "", unit.code, code, total * half))
                    items.append(("WOMEN_15_49_MEAN", "", unit.code, code, sum(women_by_age.values()) * half))
                    for a, n in women_by_age.items():
                        items.append(("WOMEN_MEAN_AGE1", f"A{a}", unit.code, code, n * half))
                    items.append((f"POP_{at.upper()}", "", unit.code, code, total))
                births = list(Event.objects.filter(kind="birth", unit_id__in=ids, date__range=(p.start, p.end))
                              .values_list("sex", "live_born", "birth_order", "mother__birth_date", "date",
                                           "recorded_at"))
                live = [b for b in births if b[1]]
                items += [("LIVE_BIRTHS", "", unit.code, code, len(live)),
                          ("LIVE_BIRTHS", "MALE", unit.code, code, sum(b[0] == "1" for b in live)),
                          ("LIVE_BIRTHS", "FEMALE", unit.code, code, sum(b[0] == "2" for b in live)),
                          ("LIVE_BIRTHS_ORDER", "O1", unit.code, code, sum(b[2] == 1 for b in live)),
                          ("LIVE_BIRTHS_ORDER", "O2", unit.code, code, sum(b[2] == 2 for b in live)),
                          ("LIVE_BIRTHS_ORDER", "O3P", unit.code, code, sum((b[2] or 0) >= 3 for b in live)),
                          ("LIVE_BIRTHS_LATE", "", unit.code, code,
                           sum(b[5].astimezone(tz).date() > p.end for b in live))]
                for age, n in Counter(_age(b[3], b[4]) for b in live if b[3]).items():
                    if 15 <= age <= 49:
                        items.append(("LIVE_BIRTHS_MAGE1", f"A{age}", unit.code, code, n))
                start = datetime.combine(p.start, datetime.min.time(), tz)
                end = datetime.combine(p.end + timedelta(days=1), datetime.min.time(), tz)
                items.append(("LIVE_BIRTHS_EARLIER", "", unit.code, code, Event.objects.filter(
                    kind="birth", live_born=True, unit_id__in=ids, date__lt=p.start, recorded_at__gte=start,
                    recorded_at__lt=end).count()))
                items.append(("DEATHS_RESIDENCE", "HERE", unit.code, code, Event.objects.filter(
                    kind="death", unit_id__in=ids, date__range=(p.start, p.end),
                    person__residence_status__in=HERE).count()))
            per_unit[unit] = time.perf_counter() - started
    merged: dict[tuple[str, str, str, str], float] = defaultdict(float)
    for k0, k1, u, pc, v in items:
        merged[(k0, k1, u, pc)] += v
    return Cube.from_rows([(*k, v) for k, v in merged.items()]), len(ctx.captured_queries)


def _minus_years(d: date, n: int) -> date:
    try:
        return d.replace(year=d.year - n)
    except ValueError:  # 29 February
        return d.replace(year=d.year - n, day=28)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _unit_at(rows: list, d: date) -> int | None:
    """The unit a mover lived in at the end of day d (the engines' rule, in Python)."""
    last = None
    for r in rows:
        if r[2] <= d:
            last = r
    if last is None:
        first = rows[0]
        return (first[4] or first[3]) if first[1] == "move_out" else None
    if last[1] == "move_in":
        return last[5] or last[3]
    return last[5]
