"""renkou bench export: the export of a whole county's persons (XLSX and CSV) and the data-quality report.

Runs against the install's database, which must hold a demo county (``renkou demo --persons 100000``), as a
county-level user (default ``tongji``, the demo statistician); each export leaves its audit entry like any other.
Baselines measured in the same run:
- export: the naive way — model instances, a foreign key read per row without select_related (N+1 queries), an
  ordinary (not write-only) openpyxl workbook — on the first ``--baseline-rows`` persons, as rows per second;
- quality: the naive drill-down — one COUNT query per child unit per check, instead of one grouped query per check.
Prints the figures and the ratios; it never fails on time.
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
from typing import Any


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(argv: list[str], out: Any) -> None:
    parser = argparse.ArgumentParser(prog="renkou bench export", description=__doc__.split("\n")[0])
    parser.add_argument("--user", default="tongji", help="a county-level user (default tongji)")
    parser.add_argument("--formats", default="csv,xlsx", help="formats to export (default csv,xlsx)")
    parser.add_argument("--baseline-rows", type=int, default=5000, help="rows for the naive export (default 5000)")
    args = parser.parse_args(argv)

    from django.db import connection
    from openpyxl import Workbook

    from renkou.accounts.selectors import user_get_by_username
    from renkou.quality import selectors as quality
    from renkou.quality.checks import CHECKS
    from renkou.registry.exports import export_write
    from renkou.registry.idnumbers import mask
    from renkou.registry.models import Person

    user = user_get_by_username(args.user)
    if user is None:
        raise SystemExit(f"No user {args.user!r}: build the demo county first (renkou demo --persons 100000).")
    total = Person.objects.count()
    print(f"database: {connection.vendor}; persons on the register: {total:,}", file=out)

    figures = {}
    for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
        with tempfile.TemporaryFile() as f:
            started = time.perf_counter()
            outcome = export_write(user=user, kind="persons", filters={"include_dead": "1"}, fmt=fmt, out=f,
                                   channel="cli")
            seconds = time.perf_counter() - started
            size = f.tell()
        figures[fmt] = outcome.rows / seconds
        print(f"export {fmt}: {outcome.rows:,} rows in {seconds:.2f} s = {outcome.rows / seconds:,.0f} rows/s, "
              f"{size / 1e6:.1f} MB, peak RSS so far {_rss_mb():.0f} MB", file=out)

    # baseline: instances, FK reads per row (N+1), ordinary workbook
    started = time.perf_counter()
    wb = Workbook()
    ws = wb.active
    n = 0
    for p in Person.objects.order_by("id")[: args.baseline_rows]:
        ws.append([p.name, p.sex, p.birth_date, mask(p.id_number), p.household.number if p.household_id else "",
                   p.residence_unit.name if p.residence_unit_id else "",
                   p.registration_unit.name if p.registration_unit_id else ""])
        n += 1
    wb.save(io.BytesIO())
    base = n / (time.perf_counter() - started)
    print(f"baseline (instances, N+1, ordinary workbook): {n:,} rows at {base:,.0f} rows/s", file=out)
    for fmt, rate in figures.items():
        print(f"ratio {fmt} export / baseline: {rate / base:.1f}x", file=out)

    started = time.perf_counter()
    report = quality.quality_report(user=user)
    seconds = time.perf_counter() - started
    findings = ", ".join(f"{k} {v:,}" for k, v in report.totals.items() if v)
    print(f"quality report of {report.unit.name} ({len(report.children)} child units, {len(CHECKS)} checks): "
          f"{seconds:.2f} s; findings: {findings or 'none'}", file=out)
    for child in report.children[:1]:
        started = time.perf_counter()
        quality.quality_report(user=user, unit=child.unit)
        print(f"quality report of {child.unit.name}: {time.perf_counter() - started:.2f} s", file=out)

    # baseline: one query per child unit per check
    from renkou.orgunits.selectors import unit_subtree_ids

    started = time.perf_counter()
    for check in CHECKS.values():
        if not check.lists_persons:
            continue
        for child in report.children:
            ids = unit_subtree_ids(child.unit)
            quality._in_area(check.persons(report_day()), child.unit, ids).count()
    naive = time.perf_counter() - started
    print(f"baseline (one query per unit per check): {naive:.2f} s; ratio {naive / seconds:.1f}x", file=out)


def report_day():
    from django.utils import timezone

    return timezone.localdate()
