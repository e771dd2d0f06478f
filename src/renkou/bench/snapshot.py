"""renkou bench snapshot: the statistics snapshot built in full against refreshed after a small and a large change.

WRITES TO THE REGISTER of the county it runs on: give ``--data-dir`` a copy (``cp -r /work/data/c1m /tmp/x``), or
no ``--data-dir`` (or an empty one) to generate a county (``--persons``). In a child process on that database:

1. a full build of the snapshot into ``stats/bench-snapshot`` (the county's own snapshot is left alone), timed;
2. the check of an unchanged register (``snapshot_ensure``: the fingerprint's aggregate queries);
3. a small change through the register's services — ``--births`` births (each a new event and a new person) and
   ``--corrections`` corrected persons (registration type) — then the refresh, timed;
4. a large change: the change markers of one in ``--large`` persons, events and marriages moved (the rows rewritten
   as they are: the refresh's work is the rows it fetches and merges), then the refresh, timed;
5. after each refresh, a full build of the same register into a second folder and every table of both compared
   with DuckDB (``EXCEPT ALL`` both ways): they must be equal, else the benchmark fails.

Wall and CPU seconds (this process: Python and DuckDB's threads) and the load average beside each figure. The
overlap of the marks (``snapshot.OVERLAP``, 5 minutes in service) is set to 1 s here, so that the demo's own rows,
written minutes before, are not fetched again; in service a refresh also fetches the rows written in the 5 minutes
before the previous read.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RENKOU_DATABASE_URL", None)
    env["RENKOU_DATA_DIR"] = str(data_dir)
    env["DJANGO_SETTINGS_MODULE"] = "renkou.settings"
    return env


def run(argv: list[str], out: Any) -> None:
    parser = argparse.ArgumentParser(prog="renkou bench snapshot", description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000, help="residents of a generated county")
    parser.add_argument("--data-dir", default=None, help="a COPY of a county (its register is written to)")
    parser.add_argument("--births", type=int, default=100)
    parser.add_argument("--corrections", type=int, default=10)
    parser.add_argument("--large", type=int, default=10, help="the large change moves the marker of 1 row in N")
    parser.add_argument("--no-check", action="store_true", help="skip the full builds compared with the refreshes")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        _inner(args, out)
        return
    out.write("renkou bench snapshot (SQLite)\n")
    out.flush()
    with tempfile.TemporaryDirectory(prefix="renkou-bench-snapshot-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp)
        run_ = [sys.executable, "-m", "renkou.cli"]
        data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([*run_, "migrate", "-v0"], env=_env(data_dir), check=True)  # noqa: S603
        if not (data_dir / "truth.json").exists():
            subprocess.run([*run_, "demo", "--persons", str(args.persons)], env=_env(data_dir), check=True,  # noqa: S603
                           stdout=subprocess.DEVNULL)
            out.write(f"  county of about {args.persons:,} residents generated in {data_dir}\n")
        else:
            out.write(f"  the county in {data_dir}\n")
        out.flush()
        inner = ["bench", "snapshot", "--inner", "--births", str(args.births), "--corrections",
                 str(args.corrections), "--large", str(args.large), *(["--no-check"] if args.no_check else [])]
        subprocess.run([*run_, *inner], env=_env(data_dir), check=True)  # noqa: S603


def _timed(w, label: str, fn):
    load = _load()
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    w(f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU [load {load} → {_load()}]\n")
    return result, wall, cpu


def _compare(a: Path, b: Path) -> list[str]:
    """The tables (and raw tables) of two snapshot targets that differ, compared as multisets of rows."""
    import duckdb

    from renkou.stats.snapshot import RAW_TABLES, TABLES, raw_store

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{raw_store(a)}' AS ra (READ_ONLY)")
        con.execute(f"ATTACH '{raw_store(b)}' AS rb (READ_ONLY)")
        pairs = [(t, f"read_parquet('{a.resolve() / t}.parquet')", f"read_parquet('{b.resolve() / t}.parquet')")
                 for t in TABLES]
        pairs += [(f"raw {t}", f"ra.stored_{t}", f"rb.stored_{t}") for t in RAW_TABLES]
        bad = []
        for name, x, y in pairs:
            n = con.execute(f"SELECT (SELECT count(*) FROM (SELECT * FROM {x} EXCEPT ALL SELECT * FROM {y})) + "  # noqa: S608
                            f"(SELECT count(*) FROM (SELECT * FROM {y} EXCEPT ALL SELECT * FROM {x}))").fetchall()[0][0]
            if n:
                bad.append(f"{name} ({n} rows)")
        return bad
    finally:
        con.close()


def _inner(args, out) -> None:
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from renkou.accounts.models import Role, User
    from renkou.core.errors import RuleViolation
    from renkou.registry.models import Event, Marriage, Person
    from renkou.registry.services import birth_register, person_update
    from renkou.stats import snapshot

    w = out.write
    snapshot.OVERLAP = timedelta(seconds=1)
    base = Path(settings.DATA_DIR) / "stats"
    target, check_dir = base / "bench-snapshot", base / "bench-snapshot-full"
    w(f"  persons {Person.objects.count():,}, events {Event.objects.count():,}, "
      f"marriages {Marriage.objects.count():,}\n")
    info, full_wall, full_cpu = _timed(w, "full build", lambda: snapshot.snapshot_build(target))
    w(f"  {', '.join(f'{k} {v:.2f} s' for k, v in info.seconds.items())}\n")
    _timed(w, "unchanged register: fingerprint check", snapshot.register_fingerprint)
    out.flush()

    def check(label: str) -> None:
        if args.no_check:
            return
        snapshot.snapshot_build(check_dir)
        bad = _compare(target, check_dir)
        if bad:
            raise SystemExit(f"{label}: the refreshed snapshot differs from a full build: {', '.join(bad)}")
        w(f"  {label}: equal to a full build, every table\n")

    def report(label: str, info, wall: float, cpu: float) -> None:
        w(f"  mode {info.mode}{' (' + info.why_full + ')' if info.why_full else ''}; rows fetched "
          f"{', '.join(f'{t} {n:,}' for t, n in info.changed.items())}\n")
        w(f"  {', '.join(f'{k} {v:.2f} s' for k, v in info.seconds.items())}\n")
        w(f"  {label}: refresh / full build = {wall / full_wall:.2f} wall, {cpu / full_cpu:.2f} CPU\n")
        out.flush()

    # a small change through the services
    by = User.objects.filter(role=Role.COUNTY_ADMIN, is_active=True).order_by("pk").first()
    today = timezone.localdate()
    mothers = list(Person.objects.filter(sex="2", death_date__isnull=True, merged_into__isnull=True,
                                         residence_status="resident",
                                         birth_date__range=(date(today.year - 35, 1, 1), date(today.year - 22, 1, 1)))
                   .order_by("pk")[: args.births * 3])
    t0 = time.perf_counter()
    births = 0
    for mother in mothers:
        if births == args.births:
            break
        try:
            birth_register(by=by, mother=mother, born_on=today - timedelta(days=1 + births % 200), sex="12"[births % 2],
                           name="新生儿")
            births += 1
        except RuleViolation:
            continue
    corrected = 0
    for p in Person.objects.filter(merged_into__isnull=True).order_by("-pk")[args.births * 2: args.births * 2 +
                                                                              args.corrections]:
        person_update(by=by, person=p, changes={"registration_type": "urban" if p.registration_type != "urban"
                                                else "rural"})
        corrected += 1
    w(f"small change: {births} births, {corrected} persons corrected through the services "
      f"({time.perf_counter() - t0:.1f} s)\n")
    info, wall, cpu = _timed(w, "refresh after the small change", lambda: snapshot.snapshot_update(target))
    report("small change", info, wall, cpu)
    check("small change")

    # a large change: the markers of one row in N moved
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic(), connection.cursor() as cur:
        moved = {}
        for model in (Person, Event, Marriage):
            cur.execute(f"UPDATE {model._meta.db_table} SET updated_at = %s WHERE id %% %s = 0",  # noqa: S608
                        [now, args.large])
            moved[model._meta.model_name] = cur.rowcount
    w(f"large change: markers moved on {', '.join(f'{k} {v:,}' for k, v in moved.items())}\n")
    info, wall, cpu = _timed(w, "refresh after the large change", lambda: snapshot.snapshot_update(target))
    report("large change", info, wall, cpu)
    check("large change")
