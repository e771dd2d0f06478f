"""renkou bench demo: persons generated per second by the synthetic county generator.

Runs ``renkou migrate`` and ``renkou demo`` in a subprocess against a fresh SQLite database in a temporary folder
(the install's own database is never touched), reads the timings from its truth.json, and measures a baseline in
the same run: writing the same number of person rows with Django's ``bulk_create(batch_size=1000)`` into another
fresh SQLite database. Prints the figures and the ratio; it never fails on time.
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


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RENKOU_DATABASE_URL", None)
    env.pop("RENKOU_DEMO_TRUTH", None)
    env["RENKOU_DATA_DIR"] = str(data_dir)
    env["DJANGO_SETTINGS_MODULE"] = "renkou.settings"
    return env


def _renkou(args: list[str], data_dir: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "renkou.cli", *args], env=_env(data_dir), check=True,  # noqa: S603
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(argv: list[str], out: Any) -> None:
    parser = argparse.ArgumentParser(prog="renkou bench demo", description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=200_000, help="residents of the county (default 200000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    w = out.write
    w(f"renkou bench demo: a county of about {args.persons:,} residents (seed {args.seed}), SQLite in a temporary "
      "folder\n")
    with tempfile.TemporaryDirectory(prefix="renkou-bench-demo-") as tmp:
        demo_dir, base_dir = Path(tmp) / "demo", Path(tmp) / "baseline"
        demo_dir.mkdir()
        base_dir.mkdir()
        _renkou(["migrate", "-v0"], demo_dir)
        wall = _renkou(["demo", "--persons", str(args.persons), "--seed", str(args.seed)], demo_dir)
        truth = json.loads((demo_dir / "truth.json").read_text(encoding="utf-8"))
        timing = truth["timing_seconds"]
        residents = truth["final"]["residents"]
        rows = truth["register"]["persons"]
        by_table = timing["writing_by_table"]
        w(f"  simulation (numpy, incl. building the rows)  {timing['simulation']:8.1f} s\n")
        w(f"  writing (one transaction, all tables)        {timing['writing']:8.1f} s\n")
        w(f"    of which the persons table                 {by_table['persons']:8.1f} s  "
          f"({rows / by_table['persons']:,.0f} rows/s)\n")
        w(f"  total                                        {timing['total']:8.1f} s  "
          f"(renkou demo wall clock with start-up {wall:.1f} s)\n")
        w(f"  persons/second: {residents / timing['total']:,.0f} residents/s, {rows / timing['total']:,.0f} person "
          f"records/s ({residents:,} residents, {rows:,} person records, "
          f"{sum(truth['register']['events'].values()):,} events, {truth['register']['households']:,} households, "
          f"{truth['register']['marriages']:,} marriages)\n")
        _renkou(["migrate", "-v0"], base_dir)
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "renkou.bench.demo", "--baseline", str(rows)], env=_env(base_dir), check=True,
            capture_output=True, text=True)
        base = json.loads(result.stdout.strip().splitlines()[-1])
    base_rate = rows / base["seconds"]
    w(f"baseline: Django bulk_create(batch_size=1000) of {rows:,} person rows into a fresh SQLite database: "
      f"{base['seconds']:.1f} s ({base_rate:,.0f} rows/s)\n")
    w(f"ratio: the demo writes person rows {rows / by_table['persons'] / base_rate:.1f}× as fast as bulk_create; "
      f"the whole county (simulation and all tables) takes {timing['total'] / base['seconds']:.2f}× the time "
      "bulk_create needs for the person rows alone\n")


def _baseline(n: int) -> dict[str, float]:
    """Person rows written with Django's bulk_create, the way an ordinary loader would (run in a subprocess)."""
    import django

    django.setup()
    from datetime import date, timedelta

    import numpy as np

    from renkou.orgunits.models import OrgUnit
    from renkou.registry import idnumbers
    from renkou.registry.models import Person

    county = OrgUnit.objects.create(code="500230000000", name="青山县", level=1, unit_type="county", path="/")
    town = OrgUnit.objects.create(code="500230101000", name="龙河镇", level=2, unit_type="town", parent=county,
                                  path="/")
    village = OrgUnit.objects.create(code="500230101201", name="龙河村", level=3, unit_type="village", parent=town,
                                     path="/")
    rng = np.random.Generator(np.random.PCG64(1))
    days = rng.integers(-20_000, 20_000, n)
    sex = np.where(rng.random(n) < 0.5, 1, 2)
    seq = (np.arange(n) % 499) * 2 + sex
    births = days.astype("datetime64[D]")
    numbers = idnumbers.make_many("500230", births, seq)
    start = date(1970, 1, 1)
    people = [
        Person(id_number=str(numbers[i]), name="张伟", sex=str(sex[i]),
               birth_date=start + timedelta(days=int(days[i])), ethnicity="01", education="70", marital_status="20",
               registration_type="rural", relation_to_head="02", registration_unit=village, residence_unit=village,
               residence_status="resident")
        for i in range(n)
    ]
    # Unique (address, date, sequence) is not guaranteed by the draw above: keep the first of each number.
    seen: set[str] = set()
    for p in people:
        if p.id_number in seen:
            p.id_number = None
        seen.add(p.id_number)
    started = time.perf_counter()
    Person.objects.bulk_create(people, batch_size=1000)
    return {"seconds": time.perf_counter() - started}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--baseline":
        print(json.dumps(_baseline(int(sys.argv[2]))))
    else:
        run(sys.argv[1:], sys.stdout)
