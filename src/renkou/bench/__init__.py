"""Benchmarks, run by ``renkou bench NAME [options]``. Each module has ``run(argv, out)`` and prints its figures
with the ratio against a baseline measured in the same run. They are never part of the test suite."""

BENCHMARKS = {
    "demo": "persons generated per second by the synthetic county generator",
    "import": "persons file (CSV, XLSX) through full validation into SQLite and PostgreSQL vs django-import-export",
    "events": "events file (births, deaths, moves out) through full validation vs the same events one by one "
              "through the register's services",
    "dedup": "duplicate scan on a county with known duplicates: time, precision and recall against a baseline rule",
    "export": "export of a whole county's persons (XLSX, CSV) and the data-quality report, against naive baselines",
    "stats": "statistics: snapshot, every indicator for every unit by DuckDB vs the Django ORM unit by unit; "
             "--province N: Spark vs DuckDB",
    "snapshot": "statistics snapshot: full build vs refresh after a small and a large change (writes to the "
                "register: give --data-dir a copy)",
    "exchange": "inter-county exchange over NATS JetStream: messages/s end to end and p95 latency",
    "search": "person search over HTTP: p50/p95 latency and requests per second with concurrent clients",
}
