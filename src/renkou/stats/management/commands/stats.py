"""renkou stats: build (or refresh) the register snapshot, or compute every data element from snapshots (DuckDB or
Spark), the contributed elements included (the values the snapshots carry, see stats/contributed.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from renkou.orgunits.periods import Period, PeriodError
from renkou.stats import contributed, engine
from renkou.stats.snapshot import snapshot_build, snapshot_dir, snapshot_export_contributed, snapshot_update


class Command(BaseCommand):
    help = ("'renkou stats snapshot [--refresh]' writes the Parquet snapshot of the register (with the contributed "
            "elements' values of the last years); 'renkou stats --engine duckdb|spark --snapshots DIR… --period P' "
            "computes every data element for every unit of those snapshots; "
            "'renkou stats indicators --unit CODE --period P [--json]' prints every indicator of a unit "
            "against its target.")

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["snapshot", "compute", "indicators"], default="compute")
        parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
        parser.add_argument("--snapshots", nargs="+", default=None,
                            help="snapshot folders (default: this county's, in the data folder)")
        parser.add_argument("--period", action="append", default=None,
                            help="renkou period code (2025, FP2025, 2025S1, 2025Q3, 202507); repeat for more; "
                                 "default: last calendar year")
        parser.add_argument("-o", "--output", default=None, help="write the values to a .parquet or .csv file")
        parser.add_argument("--out-dir", default=None, help="snapshot: where to write it (default: data folder)")
        parser.add_argument("--refresh", action="store_true",
                            help="snapshot: fetch only the rows changed since the snapshot was read (a full build "
                                 "when that cannot be done with certainty)")
        parser.add_argument("--contributed-years", type=int, default=contributed.EXPORT_YEARS,
                            help="snapshot: write the contributed elements' values for the periods of this many "
                                 "years before the current one (0: the current year only; -1: none)")
        parser.add_argument("--unit", default=None, help="indicators: 12-digit unit code (default: the county)")
        parser.add_argument("--json", action="store_true", help="indicators: print JSON")

    def handle(self, *args, **opts):
        if opts["action"] == "snapshot":
            target = Path(opts["out_dir"]) if opts["out_dir"] else snapshot_dir()
            info = snapshot_update(target) if opts["refresh"] else snapshot_build(target)
            how = "refreshed" if info.mode == "refresh" else "written"
            self.stdout.write(f"Snapshot {how} to {info.path} in {info.total_seconds:.2f} s")
            if info.why_full:
                self.stdout.write(f"  full build: {info.why_full}")
            if info.changed:
                self.stdout.write("  changed rows fetched: " + ", ".join(f"{t} {n:,}" for t, n in info.changed.items()))
            for table, rows in info.rows.items():
                self.stdout.write(f"  {table:<10} {rows:>10,} rows")
            self.stdout.write("  " + ", ".join(f"{step} {s:.2f} s" for step, s in info.seconds.items()))
            if opts["contributed_years"] >= 0:
                n, periods = snapshot_export_contributed(target, years=opts["contributed_years"])
                self.stdout.write(f"  contributed {n:,} values for {periods} periods")
            return
        try:
            periods = [Period.parse(p) for p in (opts["period"] or [str(timezone.localdate().year - 1)])]
        except PeriodError as exc:
            raise CommandError(str(exc)) from exc
        if opts["action"] == "indicators":
            self._indicators(opts["unit"], periods, opts["json"])
            return
        snapshots = [Path(s) for s in opts["snapshots"]] if opts["snapshots"] else [snapshot_dir()]
        try:
            result = engine.run(opts["engine"], snapshots, periods)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        found = contributed.snapshot_values(snapshots, periods)
        for snap, absent in found.missing.items():
            self.stderr.write(f"note: {snap} holds no contributed values for {', '.join(absent)} "
                              f"(written by 'renkou stats snapshot')")
        table = pa.concat_tables([result.table.select(found.table.schema.names).cast(found.table.schema),
                                  found.table])
        table = table.sort_by([("data_element", "ascending"), ("coc", "ascending"),
                                      ("org_unit", "ascending"), ("period", "ascending")])
        self.stdout.write(f"{opts['engine']}: {table.num_rows:,} values for {len(periods)} period(s) from "
                          f"{len(snapshots)} snapshot(s) in {result.seconds:.2f} s "
                          f"({found.table.num_rows:,} of them contributed)")
        out = opts["output"]
        if out:
            if out.endswith(".parquet"):
                pq.write_table(table, out)
            elif out.endswith(".csv"):
                pacsv.write_csv(table, out)
            else:
                raise CommandError("-o takes a .parquet or .csv file name")
            self.stdout.write(f"Written to {out}")

    def _indicators(self, unit_code: str | None, periods: list[Period], as_json: bool) -> None:
        from renkou.orgunits.selectors import unit_county, unit_get_by_code
        from renkou.stats.selectors import indicator_table

        unit = unit_get_by_code(code=unit_code) if unit_code else unit_county()
        if unit is None:
            raise CommandError(f"no unit {unit_code or '(county)'}")
        rows = []
        for p in periods:
            for r in indicator_table(unit.code, p):
                rows.append({"unit": unit.code, "period": p.code,
                             **{k: v for k, v in r.items() if k not in ("indicator", "decimals")}})
        if as_json:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        for r in rows:
            value = "—" if r["value"] is None else f"{r['value']}{r['unit_label']}"
            target = ""
            if r["target"] is not None:
                sign = "≥" if r["target_is_minimum"] else "≤"
                met = {True: "met", False: "NOT met", None: ""}[r["target_met"]]
                target = f"  target {sign} {r['target']:g}{r['unit_label']} {met}".rstrip()
            self.stdout.write(f"{r['period']:<9} {r['code']:<22} {r['name_zh']:<16} {value:>12}{target}")
