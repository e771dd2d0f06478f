"""A measurement, not a check: an events file of births, deaths and moves out (N of each) imported twice.
Runs only with RENKOU_BENCH_EVENTS=N (e.g. 1000): ``RENKOU_BENCH_EVENTS=1000 pytest -s
src/renkou/intake/tests/test_bench_events.py``; docs/benchmarks.md has figures."""

import os
import time
from datetime import date

import pytest

from renkou.intake.services import import_file
from renkou.intake.tests.helpers import csv_bytes
from renkou.intake.tests.test_import_events import HEADERS, _row
from renkou.registry.models import Person
from renkou.testing import id_number_for


@pytest.mark.skipif(not os.environ.get("RENKOU_BENCH_EVENTS"), reason="a measurement: set RENKOU_BENCH_EVENTS=N")
def test_bench_events_import(personas, county):
    n = int(os.environ["RENKOU_BENCH_EVENTS"])
    v = county.dc_village1
    people = []
    for i in range(n):
        people.append(Person(name=f"母{i}", sex="2", birth_date=date(1990, 1, 1), registration_unit=v, residence_unit=v,
                             id_number=id_number_for(date(1990, 1, 1), "2", f"5002{i % 90 + 10:02d}")))
        people.append(Person(name=f"老{i}", sex="1", birth_date=date(1940, 1, 1), registration_unit=v, residence_unit=v,
                             id_number=id_number_for(date(1940, 1, 1), "1", f"5002{i % 90 + 10:02d}")))
        people.append(Person(name=f"走{i}", sex="1", birth_date=date(1995, 1, 1), registration_unit=v, residence_unit=v,
                             id_number=id_number_for(date(1995, 1, 1), "1", f"5002{i % 90 + 10:02d}")))
    Person.objects.bulk_create(people)
    rows = []
    for i in range(n):
        m, o, w = people[3 * i:3 * i + 3]
        rows += [_row("出生", "2024-01-05", name=f"孩{i}", sex="1", mother=m.id_number),
                 _row("死亡", "2024-02-01", o.id_number),
                 _row("迁出", "2024-03-01", w.id_number, to_county="110105")]
    data = csv_bytes(rows, HEADERS)
    for label in ("first", "second"):
        t, c = time.perf_counter(), time.process_time()
        run, _ = import_file(by=personas.dongcheng, kind="events", data=data, file_name="e.csv")
        print(f"\n{label}: {len(rows)} rows status={run.status} created={run.created} unchanged={run.unchanged} "
              f"wall={time.perf_counter() - t:.2f}s cpu={time.process_time() - c:.2f}s")
