"""Inserting many rows of one model fast, inside the caller's transaction (for the bulk import).

Django's ``bulk_create`` prepares each value through each field (about 20 µs a row for a person); here each column
gets one converter chosen once, the primary keys are reserved up front (PostgreSQL: the table's sequence; SQLite:
past the table's highest id and its AUTOINCREMENT counter, safe because renkou's SQLite transactions begin
IMMEDIATE, holding the write lock) and the rows go out with ``COPY`` on PostgreSQL, ``executemany`` on SQLite. Rows
are model instances or dicts keyed by attribute name (``unit_id``), or tuples of chosen columns (``insert_tuples``);
the instances get their ``pk``.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from operator import attrgetter, itemgetter
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

_gc_lock = threading.Lock()
_gc_state = {"pausers": 0, "was_enabled": False}


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (and back on after the last block still open, in any
    thread, if it was on before the first).

    A bulk import keeps hundreds of thousands of objects alive until it commits (rows, instances, messages): each
    full collection walks all of them and frees nothing, which cost a fifth of an import's CPU time. Reference
    counting still frees everything that is not in a cycle; the few cycles made meanwhile (caught exceptions)
    are collected when the collector is back on."""
    with _gc_lock:
        if _gc_state["pausers"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["pausers"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["pausers"] -= 1
            if _gc_state["pausers"] == 0 and _gc_state["was_enabled"]:
                # Everything allocated meanwhile sits in the youngest generation: the first collection would walk
                # it all at once (the import's rows, still alive). Moved to the oldest instead (freeze, then
                # unfreeze: two list splices), it is walked at the next full collection, by when most of it is gone.
                gc.freeze()
                gc.unfreeze()
                gc.enable()


@functools.cache
def _defaults(model: type[models.Model]) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]:
    fixed, called = {}, []
    for f in model._meta.concrete_fields:
        if f.has_default() and callable(f.default):
            called.append((f.attname, f.default))
        else:
            fixed[f.attname] = f.get_default()
    return fixed, tuple(called)


@functools.cache
def _build_plan(model: type[models.Model]) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...],
                                                   frozenset[str], dict[str, tuple[str, str]]]:
    fixed, called = _defaults(model)
    known = frozenset(fixed) | {a for a, _ in called}
    refs = {f.name: (f.attname, f.target_field.attname) for f in model._meta.concrete_fields if f.many_to_one}
    return fixed, called, known, refs


@functools.cache
def _null_refs(model: type[models.Model]) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, f.attname) for f in model._meta.concrete_fields if f.many_to_one)


def build_unsaved(model: type[models.Model], values: dict[str, Any],
                  refs: dict[str, models.Model] | None = None) -> models.Model:
    """An unsaved instance of ``model``, as ``model(**values, **refs)`` would make it, without ``Model.__init__``
    (which walks every field and descriptor: a third of the cost of checking a row in a bulk import).

    ``values`` are keyed by attribute name (``unit_id``, not ``unit``); each of ``refs`` (a foreign key by field
    name) sets its id column and its cached object, as assigning it would. Unknown names are refused. The model
    must not rely on ``pre_init``/``post_init`` signals (renkou's do not)."""
    fixed, called, known, ref_fields = _build_plan(model)
    if not values.keys() <= known:
        raise TypeError(f"{model.__name__} has no field(s) {sorted(values.keys() - known)}")
    obj = model.__new__(model)
    state = models.base.ModelState()
    state.fields_cache = cache = {}
    attrs = obj.__dict__
    attrs["_state"] = state
    attrs.update(fixed)
    for attname, make in called:
        attrs[attname] = make()
    attrs.update(values)
    if refs:
        for name, target in refs.items():
            try:
                attname, target_attname = ref_fields[name]
            except KeyError:
                model._meta.get_field(name)  # FieldDoesNotExist for an unknown name
                raise TypeError(f"{model.__name__}.{name} is not a foreign key") from None
            attrs[attname] = None if target is None else getattr(target, target_attname)
            cache[name] = target
    # a foreign key left empty is cached as None, as reading it would cache it: the first read of an empty
    # foreign key otherwise takes the descriptor's slow path (a cache miss, then a look at the id)
    for name, attname in _null_refs(model):
        if attrs[attname] is None and name not in cache:
            cache[name] = None
    return obj


def reserve_ids(model: type[models.Model], n: int) -> list[int]:
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, pk, n])
            return [r[0] for r in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX({connection.ops.quote_name(pk)}), 0) FROM "  # noqa: S608
                       f"{connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            top = max(top, row[0] if row else 0)
        return list(range(top + 1, top + 1 + n))


class JSONText(str):
    """A JSON value already encoded (by a caller that writes many rows of one shape from a template): written to a
    JSONField as it is, where another value would be encoded. The caller answers for it being valid JSON (the
    databases check: SQLite's JSON_VALID constraint, PostgreSQL's jsonb)."""

    __slots__ = ()


_json_encode = json.JSONEncoder(ensure_ascii=False).encode
#: JSON string literal of a str, as the encoder writes it (non-ASCII kept): for JSONText templates
json_string = json.encoder.encode_basestring


def _encode_json(v: Any) -> Any:
    if v.__class__ is JSONText:
        return v
    return None if v is None else ("[]" if v == [] else _json_encode(v))


def _converter(field: models.Field) -> Callable[[Any], Any]:
    ops = connection.ops
    if isinstance(field, models.JSONField):
        return _encode_json
    if isinstance(field, models.DateTimeField):
        last: list[Any] = [object(), None]  # a bulk write stamps every row with the same time: adapt it once

        def adapt(v: Any) -> Any:
            if v is not last[0]:
                last[0], last[1] = v, ops.adapt_datetimefield_value(v)
            return last[1]

        return adapt
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.BooleanField) and connection.vendor == "sqlite":
        return lambda v: None if v is None else int(v)
    return _identity


def _identity(v: Any) -> Any:
    return v


def insert_many(model: type[models.Model], rows: list[Any], *, batch_size: int = 5000) -> list[int]:
    """Insert ``rows`` (instances or attribute dicts) with reserved ids; returns the ids in order."""
    if not rows:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("insert_many must run inside a transaction")
    fields = model._meta.concrete_fields
    ids = reserve_ids(model, len(rows))
    now = timezone.now()
    pk_name = model._meta.pk.attname
    attnames = [f.attname for f in fields]
    pk_index = attnames.index(pk_name)
    # columns that need a conversion (dates, JSON) or a default; the others go out as they are
    converters = [(i, c) for i, f in enumerate(fields) if (c := _converter(f)) is not _identity]
    auto_now = [i for i, f in enumerate(fields) if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    defaults = {f.attname: f.get_default() for f in fields if f.has_default()}
    # the rows are made batch by batch as the database takes them (a generator): each batch is written while it
    # is still in the processor's cache, and the rows of a large file never all exist at once
    _write(model, fields, _rows_out(rows, ids, pk_name, pk_index, attnames, converters, auto_now, defaults, now),
           batch_size)
    return ids


def _rows_out(rows: list[Any], ids: list[int], pk_name: str, pk_index: int, attnames: list[str],
              converters: list[tuple[int, Callable[[Any], Any]]], auto_now: list[int], defaults: dict[str, Any],
              now: Any) -> Iterator[list[Any]]:
    get_attrs = attrgetter(*attnames)
    # an instance's values straight from its __dict__ (C speed): reading them as attributes goes through the
    # foreign keys' descriptors, a Python call per column (an instance with a deferred field falls back to that)
    get_items = itemgetter(*attnames)
    alias = connection.alias
    for row, pk in zip(rows, ids, strict=True):
        if isinstance(row, dict):
            out = [row.get(a, defaults.get(a)) for a in attnames]
        else:
            setattr(row, pk_name, pk)
            attrs = row.__dict__
            state = attrs["_state"]
            state.adding = False
            state.db = alias
            try:
                out = list(get_items(attrs))
            except KeyError:
                out = list(get_attrs(row))
            for i in auto_now:
                if out[i] is None:
                    setattr(row, attnames[i], now)
        out[pk_index] = pk
        for i in auto_now:
            if out[i] is None:
                out[i] = now
        for i, convert in converters:
            out[i] = convert(out[i])
        yield out


def _write(model: type[models.Model], fields: Sequence[models.Field], values: Iterable[Sequence[Any]],
           batch_size: int) -> None:
    """The rows out: PostgreSQL ``COPY … FROM STDIN`` (one statement: the server parses and plans nothing per
    row, where an INSERT a row cost it more than the whole check of the row), elsewhere ``executemany`` of one
    prepared INSERT."""
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    cols = ", ".join(qn(f.column) for f in fields)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, connection.wrap_database_errors, \
                cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in values:
                write_row(row)
        return
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
    values = iter(values)
    with connection.cursor() as cursor:
        while batch := list(islice(values, batch_size)):
            cursor.executemany(sql, batch)


def insert_tuples(model: type[models.Model], columns: Sequence[str], rows: list[Sequence[Any]], *,
                  batch_size: int = 5000) -> list[int]:
    """Insert ``rows``, each a tuple of the values of ``columns`` (attribute names, the primary key not among
    them), with reserved ids; returns the ids in order. The other columns take their default (a callable default
    must be ``dict`` or ``list``; ``auto_now`` columns the time of the call). The cheapest way in for many rows
    built at once (history, audit): no dict or instance per row."""
    if not rows:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("insert_tuples must run inside a transaction")
    pk = model._meta.pk
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [c for c in columns if c not in by_attname or c == pk.attname]
    if unknown:
        raise TypeError(f"{model.__name__} has no column(s) {unknown} to insert")
    given = [by_attname[c] for c in columns]
    now = timezone.now()
    rest = []
    for f in model._meta.concrete_fields:
        if f is pk or f.attname in columns:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default() and callable(f.default) and f.default not in (dict, list):
            raise TypeError(f"{model.__name__}.{f.attname} has a default computed per row: give the column")
        else:
            value = f.get_default()
        rest.append((f, _converter(f)(value)))
    rest_values = tuple(v for _f, v in rest)
    converters = [(i + 1, c) for i, f in enumerate(given) if (c := _converter(f)) is not _identity]
    ids = reserve_ids(model, len(rows))
    if converters:
        values = _converted(rows, ids, converters, rest_values)
    else:  # made batch by batch as the database takes them (see insert_many)
        values = ((pk_value, *row, *rest_values) for row, pk_value in zip(rows, ids, strict=True))
    _write(model, [pk, *given, *(f for f, _v in rest)], values, batch_size)
    return ids


def _converted(rows: list[Sequence[Any]], ids: list[int], converters: list[tuple[int, Callable[[Any], Any]]],
               rest_values: tuple[Any, ...]) -> Iterator[list[Any]]:
    for row, pk_value in zip(rows, ids, strict=True):
        out = [pk_value, *row]
        for i, convert in converters:
            out[i] = convert(out[i])
        out += rest_values
        yield out


def update_many(model: type[models.Model], rows: list[models.Model], fields: list[str], *,
                batch_size: int = 5000) -> None:
    """``UPDATE … SET … WHERE pk = …`` of ``fields`` (names or attribute names: ``household`` or ``household_id``)
    for each of ``rows``, with ``executemany``: Django's ``bulk_update`` builds a CASE per row and field, which
    costs milliseconds a row for thousands of rows."""
    if not rows:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("update_many must run inside a transaction")
    concrete = [model._meta.get_field(f) for f in fields]
    converters = [_converter(f) for f in concrete]
    attnames = [f.attname for f in concrete]
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(f.column)} = %s" for f in concrete)
    sql = f"UPDATE {qn(model._meta.db_table)} SET {sets} WHERE {qn(model._meta.pk.column)} = %s"  # noqa: S608
    values = [[convert(getattr(row, a)) for convert, a in zip(converters, attnames, strict=True)] + [row.pk]
              for row in rows]
    with connection.cursor() as cursor:
        for i in range(0, len(values), batch_size):
            cursor.executemany(sql, values[i:i + batch_size])
