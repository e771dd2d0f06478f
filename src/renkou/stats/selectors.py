"""Reads of the statistics: data element and indicator values for units and periods.

The public contract other modules use is :func:`values`. Values of a published period come from its frozen
copy; values of other periods are computed by DuckDB from the current snapshot (rebuilt first when the register
changed), cached per snapshot build and set of periods.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from django.db.models import QuerySet

from renkou.orgunits.models import OrgUnit
from renkou.orgunits.periods import Period
from renkou.stats import contributed, engine
from renkou.stats.cube import Cube
from renkou.stats.elements import ELEMENTS, element_get
from renkou.stats.indicators import Computed, Definition, compute
from renkou.stats.models import FrozenValue, Indicator, PublishedPeriod
from renkou.stats.snapshot import snapshot_ensure, snapshot_meta

_CACHE_SIZE = 4
_cache: OrderedDict[tuple, Cube] = OrderedDict()
_lock = threading.Lock()


def forget_cache() -> None:
    with _lock:
        _cache.clear()


def _period(p: Period | str) -> Period:
    return p if isinstance(p, Period) else Period.parse(str(p))


def computed_cube(periods: Iterable[Period | str], elements: Sequence[str] | None = None) -> Cube:
    """Every element (or the ``elements`` named) for every unit of the county in these periods, computed from the
    snapshot (cached)."""
    plist = sorted({_period(p) for p in periods}, key=lambda p: (p.start, p.end, p.code))
    if not plist:
        return Cube.empty()
    chosen = ELEMENTS if elements is None else tuple(e for e in ELEMENTS if e.code in set(elements))
    info = snapshot_ensure()
    meta = snapshot_meta(info.path) or {}
    key = (str(info.path), meta.get("build_id"), tuple(p.code for p in plist),
           None if elements is None else tuple(e.code for e in chosen))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    cube = Cube.from_arrow(engine.run_duckdb([info.path], plist, chosen).table)
    with _lock:
        _cache[key] = cube
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return cube


def published_periods(codes: Iterable[str] | None = None) -> dict[str, PublishedPeriod]:
    qs = PublishedPeriod.objects.all()
    if codes is not None:
        qs = qs.filter(period__in=list(codes))
    return {p.period: p for p in qs}


def frozen_cube(published: Sequence[PublishedPeriod], units: Sequence[str] | None = None) -> Cube:
    if not published:
        return Cube.empty()
    qs = FrozenValue.objects.filter(published__in=published)
    if units is not None:
        qs = qs.filter(org_unit__in=list(units))
    return Cube.from_rows(qs.values_list("data_element", "coc", "org_unit", "published__period", "value"))


def cube_for(periods: Iterable[Period | str], units: Sequence[str] | None = None, *,
             use_frozen: bool = True, elements: Sequence[str] | None = None) -> Cube:
    """Values of these periods (frozen ones for published periods), for ``units`` (default all); the register's
    elements computed are all of them or the ``elements`` named (a page that shows a few: flows alone need no
    stock)."""
    plist = [_period(p) for p in periods]
    codes = [p.code for p in plist]
    published = published_periods(codes) if use_frozen else {}
    live = computed_cube([c for c in codes if c not in published], elements)
    if units is not None:
        live = live.select(units=units)
    live = contributed.merge(live, contributed.cube([p for p in plist if p.code not in published], units))
    return Cube.concat(live, frozen_cube(list(published.values()), units))


def indicators_list() -> QuerySet[Indicator]:
    return Indicator.objects.all()


def indicator_get(code: str) -> Indicator | None:
    return Indicator.objects.filter(code=code).first()


def indicator_values(cube: Cube, indicators: Iterable[Indicator] | None = None) -> dict[str, Computed]:
    defs = [Definition.of(i) for i in (indicators if indicators is not None else indicators_list())]
    return {d.code: compute(d, cube) for d in defs}


def indicator_table(unit_code: str, period: Period | str,
                    indicators: Iterable[Indicator] | None = None) -> list[dict]:
    """Every indicator's value for one unit and period, with its numerator, denominator and target (met or
    not; None when there is no target or no value)."""
    p = _period(period)
    inds = list(indicators if indicators is not None else indicators_list())
    cube = cube_for([p], [unit_code]).aligned([(unit_code, p.code)])
    out = []
    for ind in inds:
        c = compute(Definition.of(ind), cube)
        value = _number(c.value[0])
        out.append({"indicator": ind, "code": ind.code, "name_zh": ind.name_zh, "name_en": ind.name_en,
                    "unit_label": ind.unit_label, "decimals": ind.decimals, "value": value,
                    "numerator": _number(c.numerator[0]), "denominator": _number(c.denominator[0]),
                    "target": ind.target, "target_is_minimum": ind.target_is_minimum,
                    "target_met": ind.target_met(value)})
    return out


def _number(v: float) -> float | int | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return int(v) if float(v).is_integer() else float(v)


def any_element_get(code: str):
    """A data element by code: one of the register's (elements.py) or one another module contributed."""
    return element_get(code) or contributed.contributed_get(code)


def register_codes(codes: Iterable[str]) -> set[str]:
    """Which of ``codes`` this module computes: its data elements (the register's and those other modules
    contribute, see contributed.py) and its indicators."""
    codes = set(codes)
    known = {c for c in codes if any_element_get(c) is not None}
    return known | set(Indicator.objects.filter(code__in=codes - known).values_list("code", flat=True))


def values(element_codes: Iterable[str], unit_codes: Iterable[str], periods: Iterable[Period | str]) -> list[dict]:
    """The public contract: values of data elements (every option combo and the total ``""``) and indicators.

    ``element_codes``: data element codes (elements.py) or indicator codes; ``unit_codes``: 12-digit unit codes;
    ``periods``: renkou period codes (``2025``, ``FP2025``, ``2025Q3``, ``202507`` …) or Period objects.
    Returns dicts ``{"data_element", "category_option_combo", "org_unit", "period", "value"}``; zero counts are
    included for every requested element, unit and period; an indicator whose denominator is 0 is left out.
    Raises ``ValueError`` for an unknown code or period.
    """
    codes = list(dict.fromkeys(element_codes))
    units = list(dict.fromkeys(unit_codes))
    plist = [_period(p) for p in dict.fromkeys(periods)]
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=codes)}
    unknown = [c for c in codes if any_element_get(c) is None and c not in indicators]
    if unknown:
        raise ValueError(f"unknown data element or indicator: {unknown[0]}")
    cube = cube_for(plist, units)
    out: list[dict] = []
    for code in codes:
        el = any_element_get(code)
        if el is not None:
            for coc in ["", *(c for c, _z, _e in el.cocs())]:
                key = (code, coc)
                for u in units:
                    for p in plist:
                        out.append({"data_element": code, "category_option_combo": coc, "org_unit": u,
                                    "period": p.code, "value": _number(cube.value(key, u, p.code))})
            continue
        full = cube.aligned([(u, p.code) for u in units for p in plist])
        result = compute(Definition.of(indicators[code]), full)
        for j, (u, p) in enumerate(full.rows):
            v = _number(result.value[j])
            if v is not None:
                out.append({"data_element": code, "category_option_combo": "", "org_unit": u, "period": p,
                            "value": v})
    return out


def units_for_report(unit: OrgUnit) -> list[OrgUnit]:
    """The unit itself and its children (the rows of a form), in code order."""
    return [unit, *OrgUnit.objects.filter(parent=unit).order_by("code")]


def period_changes(period: Period | str, unit_codes: Sequence[str] | None = None) -> list[dict]:
    """What would change if a published period were computed again from today's register: every value whose
    recomputed figure differs from the frozen one (frozen, current, difference)."""
    p = _period(period)
    published = published_periods([p.code]).get(p.code)
    if published is None:
        return []
    frozen = frozen_cube([published], unit_codes)
    live = computed_cube([p])
    if unit_codes is not None:
        live = live.select(units=unit_codes)
    live = contributed.merge(live, contributed.cube([p], unit_codes))
    out = []
    keys = list(dict.fromkeys([*frozen.keys, *live.keys]))
    rows = list(dict.fromkeys([*frozen.rows, *live.rows]))
    for (element, coc) in keys:
        if any_element_get(element) is None:
            continue
        for unit, code in rows:
            a, b = frozen.value((element, coc), unit, code), live.value((element, coc), unit, code)
            if a != b:
                out.append({"data_element": element, "category_option_combo": coc, "org_unit": unit,
                            "period": p.code, "frozen": _number(a), "current": _number(b),
                            "difference": _number(b - a)})
    out.sort(key=lambda r: (r["org_unit"], r["data_element"], r["category_option_combo"]))
    return out
