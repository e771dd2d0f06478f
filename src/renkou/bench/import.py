"""renkou bench import: a persons file through full validation into SQLite and PostgreSQL, rows per second, side
by side with django-import-export importing the same rows into the same models with the same checks.

Each database run happens in a subprocess against a fresh database (a temporary SQLite file; for PostgreSQL the
database ``intake_bench_import_<pid>`` on the server of RENKOU_BENCH_PG, default
postgresql://postgres@127.0.0.1:5432, created and dropped): the install's own database is never touched. The file
is generated (renkou.intake.synthetic: valid rows typed the ways officers type them). renkou's import is timed from
the file's bytes to the commit; django-import-export from the same bytes (tablib) to its commit. Prints rows per
second, CPU time per row of the importing process and the ratios, with the load average (a shared machine
inflates the wall clock); it never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VILLAGES = ["500230001001", "500230001002", "500230002001", "500230002002", "500230101201"]


def _pg_url(name: str) -> str:
    base = os.environ.get("RENKOU_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    return base.rsplit("/", 1)[0] + "/" + name


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def run(argv: list[str], out: Any) -> None:
    parser = argparse.ArgumentParser(prog="renkou bench import", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the persons file (default 200000)")
    parser.add_argument("--baseline-rows", type=int, default=10_000,
                        help="rows given to django-import-export (default 10000: it runs row by row; rows/s is "
                             "comparable)")
    parser.add_argument("--format", choices=["csv", "xlsx", "both"], default="both")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    formats = ["csv", "xlsx"] if args.format == "both" else [args.format]
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    w = out.write
    w(f"renkou bench import: {args.rows:,} persons (django-import-export: the first {args.baseline_rows:,}), "
      f"formats {', '.join(formats)}, databases {', '.join(databases)}\n")
    results = []
    with tempfile.TemporaryDirectory(prefix="renkou-bench-import-") as tmp:
        for database in databases:
            for fmt in formats:
                data_dir = Path(tmp) / f"{database}-{fmt}"
                data_dir.mkdir()
                env = dict(os.environ, RENKOU_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="renkou.settings")
                env.pop("RENKOU_DATABASE_URL", None)
                name = f"intake_bench_import_{os.getpid()}"  # two runs at once never share a database
                if database == "postgresql":
                    _pg_admin(f"DROP DATABASE IF EXISTS {name}")
                    _pg_admin(f"CREATE DATABASE {name}")
                    env["RENKOU_DATABASE_URL"] = _pg_url(name)
                try:
                    proc = subprocess.run(  # noqa: S603
                        [sys.executable, "-m", "renkou.bench.import", "--worker", str(args.rows),
                         str(args.baseline_rows), fmt, str(args.seed)],
                        env=env, check=False, capture_output=True, text=True)
                    if proc.returncode:
                        raise SystemExit(f"renkou bench import: the {database} {fmt} run failed:\n{proc.stderr}")
                finally:
                    if database == "postgresql":
                        _pg_admin(f"DROP DATABASE IF EXISTS {name}")
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                r.update(database=database, format=fmt)
                results.append(r)
                ours = r["rows"] / r["renkou_seconds"]
                base = r["baseline_rows"] / r["baseline_seconds"]
                w(f"  {database:<10} {fmt:<4}  load average after the run (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
                w(f"  {'':<10} {'':<4}  renkou: {r['rows']:,} rows in {r['renkou_seconds']:.1f} s = "
                  f"{ours:,.0f} rows/s (created {r['created']:,}, rejected {r['rejected']:,}; "
                  f"second run unchanged {r['unchanged_second']:,} in {r['second_seconds']:.1f} s)\n")
                w(f"  {'':<10} {'':<4}  django-import-export: {r['baseline_rows']:,} rows in "
                  f"{r['baseline_seconds']:.1f} s = {base:,.0f} rows/s (new {r['baseline_new']:,}, "
                  f"invalid/error {r['baseline_invalid']:,})\n")
                cpu_ratio = (r["rows"] / r["renkou_cpu"]) / (r["baseline_rows"] / r["baseline_cpu"])
                w(f"  {'':<10} {'':<4}  CPU of the importing process: renkou {r['renkou_cpu']:.1f} s = "
                  f"{r['renkou_cpu'] / r['rows'] * 1000:.3f} ms a row; django-import-export {r['baseline_cpu']:.1f} s = "
                  f"{r['baseline_cpu'] / r['baseline_rows'] * 1000:.3f} ms a row"
                  f"{' (the database server works apart)' if database == 'postgresql' else ''}\n")
                w(f"  {'':<10} {'':<4}  ratio: {ours / base:.1f}× (wall clock); {cpu_ratio:.1f}× (CPU time)\n")
    out.write("json: " + json.dumps(results) + "\n")


def _worker(rows: int, baseline_rows: int, fmt: str, seed: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from renkou.accounts.models import AuditEntry
    from renkou.intake.services import import_file
    from renkou.intake.synthetic import persons_rows, write_csv, write_xlsx
    from renkou.registry.models import Person, PersonHistory
    from renkou.testing import make_county, make_personas

    county = make_county()
    admin = make_personas(county).admin
    data_rows = persons_rows(rows, VILLAGES, seed=seed)
    path = Path(os.environ["RENKOU_DATA_DIR"]) / f"persons.{fmt}"
    (write_csv if fmt == "csv" else write_xlsx)(path, data_rows)
    data = path.read_bytes()
    started, cpu = time.perf_counter(), time.process_time()
    run, _ = import_file(by=admin, kind="persons", data=data, file_name=path.name, channel="cli")
    ours, ours_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    again, _ = import_file(by=admin, kind="persons", data=data, file_name=path.name, channel="cli")
    second = time.perf_counter() - started
    assert run.status == "done", (run.status, run.problems[:3])  # noqa: S101 - a benchmark's own sanity check
    # the baseline starts from the same empty register
    AuditEntry.objects.filter(object_type="person").delete()
    PersonHistory.objects.all().delete()
    Person.objects.all().delete()
    base_path = path.with_name(f"baseline.{fmt}")
    (write_csv if fmt == "csv" else write_xlsx)(base_path, data_rows[:baseline_rows])
    base = _baseline(admin, base_path, fmt)
    return {"rows": rows, "renkou_seconds": ours, "renkou_cpu": ours_cpu, "created": run.created, "rejected": run.rejected,
            "second_seconds": second, "unchanged_second": again.unchanged, **base}


def _baseline(admin, path: Path, fmt: str) -> dict[str, Any]:
    import tablib

    from renkou.intake.baseline import PersonResource
    from renkou.registry.models import Person

    started, cpu = time.perf_counter(), time.process_time()
    if fmt == "csv":
        dataset = tablib.Dataset().load(path.read_bytes().decode("utf-8-sig"), format="csv")
    else:
        dataset = tablib.Dataset().load(path.read_bytes(), format="xlsx")
    result = PersonResource(by=admin).import_data(dataset, dry_run=False, use_transactions=True)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    totals = result.totals
    return {"baseline_rows": len(dataset), "baseline_seconds": seconds, "baseline_cpu": cpu, "baseline_new": totals.get("new", 0),
            "baseline_invalid": totals.get("invalid", 0) + totals.get("error", 0),
            "baseline_written": Person.objects.count()}


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))))
    else:
        run(sys.argv[1:], sys.stdout)
