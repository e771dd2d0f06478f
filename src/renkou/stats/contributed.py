"""Data elements contributed by other modules (the exchange's counts, later services, benefits …).

The register's elements are declared in elements.py and computed by the engine from the snapshot. A module
whose figures live in its own tables contributes elements here instead: it declares them (code, names, option
combos) and gives one *provider*, a function that counts them for units and periods by reading its own
selectors::

    from renkou.stats.contributed import ContributedElement, register_elements

    def provide(unit_codes: list[str] | None, periods: list[Period]) -> Iterable[tuple]:
        # rows (data_element, coc, org_unit, period_code, value); coc "" is the total
        ...

    register_elements("migrants", [ContributedElement("EXCH_RECORDS_DUE", "…", "…")], provide)

called from the module's ``AppConfig.ready()``. ``unit_codes`` is None for "every unit". The values join the
register's in ``selectors.cube_for`` (so indicators, ``values()``, the pages, the API, exports and publication see
them alike); they are counted when read (not cached: they change without the register changing) and frozen
with the rest when a period is published. A unit or period the provider leaves out counts 0.

``renkou stats snapshot`` also writes the providers' values into the snapshot (``contributed.parquet``, see
``export_table``), and ``renkou stats --engine … --snapshots DIR…`` puts them beside the engine's rows
(``snapshot_values``): the same providers, read at the time of the snapshot.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from renkou.orgunits.periods import Period, PeriodType, periods_between
from renkou.stats.cube import Cube

Row = tuple[str, str, str, str, float]
Provider = Callable[[Sequence[str] | None, Sequence[Period]], Iterable[Row]]


@dataclass(frozen=True)
class ContributedElement:
    code: str
    name_zh: str
    name_en: str
    cocs_declared: tuple[tuple[str, str, str], ...] = ()  # (code, Chinese name, English name)
    description: str = ""
    unit_label: str = ""
    module: str = ""
    # the same reading interface as elements.DataElement
    at: str | None = None

    @property
    def stock(self) -> bool:
        return False

    def cocs(self) -> list[tuple[str, str, str]]:
        return list(self.cocs_declared)


_lock = threading.Lock()
_elements: dict[str, ContributedElement] = {}
_providers: dict[str, tuple[Provider, tuple[str, ...]]] = {}


def register_elements(module: str, elements: Sequence[ContributedElement], provider: Provider) -> None:
    """Declare ``module``'s elements and the function that counts them (idempotent per module)."""
    from renkou.stats.elements import element_get

    with _lock:
        old = _providers.get(module)
        for code in old[1] if old else ():
            _elements.pop(code, None)
        for e in elements:
            if element_get(e.code) is not None or (e.code in _elements and _elements[e.code].module != module):
                raise ValueError(f"data element {e.code} is declared twice")
        for e in elements:
            _elements[e.code] = ContributedElement(e.code, e.name_zh, e.name_en, tuple(e.cocs_declared),
                                                   e.description, e.unit_label, module)
        _providers[module] = (provider, tuple(e.code for e in elements))


def unregister(module: str) -> None:
    with _lock:
        old = _providers.pop(module, None)
        for code in old[1] if old else ():
            _elements.pop(code, None)


def contributed_get(code: str) -> ContributedElement | None:
    return _elements.get(code)


def contributed_elements() -> list[ContributedElement]:
    return sorted(_elements.values(), key=lambda e: (e.module, e.code))


def known(element: str, coc: str) -> bool:
    e = _elements.get(element)
    return e is not None and (coc == "" or any(c == coc for c, _z, _n in e.cocs_declared))


def rows(periods: Sequence[Period], units: Sequence[str] | None = None) -> list[Row]:
    """Every contributed element's rows for these periods and units (None: all units), from the providers (a row
    for an element, unit or period not asked for is left out)."""
    if not periods:
        return []
    with _lock:
        providers = list(_providers.values())
    out: list[Row] = []
    wanted = set(units) if units is not None else None
    codes = {p.code for p in periods}
    for provider, declared in providers:
        allowed = set(declared)
        for r in provider(list(units) if units is not None else None, list(periods)):
            if r[0] in allowed and r[3] in codes and (wanted is None or r[2] in wanted):
                out.append((r[0], r[1], r[2], r[3], float(r[4])))
    return out


def cube(periods: Sequence[Period], units: Sequence[str] | None = None) -> Cube:
    """Every contributed element for these periods and units (None: all units), from the providers."""
    found = rows(periods, units)
    return Cube.from_rows(found) if found else Cube.empty()


# --------------------------------------------------------------------------------------------------------------
# contributed values in a snapshot (``renkou stats snapshot``), for the engines' runs over snapshots
#
# A snapshot run (``renkou stats --engine duckdb|spark --snapshots DIR…``) may read other counties' snapshots, whose
# providers' tables are not here; and the providers count figures that are not sums of dated rows (e.g. records due
# in a period that were submitted before its end). So the snapshot carries the providers' own answers — the same
# functions as the live reads, no second definition — for every period of every type over the last years
# (``contributed.parquet``: data_element, coc, org_unit, period, value), and the run looks the periods asked up.

# How many whole years before the current one the exported periods cover.
EXPORT_YEARS = 10
VALUE_SCHEMA = pa.schema([("data_element", pa.string()), ("coc", pa.string()), ("org_unit", pa.string()),
                          ("period", pa.string()), ("value", pa.float64())])


def export_periods(today: date, years: int = EXPORT_YEARS) -> list[Period]:
    """Every period of every type from 1 January ``years`` years before ``today``'s year up to the period holding
    ``today``."""
    start = date(today.year - years, 1, 1)
    return [p for t in PeriodType for p in periods_between(t, start, today)]


def export_table(periods: Sequence[Period]) -> pa.Table:
    """The providers' rows for these periods and every unit, as written to ``contributed.parquet``."""
    found = rows(periods)
    return pa.table([pa.array([r[i] for r in found], f.type) for i, f in enumerate(VALUE_SCHEMA)],
                    schema=VALUE_SCHEMA)


@dataclass
class SnapshotValues:
    table: pa.Table  # VALUE_SCHEMA: the contributed rows of the periods asked, from every snapshot
    missing: dict[str, list[str]]  # snapshot folder → the periods asked that it holds no contributed values for


def snapshot_values(snapshots: Sequence[Path], periods: Sequence[Period]) -> SnapshotValues:
    """The contributed values the snapshots carry for these periods (written by ``renkou stats snapshot``), to be
    put beside the engine's rows. A snapshot without them, or without a period, is named in ``missing``."""
    import pyarrow.parquet as pq

    codes = [p.code for p in periods]
    tables, missing = [], {}
    for snap in snapshots:
        meta_file, values = Path(snap) / "meta.json", Path(snap) / "contributed.parquet"
        covered = set(json.loads(meta_file.read_text()).get("contributed_periods", [])) if meta_file.exists() else set()
        if not values.exists():
            covered = set()
        absent = [c for c in codes if c not in covered]
        if absent:
            missing[str(snap)] = absent
        wanted = [c for c in codes if c in covered]
        if wanted:
            tables.append(pq.read_table(values, filters=[("period", "in", wanted)]).select(VALUE_SCHEMA.names)
                          .cast(VALUE_SCHEMA))
    table = pa.concat_tables(tables) if tables else VALUE_SCHEMA.empty_table()
    return SnapshotValues(table=table, missing=missing)


def merge(a: Cube, b: Cube) -> Cube:
    """The values of both cubes on the union of their rows and keys (a row in both adds up)."""
    if not b.rows:
        return a
    if not a.rows:
        return b
    keys = list(dict.fromkeys([*a.keys, *b.keys]))
    rows = list(dict.fromkeys([*a.rows, *b.rows]))
    kidx = {k: i for i, k in enumerate(keys)}
    ridx = {r: j for j, r in enumerate(rows)}
    m = np.zeros((len(keys), len(rows)))
    for c in (a, b):
        ki = np.array([kidx[k] for k in c.keys], dtype=int)
        rj = np.array([ridx[r] for r in c.rows], dtype=int)
        if len(ki) and len(rj):
            m[np.ix_(ki, rj)] += c.matrix
    return Cube(keys, rows, m)
