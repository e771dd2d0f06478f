"""Bulk writing of a generated register (demo/register.py) into the database: units, persons, households,
marriages and events, in one transaction.

Never row by row: on SQLite ``executemany`` on the DB-API cursor with explicit column lists, on PostgreSQL
``COPY … FROM STDIN`` through psycopg 3. Primary keys are assigned here, contiguous from the table's largest id
+ 1, so that the references between the rows (mother, father, household head, units) are written in the same
pass; the foreign keys are checked at commit (Django declares them DEFERRABLE INITIALLY DEFERRED). Column
names come from the models, and a column this module does not know (a field added later) gets the field's
default, so that a new nullable or defaulted field does not break the demo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.core.management.color import no_style
from django.db import connection, models

from renkou.accounts.models import User
from renkou.demo.register import Register, validate
from renkou.orgunits.models import OrgUnit
from renkou.registry.models import Event, Household, Marriage, Person

CHUNK = 50_000
BULK_CACHE_KIB = 512 * 1024
BULK_SORT_THREADS = 2


class Col:
    """A column, turned into Python values chunk by chunk (so that the whole table never exists as Python
    objects at once)."""

    def __init__(self, values: np.ndarray, convert: Callable[[np.ndarray], list]) -> None:
        self.values = values
        self.convert = convert

    def get(self, start: int, stop: int) -> list:
        return self.convert(self.values[start:stop])


def _nulls(values: np.ndarray, missing: np.ndarray) -> list:
    out = values.astype(object)
    out[missing] = None
    return out.tolist()


def _dates(days: np.ndarray) -> Col:
    """Day numbers to 'YYYY-MM-DD' (None where there is no date)."""

    def convert(part: np.ndarray) -> list:
        missing = (part < -200_000) | (part > 200_000)
        text = np.datetime_as_string(np.where(missing, 0, part).astype("datetime64[D]"))
        return _nulls(text, missing) if missing.any() else text.tolist()

    return Col(np.asarray(days, dtype=np.int64), convert)


def _datetimes(utc: np.ndarray) -> Col:
    """UTC datetime64[s] to the text each database reads back as an aware UTC datetime."""
    suffix = "+00:00" if connection.vendor == "postgresql" else ""

    def convert(part: np.ndarray) -> list:
        text = np.strings.replace(np.datetime_as_string(part), "T", " ")
        return (np.strings.add(text, suffix) if suffix else text).tolist()

    return Col(np.asarray(utc, dtype="datetime64[s]"), convert)


def _refs(index: np.ndarray, ids: np.ndarray | int) -> Col:
    """Indexes into another table to its ids (``ids`` an array of ids, or the first id of contiguous ones)."""
    if np.isscalar(ids):
        first = int(ids)

        def convert(part: np.ndarray) -> list:
            return _nulls(part + first, part < 0)
    else:
        table = np.asarray(ids, dtype=np.int64)

        def convert(part: np.ndarray) -> list:
            return _nulls(table[np.maximum(part, 0)], part < 0)

    return Col(np.asarray(index, dtype=np.int64), convert)


def _ints(values: np.ndarray, *, null_below: int | None = None) -> Col:
    def convert(part: np.ndarray) -> list:
        return part.tolist() if null_below is None else _nulls(part, part < null_below)

    return Col(np.asarray(values, dtype=np.int64), convert)


def _strs(values: np.ndarray, *, empty_is_null: bool = False) -> Col:
    def convert(part: np.ndarray) -> list:
        text = part if part.dtype.kind == "U" else part.astype(str)
        return _nulls(text, text == "") if empty_is_null else text.tolist()

    return Col(np.asarray(values), convert)


def _bools(values: np.ndarray) -> Col:
    as_bool = connection.vendor == "postgresql"

    def convert(part: np.ndarray) -> list:
        return _nulls(part == 1 if as_bool else (part == 1).astype(np.int64), part < 0)

    return Col(np.asarray(values, dtype=np.int64), convert)


class Const:
    """The same value in every row: a literal in SQLite's INSERT, a repeated field in PostgreSQL's COPY."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def sql(self) -> str:
        v = self.value
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "1" if v else "0"
        if isinstance(v, int | float):
            return repr(v)
        return "'" + str(v).replace("'", "''") + "'"


def _const(value: Any, n: int = 0) -> Const:
    return Const(value)


def next_id(model: type[models.Model]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX({model._meta.pk.column}), 0) FROM {model._meta.db_table}")  # noqa: S608
        return int(cursor.fetchone()[0]) + 1


def _columns(model: type[models.Model], given: dict[str, Col | Const], n: int) -> tuple[list[str], list[Col | Const]]:
    """Database columns and values for ``model``: the given fields, and every other concrete field's default."""
    names, values = [], []
    for f in model._meta.concrete_fields:
        if f.name in given or f.attname in given:
            names.append(f.column)
            values.append(given.get(f.name, given.get(f.attname)))
        elif f.has_default():
            names.append(f.column)
            values.append(_const(f.get_db_prep_save(f.get_default(), connection), n))
        elif f.null:
            continue
        else:
            raise RuntimeError(f"demo loader: no value for {model.__name__}.{f.name} (not null, no default)")
    return names, values


def _insert(model: type[models.Model], given: dict[str, Col | Const], n: int) -> None:
    names, values = _columns(model, given, n)
    table = connection.ops.quote_name(model._meta.db_table)
    raw = connection.connection  # the DB-API connection, inside Django's transaction
    if connection.vendor == "postgresql":
        cols = ", ".join(connection.ops.quote_name(c) for c in names)
        arrays = [v if isinstance(v, Col) else Col(np.full(n, v.value, dtype=object), np.ndarray.tolist)
                  for v in values]
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for rows in _chunks(arrays, n):
                for row in rows:
                    copy.write_row(row)
        return
    cols = ", ".join(connection.ops.quote_name(c) for c in names)
    marks = ", ".join(v.sql() if isinstance(v, Const) else "?" for v in values)
    arrays = [v for v in values if not isinstance(v, Const)]
    sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
    with _indexes_dropped(model):
        cursor = raw.cursor()
        try:
            for rows in _chunks(arrays, n):
                cursor.executemany(sql, rows)
        finally:
            cursor.close()


def _chunks(values: list[Col], n: int) -> Iterator[list[tuple]]:
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        if values:
            yield list(zip(*(v.get(start, stop) for v in values), strict=True))
        else:
            yield [()] * (stop - start)


@contextmanager
def _indexes_dropped(model: type[models.Model]) -> Iterator[None]:
    """On SQLite, with the foreign keys unchecked until the end (see ``bulk_mode``), an empty table is filled
    faster without its secondary indexes, which are then built once from their saved definitions. (With the
    foreign keys checked row by row the indexes must stay: SQLite looks up the referring rows through them.)"""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        fk_on = cursor.execute("PRAGMA foreign_keys").fetchone()[0]
        empty = cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {connection.ops.quote_name(table)})"  # noqa: S608
                               ).fetchone()[0]
        saved: list[tuple[str, str]] = []
        if not fk_on and empty:
            saved = cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                                   "AND sql IS NOT NULL", [table]).fetchall()
            for name, _sql in saved:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        for _name, sql in saved:
            cursor.execute(sql)


@contextmanager
def bulk_mode() -> Iterator[None]:
    """Around the whole transaction (SQLite can only switch this outside one): the foreign keys are checked once,
    by ``write`` at its end, instead of row by row. Nothing changes on PostgreSQL."""
    if connection.vendor != "sqlite":
        yield
        return
    disabled = connection.disable_constraint_checking()
    with connection.cursor() as cursor:
        saved = {p: cursor.execute(f"PRAGMA {p}").fetchone()[0] for p in ("cache_size", "threads")}
        # A larger page cache and a helper thread for sorting while the indexes are built.
        cursor.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
        cursor.execute(f"PRAGMA threads = {BULK_SORT_THREADS}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for pragma, value in saved.items():
                cursor.execute(f"PRAGMA {pragma} = {int(value)}")
        if disabled:
            connection.enable_constraint_checking()


def write(reg: Register, *, now: datetime, progress: Callable[[str], None] | None = None) -> dict[str, dict]:
    """Write ``reg``; returns ``{"rows": {table: rows}, "seconds": {table: seconds}}``. Call it inside the
    caller's transaction (the tables are not usable until it commits), and ``analyze()`` after the commit."""
    if not connection.in_atomic_block:
        raise RuntimeError("load.write must run inside transaction.atomic()")
    say = progress or (lambda _msg: None)
    validate(reg)
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}

    def done(table: str, rows: int) -> None:
        nonlocal t
        counts[table] = rows
        seconds[table] = round(time.perf_counter() - t, 3)
        say(f"  {table:<12} {rows:>10,} rows {seconds[table]:6.1f} s")
        t = time.perf_counter()

    connection.ensure_connection()
    t = time.perf_counter()
    unit_ids = _write_units(reg)
    done("units", len(unit_ids))
    person_id, household_id = next_id(Person), next_id(Household)
    stamp = _datetimes(np.array([np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "s")])).get(0, 1)[0]
    p = reg.persons
    n = len(p["name"])
    _insert(Person, {
        "id": _ints(np.arange(n) + person_id),
        "id_number": _strs(p["id_number"], empty_is_null=True),
        "id_number_warnings": _const("[]", n),
        "name": _strs(p["name"]),
        "sex": _strs(p["sex"]),
        "birth_date": _dates(p["birth_date"]),
        "ethnicity": _strs(p["ethnicity"]),
        "education": _strs(p["education"]),
        "marital_status": _strs(p["marital_status"]),
        "registration_type": _strs(p["registration_type"]),
        "household": _refs(p["household"], household_id),
        "relation_to_head": _strs(p["relation_to_head"]),
        "registration_unit": _refs(p["registration_unit"], unit_ids),
        "residence_unit": _refs(p["residence_unit"], unit_ids),
        "residence_status": _strs(p["residence_status"]),
        "other_county_code": _strs(p["other_county_code"]),
        "mother": _refs(p["mother"], person_id),
        "father": _refs(p["father"], person_id),
        "death_date": _dates(p["death_date"]),
        "created_at": _const(stamp, n),
        "updated_at": _const(stamp, n),
        "version": _const(1, n),
    }, n)
    done("persons", n)
    h = reg.households
    k = len(h["head"])
    _insert(Household, {
        "id": _ints(np.arange(k) + household_id),
        "number": _strs(h["number"]),
        "address": _strs(h["address"]),
        "unit": _refs(h["unit"], unit_ids),
        "registration_type": _strs(h["registration_type"]),
        "head": _refs(h["head"], person_id),
        "created_at": _const(stamp, k),
    }, k)
    done("households", k)
    m = reg.marriages
    k = len(m["husband"])
    _insert(Marriage, {
        "id": _ints(np.arange(k) + next_id(Marriage)),
        "husband": _refs(m["husband"], person_id),
        "wife": _refs(m["wife"], person_id),
        "married_on": _dates(m["married_on"]),
        "ended_on": _dates(m["ended_on"]),
        "end_reason": _strs(m["end_reason"]),
        "unit": _refs(m["unit"], unit_ids),
        "recorded_at": _datetimes(m["recorded_at"]),
        "updated_at": _const(stamp, k),
    }, k)
    done("marriages", k)
    e = reg.events
    k = len(e["kind"])
    _insert(Event, {
        "id": _ints(np.arange(k) + next_id(Event)),
        "kind": _strs(e["kind"]),
        "person": _refs(e["person"], person_id),
        "date": _dates(e["date"]),
        "unit": _refs(e["unit"], unit_ids),
        "mother": _refs(e["mother"], person_id),
        "father": _refs(e["father"], person_id),
        "sex": _strs(e["sex"]),
        "live_born": _bools(e["live_born"]),
        "birth_order": _ints(e["birth_order"], null_below=1),
        "place": _strs(e["place"]),
        "from_unit": _refs(e["from_unit"], unit_ids),
        "to_unit": _refs(e["to_unit"], unit_ids),
        "from_county": _strs(e["from_county"]),
        "to_county": _strs(e["to_county"]),
        "note": _const("", k),
        "recorded_at": _datetimes(e["recorded_at"]),
        "recorded_by": _const(None, k),
        "source": _const("demo", k),
        "updated_at": _const(stamp, k),
    }, k)
    done("events", k)
    _reset_sequences()
    if connection.vendor == "sqlite":
        t = time.perf_counter()
        # Raises IntegrityError (rolling the transaction back) if a reference is dangling. The large tables'
        # references were checked in numpy before writing (register.validate); these refer to other apps' rows.
        connection.check_constraints(table_names=[m._meta.db_table for m in (OrgUnit, Household, User)])
        seconds["reference_check"] = round(time.perf_counter() - t, 3)
        say(f"  references checked           {seconds['reference_check']:6.1f} s")
    return {"rows": counts, "seconds": seconds, "first_id": {"persons": person_id, "households": household_id}}


def _write_units(reg: Register) -> np.ndarray:
    units = reg.units
    first = next_id(OrgUnit)
    ids = np.arange(len(units), dtype=np.int64) + first
    paths = []
    for i, u in enumerate(units):
        paths.append(f"{paths[u.parent] if u.parent >= 0 else '/'}{ids[i]}/")
    n = len(units)
    _insert(OrgUnit, {
        "id": _ints(ids),
        "code": _strs(np.array([u.code for u in units])),
        "name": _strs(np.array([u.name for u in units])),
        "level": _ints(np.array([u.level for u in units])),
        "unit_type": _strs(np.array([u.unit_type for u in units])),
        "parent": _refs(np.array([u.parent for u in units]), ids),
        "path": _strs(np.array(paths)),
    }, n)
    return ids


def _reset_sequences() -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows explicit ids by itself
    statements = connection.ops.sequence_reset_sql(no_style(), [OrgUnit, Person, Household, Marriage, Event])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def analyze() -> None:
    """Fresh planner statistics after a large load (the first queries of the demo would be slow without)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in (OrgUnit, Person, Household, Marriage, Event):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        else:
            cursor.execute("PRAGMA optimize")
