"""renkou stats: build the register snapshot, or compute every data element from snapshots (DuckDB or Spark)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from renkou.orgunits.periods import Period, PeriodError
from renkou.stats import engine
from renkou.stats.snapshot import snapshot_build, snapshot_dir


class Command(BaseCommand):
    help = ("'renkou stats snapshot' writes the Parquet snapshot of the register; 'renkou stats --engine duckdb|spark "
            "--snapshots DIR… --period P' computes every data element for every unit of those snapshots.")

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["snapshot", "compute"], default="compute")
        parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
        parser.add_argument("--snapshots", nargs="+", default=None,
                            help="snapshot folders (default: this county's, in the data folder)")
        parser.add_argument("--period", action="append", default=None,
                            help="renkou period code (2025, FP2025, 2025S1, 2025Q3, 202507); repeat for more; "
                                 "default: last calendar year")
        parser.add_argument("-o", "--output", default=None, help="write the values to a .parquet or .csv file")
        parser.add_argument("--out-dir", default=None, help="snapshot: where to write it (default: data folder)")

    def handle(self, *args, **opts):
        if opts["action"] == "snapshot":
            target = Path(opts["out_dir"]) if opts["out_dir"] else snapshot_dir()
            info = snapshot_build(target)
            self.stdout.write(f"Snapshot written to {info.path} in {info.total_seconds:.2f} s")
            for table, rows in info.rows.items():
                self.stdout.write(f"  {table:<10} {rows:>10,} rows")
            self.stdout.write("  " + ", ".join(f"{step} {s:.2f} s" for step, s in info.seconds.items()))
            return
        try:
            periods = [Period.parse(p) for p in (opts["period"] or [str(timezone.localdate().year - 1)])]
        except PeriodError as exc:
            raise CommandError(str(exc)) from exc
        snapshots = [Path(s) for s in opts["snapshots"]] if opts["snapshots"] else [snapshot_dir()]
        try:
            result = engine.run(opts["engine"], snapshots, periods)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        table = result.table.sort_by([("data_element", "ascending"), ("coc", "ascending"),
                                      ("org_unit", "ascending"), ("period", "ascending")])
        self.stdout.write(f"{opts['engine']}: {table.num_rows:,} values for {len(periods)} period(s) from "
                          f"{len(snapshots)} snapshot(s) in {result.seconds:.2f} s")
        out = opts["output"]
        if out:
            if out.endswith(".parquet"):
                pq.write_table(table, out)
            elif out.endswith(".csv"):
                pacsv.write_csv(table, out)
            else:
                raise CommandError("-o takes a .parquet or .csv file name")
            self.stdout.write(f"Written to {out}")
