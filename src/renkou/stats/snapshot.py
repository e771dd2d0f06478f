"""The columnar snapshot of the register (Parquet) that the statistics engines read.

One SQL query per table (units, persons, events, marriages), fetched with a plain cursor into Arrow columns (no
model instances), cast and written by DuckDB. Every table carries the six-digit ``county`` code, so that many
county snapshots can be read together (a province) without their row ids colliding. Unit references are
written as 12-digit unit codes; ``ancestors.parquet`` maps every unit to itself and each unit above it, which is
how the engines roll figures up from villages to townships to the county.

A snapshot is stale when the register's fingerprint (row counts, last ids, last change) differs from the one
stored beside it; ``snapshot_ensure`` then rebuilds it in full (a 1M-person county takes seconds, see
docs/benchmarks.md).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q

from renkou.orgunits.models import OrgUnit
from renkou.registry.models import Event, Household, Marriage, Person
from renkou.stats.engine import MOVE_STEPS

TABLES = ("units", "ancestors", "persons", "events", "marriages", "spells")
_CHUNK = 50_000


def snapshot_dir() -> Path:
    return Path(settings.DATA_DIR) / "stats" / "snapshot"


@dataclass
class SnapshotInfo:
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    rebuilt: bool = True

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def register_fingerprint() -> dict:
    """A cheap summary of the register that changes whenever a figure could change (four aggregate queries)."""
    p = Person.objects.aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    e = Event.objects.aggregate(n=Count("id"), top=Max("id"), rec=Max("recorded_at"))
    m = Marriage.objects.aggregate(n=Count("id"), top=Max("id"), ended=Count("id", filter=Q(ended_on__isnull=False)))
    u = OrgUnit.objects.aggregate(n=Count("id"), top=Max("id"), closed=Count("id", filter=Q(closed_on__isnull=False)))
    return json.loads(json.dumps({"persons": p, "events": e, "marriages": m, "units": u}, default=str))


def _fetch(sql: str, names: list[str]) -> dict[str, list]:
    cols: dict[str, list] = {n: [] for n in names}
    with connection.cursor() as cur:
        cur.execute(sql)
        while True:
            rows = cur.fetchmany(_CHUNK)
            if not rows:
                break
            for name, values in zip(names, zip(*rows, strict=True), strict=True):
                cols[name].extend(values)
    return cols


def _arrow(cols: dict[str, list]) -> pa.Table:
    arrays = {}
    for name, values in cols.items():
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
        if arrays[name].type == pa.null():
            arrays[name] = arrays[name].cast(pa.string())
    return pa.table(arrays)


def _tz_offset_hours() -> int:
    # Asia/Shanghai has had no daylight saving time since 1991: one offset serves every recorded_at.
    off = datetime.now(ZoneInfo(settings.TIME_ZONE)).utcoffset()
    return int(off.total_seconds() // 3600) if off else 0


def _county_code() -> str:
    root = OrgUnit.objects.filter(level=1).order_by("id").values_list("code", flat=True).first()
    return (root or "000000")[:6]


def _raw_queries() -> dict[str, tuple[str, list[str]]]:
    """table → (SQL on the register, column names). No joins and no declared date types in the answer: the
    database only streams its rows (dates and times as text, booleans as integers), DuckDB does the rest."""
    p, h, e, m = (Person._meta.db_table, Household._meta.db_table, Event._meta.db_table, Marriage._meta.db_table)
    return {
        "persons": (
            f"SELECT id, sex, CAST(birth_date AS TEXT), CAST(death_date AS TEXT), marital_status, registration_type, "
            f"household_id, residence_status, residence_unit_id, registration_unit_id FROM {p} "
            # A record retired by a duplicate merge is not a person: its survivor is counted instead.
            f"WHERE merged_into_id IS NULL",
            ["id", "sex", "birth_date", "death_date", "marital_status", "registration_type", "household_id",
             "residence_status", "residence_unit_id", "registration_unit_id"]),
        "households": (f"SELECT id, registration_type FROM {h}", ["id", "registration_type"]),
        "events": (
            f"SELECT id, kind, person_id, CAST(date AS TEXT), unit_id, mother_id, sex, CAST(live_born AS INTEGER), "
            f"birth_order, from_unit_id, to_unit_id, from_county, to_county, CAST(recorded_at AS TEXT) FROM {e}",
            ["id", "kind", "person_id", "date", "unit_id", "mother_id", "sex", "live_born", "birth_order",
             "from_unit_id", "to_unit_id", "from_county", "to_county", "recorded_at"]),
        "marriages": (
            f"SELECT id, husband_id, wife_id, CAST(married_on AS TEXT), CAST(ended_on AS TEXT), end_reason, unit_id "
            f"FROM {m}",
            ["id", "husband_id", "wife_id", "married_on", "ended_on", "end_reason", "unit_id"]),
    }


def _typed_queries(county: str) -> dict[str, str]:
    """The snapshot tables, made by DuckDB from the raw tables (``raw_<name>``) and ``unit_ids``."""
    tz = _tz_offset_hours()
    # Django stores UTC: the first 19 characters are the UTC time on SQLite and on PostgreSQL (session in UTC).
    recorded = f"CAST(CAST(substr(e.recorded_at, 1, 19) AS TIMESTAMP) + INTERVAL {tz} HOUR AS DATE)"
    return {
        "persons": f"""
SELECT '{county}' AS county, CAST(p.id AS BIGINT) AS id, CAST(p.sex AS VARCHAR) AS sex,
  CAST(p.birth_date AS DATE) AS birth_date, CAST(p.death_date AS DATE) AS death_date,
  CAST(p.marital_status AS VARCHAR) AS marital_status,
  CAST(COALESCE(NULLIF(p.registration_type, ''), h.registration_type, '') AS VARCHAR) AS registration_type,
  CAST(p.residence_status AS VARCHAR) AS residence_status, ru.code AS residence_unit, gu.code AS registration_unit
FROM raw_persons p LEFT JOIN raw_households h ON h.id = p.household_id
LEFT JOIN unit_ids ru ON ru.id = p.residence_unit_id LEFT JOIN unit_ids gu ON gu.id = p.registration_unit_id""",
        "events": f"""
SELECT '{county}' AS county, CAST(e.id AS BIGINT) AS id, CAST(e.kind AS VARCHAR) AS kind,
  CAST(e.person_id AS BIGINT) AS person_id, CAST(e.date AS DATE) AS date, eu.code AS unit,
  CAST(e.mother_id AS BIGINT) AS mother_id, CAST(mo.birth_date AS DATE) AS mother_birth_date,
  CAST(e.sex AS VARCHAR) AS sex, CAST(e.live_born AS BOOLEAN) AS live_born,
  CAST(e.birth_order AS INTEGER) AS birth_order, fu.code AS from_unit, tu.code AS to_unit,
  CAST(e.from_county AS VARCHAR) AS from_county, CAST(e.to_county AS VARCHAR) AS to_county,
  {recorded} AS recorded_on, CAST(pe.sex AS VARCHAR) AS person_sex,
  CAST(pe.residence_status AS VARCHAR) AS person_status
FROM raw_events e LEFT JOIN unit_ids eu ON eu.id = e.unit_id LEFT JOIN raw_persons mo ON mo.id = e.mother_id
LEFT JOIN unit_ids fu ON fu.id = e.from_unit_id LEFT JOIN unit_ids tu ON tu.id = e.to_unit_id
LEFT JOIN raw_persons pe ON pe.id = e.person_id""",
        "marriages": f"""
SELECT '{county}' AS county, CAST(m.id AS BIGINT) AS id, CAST(m.husband_id AS BIGINT) AS husband_id,
  CAST(m.wife_id AS BIGINT) AS wife_id, CAST(m.married_on AS DATE) AS married_on,
  CAST(m.ended_on AS DATE) AS ended_on, CAST(m.end_reason AS VARCHAR) AS end_reason, mu.code AS unit
FROM raw_marriages m LEFT JOIN unit_ids mu ON mu.id = m.unit_id""",
    }


def _unit_tables(county: str) -> tuple[pa.Table, pa.Table, tuple[list[int], list[str]]]:
    rows = list(OrgUnit.objects.order_by("code").values_list("id", "code", "name", "level", "parent_id", "path",
                                                             "opened_on", "closed_on"))
    code_of = {r[0]: r[1] for r in rows}
    units = pa.table({
        "county": [county] * len(rows),
        "code": [r[1] for r in rows],
        "name": [r[2] for r in rows],
        "level": pa.array([r[3] for r in rows], pa.int32()),
        "parent_code": pa.array([code_of.get(r[4]) for r in rows], pa.string()),
        "opened_on": pa.array([r[6] for r in rows], pa.date32()),
        "closed_on": pa.array([r[7] for r in rows], pa.date32()),
    })
    unit_codes, ancestor_codes, ancestor_levels = [], [], []
    level_of = {r[1]: r[3] for r in rows}
    for r in rows:
        for piece in r[5].strip("/").split("/"):
            if piece and int(piece) in code_of:
                unit_codes.append(r[1])
                ancestor_codes.append(code_of[int(piece)])
                ancestor_levels.append(level_of[code_of[int(piece)]])
    ancestors = pa.table({
        "county": [county] * len(unit_codes), "unit": unit_codes, "ancestor": ancestor_codes,
        "ancestor_level": pa.array(ancestor_levels, pa.int32()),
    })
    return units, ancestors, ([r[0] for r in rows], [r[1] for r in rows])


def snapshot_build(target: Path | None = None) -> SnapshotInfo:
    """Write a fresh snapshot of the whole register into ``target`` (default: the data folder's), atomically."""
    target = target or snapshot_dir()
    work = target.with_name(target.name + ".building")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    info = SnapshotInfo(path=target)
    fingerprint = register_fingerprint()
    county = _county_code()
    con = duckdb.connect()
    try:
        t0 = time.perf_counter()
        units, ancestors, unit_ids = _unit_tables(county)
        for name, table in (("units", units), ("ancestors", ancestors)):
            pa_path = work / f"{name}.parquet"
            con.register("raw", table)
            con.execute(f"COPY (SELECT * FROM raw) TO '{pa_path}' (FORMAT parquet)")
            con.unregister("raw")
            info.rows[name] = table.num_rows
        info.seconds["units"] = time.perf_counter() - t0
        con.register("unit_ids", pa.table({"id": pa.array(unit_ids[0], pa.int64()),
                                           "code": pa.array(unit_ids[1], pa.string())}))
        for name, (sql, names) in _raw_queries().items():
            t0 = time.perf_counter()
            con.register(f"raw_{name}", _arrow(_fetch(sql, names)))
            info.seconds[f"read {name}"] = time.perf_counter() - t0
        for name, sql in _typed_queries(county).items():
            t0 = time.perf_counter()
            con.execute(f"COPY ({sql}) TO '{work / (name + '.parquet')}' (FORMAT parquet)")
            info.rows[name] = con.execute(f"SELECT count(*) FROM raw_{name}").fetchone()[0]
            info.seconds[f"write {name}"] = time.perf_counter() - t0
        # The spells of living in a village (engine.MOVE_STEPS, the same text the engines would run): they
        # change only with the register, so they are written once here instead of at every computation.
        t0 = time.perf_counter()
        for name in ("persons", "events"):
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{work / (name + '.parquet')}')")
        for name, sql in MOVE_STEPS:
            con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
        con.execute(f"COPY spells TO '{work / 'spells.parquet'}' (FORMAT parquet)")
        info.rows["spells"] = con.execute("SELECT count(*) FROM spells").fetchall()[0][0]
        info.seconds["write spells"] = time.perf_counter() - t0
    finally:
        con.close()
    (work / "meta.json").write_text(json.dumps({
        "county": county, "fingerprint": fingerprint, "rows": info.rows, "build_id": uuid.uuid4().hex,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }, ensure_ascii=False, indent=1))
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    work.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return info


def snapshot_meta(path: Path | None = None) -> dict | None:
    meta = (path or snapshot_dir()) / "meta.json"
    return json.loads(meta.read_text()) if meta.exists() else None


def snapshot_ensure() -> SnapshotInfo:
    """The current snapshot, rebuilt first if the register changed since it was written."""
    path = snapshot_dir()
    path.parent.mkdir(parents=True, exist_ok=True)
    # One builder at a time across the server's processes; the others wait and then find it fresh.
    with open(path.parent / "snapshot.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            meta = snapshot_meta(path)
            if meta is not None and meta.get("fingerprint") == register_fingerprint() and all(
                    (path / f"{t}.parquet").exists() for t in TABLES):
                return SnapshotInfo(path=path, rows=meta.get("rows", {}), rebuilt=False)
            return snapshot_build(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_CODE_COLUMNS = {"county", "code", "parent_code", "unit", "ancestor", "residence_unit", "registration_unit",
                 "from_unit", "to_unit"}


def snapshot_copy_as(src: Path, dst: Path, county: str) -> Path:
    """Copy a snapshot as if it were another county: the county column and every unit code get the new six-digit
    prefix (for building a test or benchmark province out of one county)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    old = (snapshot_meta(src) or {}).get("county") or pq.read_table(src / "units.parquet")["county"][0].as_py()
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.glob("*.parquet"):
        t = pq.read_table(f)
        cols = {}
        for name in t.column_names:
            col = t[name]
            if name in _CODE_COLUMNS and pa.types.is_string(col.type):
                col = pc.replace_substring_regex(col, f"^{old}", county)
            cols[name] = col
        pq.write_table(pa.table(cols), dst / f.name)
    meta = snapshot_meta(src) or {}
    (dst / "meta.json").write_text(json.dumps({**meta, "county": county, "copied_from": old}, ensure_ascii=False))
    return dst
