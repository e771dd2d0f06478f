"""Reads of the data-quality figures: the counts of every check for a unit and each of its child units, and the
records behind one figure.

Counts are aggregates (every role, aggregate viewers included, inside their area); the records are personal data
(roles with personal data only, inside their area, ID numbers masked by the pages and the API).

Efficiency: one pass over the persons of the subtree for all the checks on a person's own columns (a conditional
count each), one query for each other check, all grouped by (unit of residence, unit of registration) and rolled up
to the child units in Python through the unit table (a few hundred rows) — never a query per unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.core.errors import NotFound, PermissionDenied
from renkou.orgunits.models import OrgUnit, UnitLevel
from renkou.orgunits.selectors import unit_ancestors
from renkou.quality.checks import CHECKS, Check
from renkou.registry.models import Person


@dataclass
class UnitFigures:
    unit: OrgUnit | None  # None: persons recorded directly at the unit itself, not in a child unit
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class QualityReport:
    unit: OrgUnit
    ancestors: list[OrgUnit]
    checks: list[Check]
    totals: dict[str, int]
    children: list[UnitFigures]
    direct: UnitFigures | None  # persons whose unit of record is the unit itself (rare above the village)


def _target(user: User, unit: OrgUnit | None) -> OrgUnit:
    scope = scope_for(user)
    if scope.unit is None:
        raise PermissionDenied
    target = unit or scope.unit
    if not scope.covers(target.pk):
        raise NotFound
    return target


def _subtree(user: User, unit: OrgUnit) -> list[OrgUnit]:
    scope = scope_for(user)
    return [u for u in OrgUnit.objects.filter(path__startswith=unit.path).only("id", "path", "parent_id", "name",
                                                                                  "code", "level")
            if u.pk in scope.unit_ids]


def _of_record_in(ids: list[int]) -> Q:
    """Persons whose unit of record (residence, or registration when no residence) is one of ``ids``."""
    return Q(residence_unit_id__in=ids) | Q(residence_unit_id__isnull=True, registration_unit_id__in=ids)


def _in_area(qs: QuerySet[Person], unit: OrgUnit, ids: list[int]) -> QuerySet[Person]:
    if unit.level == UnitLevel.COUNTY:
        # every unit lies in the county: no filter (hundreds of index ranges cost more than the scan they avoid)
        return qs.filter(Q(residence_unit__isnull=False) | Q(registration_unit__isnull=False))
    return qs.filter(_of_record_in(ids))


def quality_report(*, user: User, unit: OrgUnit | None = None, today: date | None = None) -> QualityReport:
    target = _target(user, unit)
    today = today or timezone.localdate()
    units = _subtree(user, target)
    ids = [u.pk for u in units]
    depth = len(target.path.strip("/").split("/"))
    # unit id → the child of the target it lies under (or the target itself)
    child_of: dict[int, int] = {}
    for u in units:
        parts = u.path.strip("/").split("/")
        child_of[u.pk] = int(parts[depth]) if len(parts) > depth else target.pk
    children = sorted((u for u in units if u.parent_id == target.pk), key=lambda u: u.code)
    figures = {u.pk: UnitFigures(unit=u) for u in children}
    direct = UnitFigures(unit=None)
    totals: dict[str, int] = {}
    for check in CHECKS.values():
        for f in [*figures.values(), direct]:
            f.counts[check.key] = 0
        totals[check.key] = 0

    def add(key: str, residence: int | None, registration: int | None, n: int) -> None:
        child = child_of.get(residence if residence is not None else registration)
        if child is None or not n:
            return  # recorded in a unit outside the area (counted there)
        totals[key] += n
        (figures[child] if child in figures else direct).counts[key] += n

    # the checks on a person's own columns: one pass, a conditional count each
    simple = [c for c in CHECKS.values() if c.where is not None]
    if simple:
        rows = (_in_area(Person.objects.all(), target, ids).order_by()
                .values_list("residence_unit_id", "registration_unit_id")
                .annotate(**{f"n_{c.key}": Count("id", filter=c.where(today)) for c in simple}))
        for residence, registration, *counts in rows:
            for c, n in zip(simple, counts, strict=True):
                add(c.key, residence, registration, n)
    for check in CHECKS.values():
        if check.query is not None:
            rows = (_in_area(check.query(today), target, ids).order_by()
                    .values_list("residence_unit_id", "registration_unit_id").annotate(n=Count("id")))
            for residence, registration, n in rows:
                add(check.key, residence, registration, n)
        elif check.count is not None:
            totals[check.key] = check.count(ids)
            for child in children:
                figures[child.pk].counts[check.key] = check.count(
                    [u.pk for u in units if child_of[u.pk] == child.pk])
            direct.counts[check.key] = totals[check.key] - sum(f.counts[check.key] for f in figures.values())
    return QualityReport(
        unit=target, ancestors=[a for a in unit_ancestors(target) if scope_for(user).covers(a.pk) and a.pk != target.pk],
        checks=list(CHECKS.values()), totals=totals, children=[figures[u.pk] for u in children],
        direct=direct if any(direct.counts.values()) else None,
    )


def check_records(*, user: User, key: str, unit: OrgUnit | None = None, today: date | None = None) -> QuerySet[Person]:
    """The persons behind a figure, in the user's area, ordered by unit of residence and name."""
    scope = scope_for(user)
    if not scope.personal_data:
        raise PermissionDenied
    check = CHECKS.get(key)
    if check is None or not check.lists_persons:
        raise NotFound
    target = _target(user, unit)
    ids = [u.pk for u in _subtree(user, target)]
    qs = _in_area(check.persons(today or timezone.localdate()), target, ids)
    return qs.order_by("residence_unit__code", "name", "id")
