"""renkou bench events: an events file (births, deaths, moves out: N of each) through full validation into a fresh
SQLite database, against the baseline of the same events registered one by one through the register's services
(what the forms do: ``birth_register``, ``death_register``, ``move_out_register``), in the same run.

Runs in a subprocess against a temporary SQLite database (the install's own database is never touched). Prints
rows per second of both, the import's second run (every row unchanged) and the ratio; it never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any

HEADERS = ["事件类型", "日期", "身份证号", "姓名", "性别", "母亲身份证号", "迁往县级代码"]


def run(argv: list[str], out: Any) -> None:
    parser = argparse.ArgumentParser(prog="renkou bench events", description=__doc__.split("\n")[0])
    parser.add_argument("--each", type=int, default=5000, help="births, deaths and moves out, each (default 5000)")
    parser.add_argument("--baseline-each", type=int, default=300,
                        help="of each kind registered one by one through the services (default 300)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="renkou-bench-events-") as tmp:
        env = dict(os.environ, RENKOU_DATA_DIR=tmp, DJANGO_SETTINGS_MODULE="renkou.settings")
        env.pop("RENKOU_DATABASE_URL", None)
        proc = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "renkou.bench.events", "--worker", str(args.each), str(args.baseline_each)],
            env=env, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-5000:])
        raise SystemExit(f"the benchmark's worker failed with exit code {proc.returncode}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    ours = r["rows"] / r["import_seconds"]
    base = r["baseline_rows"] / r["baseline_seconds"]
    w = out.write
    w(f"renkou bench events: {r['rows']:,} rows ({args.each:,} births, deaths and moves out each), SQLite\n")
    w(f"  import:   {r['rows']:,} rows in {r['import_seconds']:.2f} s = {ours:,.0f} rows/s "
      f"(CPU {r['import_cpu']:.2f} s; created {r['created']:,}, rejected {r['rejected']:,})\n")
    w(f"  again:    {r['unchanged']:,} rows unchanged in {r['second_seconds']:.2f} s\n")
    w(f"  baseline: {r['baseline_rows']:,} events one by one through the services in {r['baseline_seconds']:.2f} s "
      f"= {base:,.0f} rows/s (CPU {r['baseline_cpu']:.2f} s)\n")
    w(f"  ratio: {ours / base:.1f}× (wall clock); "
      f"{(r['rows'] / r['import_cpu']) / (r['baseline_rows'] / r['baseline_cpu']):.1f}× in CPU time\n")
    w(f"  load average: {os.getloadavg()[0]:.1f}\n")


def _people(n: int, village, tag: str, offset: int = 0):
    """n mothers, n old men and n movers with ID numbers unique in the register (sequence by position, birth date
    moving on a day every 450 persons)."""
    from renkou.registry import idnumbers
    from renkou.registry.models import Person

    def number(born: date, i: int, sex: str) -> str:
        return idnumbers.make("500230", born + timedelta(days=i // 450), 2 * (i % 450) + (1 if sex == "1" else 2))

    people = []
    for k in range(n):
        i = offset + k
        born = {"mother": date(1990, 1, 1), "old": date(1940, 1, 1), "mover": date(1995, 1, 1)}
        people += [
            Person(name=f"母{tag}{k}", sex="2", birth_date=born["mother"] + timedelta(days=i // 450),
                   registration_unit=village, residence_unit=village, id_number=number(born["mother"], i, "2")),
            Person(name=f"老{tag}{k}", sex="1", birth_date=born["old"] + timedelta(days=i // 450),
                   registration_unit=village, residence_unit=village, id_number=number(born["old"], i, "1")),
            Person(name=f"走{tag}{k}", sex="1", birth_date=born["mover"] + timedelta(days=i // 450),
                   registration_unit=village, residence_unit=village, id_number=number(born["mover"], i, "1")),
        ]
    Person.objects.bulk_create(people)
    return [people[3 * k:3 * k + 3] for k in range(n)]


def _worker(each: int, baseline_each: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from renkou.intake.services import import_file
    from renkou.registry import services
    from renkou.testing import make_county, make_personas

    county = make_county()
    officer = make_personas(county).dongcheng
    triples = _people(each, county.dc_village1, "a")
    rows = []
    for i, (mother, old, mover) in enumerate(triples):
        rows += [["出生", "2024-01-05", "", f"孩{i}", "1", mother.id_number, ""],
                 ["死亡", "2024-02-01", old.id_number, "", "", "", ""],
                 ["迁出", "2024-03-01", mover.id_number, "", "", "", "110105"]]
    data = ("\r\n".join(",".join(r) for r in [HEADERS, *rows]) + "\r\n").encode("utf-8")
    started, cpu = time.perf_counter(), time.process_time()
    run, _ = import_file(by=officer, kind="events", data=data, file_name="events.csv", channel="cli")
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    assert run.status == "done", (run.status, run.problems[:3])  # noqa: S101 - the benchmark's own sanity check
    started = time.perf_counter()
    again, _ = import_file(by=officer, kind="events", data=data, file_name="events.csv", channel="cli")
    second = time.perf_counter() - started

    baseline = _people(baseline_each, county.dc_village2, "b", offset=each)
    started, cpu = time.perf_counter(), time.process_time()
    for i, (mother, old, mover) in enumerate(baseline):
        services.birth_register(by=officer, mother=mother, born_on=date(2024, 1, 5), sex="1", name=f"孩b{i}")
        services.death_register(by=officer, person=old, died_on=date(2024, 2, 1))
        services.move_out_register(by=officer, person=mover, moved_on=date(2024, 3, 1), to_county="110105")
    base_seconds, base_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"rows": len(rows), "import_seconds": seconds, "import_cpu": cpu_seconds, "created": run.created,
            "rejected": run.rejected, "second_seconds": second, "unchanged": again.unchanged,
            "baseline_rows": 3 * baseline_each, "baseline_seconds": base_seconds, "baseline_cpu": base_cpu}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        print(json.dumps(_worker(int(sys.argv[2]), int(sys.argv[3]))))
