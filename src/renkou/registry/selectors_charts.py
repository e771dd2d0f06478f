"""Aggregates for the charts of the pages (no personal data: allowed for every role, aggregate viewers too).

Read through the user's scope like every selector; counted by the database in one grouped query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.db.models import Case, Count, IntegerField, Value, When
from django.utils import timezone

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.selectors import unit_subtree_ids
from renkou.registry.models import Person

# Five-year age groups 0–4 … 85–89, then 90 and over (the census tables' grouping).
AGE_GROUP_YEARS = 5
OPEN_AGE = 90
# Grouping a million persons takes seconds on SQLite; a pyramid a quarter of an hour old is good enough for a home page.
PYRAMID_CACHE_SECONDS = 900


@dataclass(frozen=True)
class Pyramid:
    """Living residents of an area by five-year age group and sex, on a date."""

    on: date
    labels: list[str]
    men: list[int]
    women: list[int]

    @property
    def total(self) -> int:
        return sum(self.men) + sum(self.women)

    def rows(self) -> list[tuple[str, int, int]]:
        return list(zip(self.labels, self.men, self.women, strict=True))


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February in a common year
        return d.replace(year=d.year - years, day=28)


def population_pyramid(*, user: User, unit: OrgUnit | None = None, on: date | None = None) -> Pyramid:
    """Living residents (resident or living here from another county) whose unit of residence lies in the
    user's area (or in ``unit``'s subtree within it), by age on ``on`` (today) and sex (1 men, 2 women)."""
    on = on or timezone.localdate()
    scope = scope_for(user)
    root = unit if unit is not None else scope.unit
    # Cached per area root: the same for every user whose area contains it (an area is a whole subtree).
    key = f"renkou:pyramid:{root.pk}:{on.isoformat()}" if root is not None and scope.covers(root.pk) else None
    if key is not None and (cached := cache.get(key)) is not None:
        return cached
    unit_ids = scope.unit_ids if unit is None else frozenset(unit_subtree_ids(unit)) & scope.unit_ids
    starts = list(range(0, OPEN_AGE, AGE_GROUP_YEARS))
    labels = [f"{a}–{a + AGE_GROUP_YEARS - 1}" for a in starts] + [f"{OPEN_AGE}+"]
    # Aged at least a (born on or before `on` minus a years): the group index is the highest such a.
    whens = [When(birth_date__lte=_years_before(on, a), then=Value(i))
             for i, a in reversed(list(enumerate([*starts, OPEN_AGE])))]
    rows = (
        Person.objects.filter(residence_unit_id__in=sorted(unit_ids), death_date__isnull=True,
                              birth_date__lte=on, merged_into__isnull=True)
        .annotate(age_group=Case(*whens, default=Value(0), output_field=IntegerField()))
        .values("age_group", "sex")
        .annotate(n=Count("id"))
        .order_by()
    )
    men = [0] * len(labels)
    women = [0] * len(labels)
    for row in rows:
        if row["sex"] == "1":
            men[row["age_group"]] += row["n"]
        elif row["sex"] == "2":
            women[row["age_group"]] += row["n"]
    pyramid = Pyramid(on=on, labels=labels, men=men, women=women)
    if key is not None:
        cache.set(key, pyramid, PYRAMID_CACHE_SECONDS)
    return pyramid
