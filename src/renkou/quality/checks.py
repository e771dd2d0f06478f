"""The data-quality checks (数据质量核查): a registry of named checks, each with a Chinese label (through gettext),
a count query and a list query.

A check on persons declares ``where(today)``, a condition on the person's own columns, or ``query(today)``, a queryset
(joins, subqueries) of the persons it finds over the whole register. ``quality.selectors`` adds the unit filter and
counts: all ``where`` checks together in ONE pass over the persons (a conditional count each), every ``query`` check in
one query of its own, each grouped by unit of record and rolled up to the child units in Python over the small unit
table; it lists, pages and exports the same persons. A check whose
records live in another module (the duplicate pairs of ``dedup``) declares ``count(unit_ids)`` instead and a
``link`` to the page that lists them.

The unit of record of a person is the unit of residence, or the unit of registration when there is none: every
person counts once, in one village, so that the figures of the child units add up to their parent's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Exists, F, Func, IntegerField, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from renkou.registry.models import Event, EventKind, Person, ResidenceStatus
from renkou.registry.services.events import MOTHER_MAX_AGE, MOTHER_MIN_AGE

# Working definition (DOMAIN.md style: named, in one place): a living person older than this is implausible.
MAX_PLAUSIBLE_AGE = 110

GROUP_MISSING = _("Missing fields")
GROUP_ID_NUMBERS = _("ID numbers")
GROUP_IMPOSSIBLE = _("Impossible ages and intervals")
GROUP_HOUSEHOLDS = _("Households")
GROUP_DUPLICATES = _("Duplicates")


@dataclass(frozen=True)
class Check:
    key: str
    label: Any  # lazy Chinese/English text
    group: Any
    description: Any = ""
    # A check on persons, either as a condition on the person's own columns (no join: the selectors count all such
    # checks in ONE pass over the persons) or as a queryset (joins, subqueries: one grouped query of its own).
    # The selectors add the area.
    where: Callable[[date], Q] | None = None
    query: Callable[[date], QuerySet[Person]] | None = None
    # A check on records of another module: the count for a set of unit ids, and the page that lists them.
    count: Callable[[list[int]], int] | None = None
    link: Callable[[Any], str] | None = None  # unit → URL of the list kept by the other module

    @property
    def lists_persons(self) -> bool:
        return self.where is not None or self.query is not None

    def persons(self, today: date) -> QuerySet[Person]:
        """The persons the check finds, over the whole register."""
        if self.where is not None:
            return Person.objects.filter(self.where(today))
        if self.query is not None:
            return self.query(today)
        raise TypeError(f"check {self.key!r} lists no persons")


CHECKS: dict[str, Check] = {}


def register(check: Check) -> Check:
    if check.key in CHECKS:
        raise ValueError(f"a data-quality check named {check.key!r} is registered already")
    if sum(x is not None for x in (check.where, check.query, check.count)) != 1:
        raise ValueError(f"check {check.key!r}: give one of where, query or count")
    CHECKS[check.key] = check
    return check


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _living_on_register() -> Q:
    """Persons a missing field matters for: alive, and not registered away to another county."""
    return Q(death_date__isnull=True) & ~Q(residence_status=ResidenceStatus.LEFT)


class AgeInYears(Func):
    """Whole years from the date ``start`` to the date ``end`` (an age on a day), computed by the database itself:
    Django's Extract functions are Python callbacks on SQLite, many times slower over a county."""

    output_field = IntegerField()
    arity = 2

    def _parts(self, compiler):
        start_sql, start_params = compiler.compile(self.source_expressions[0])
        end_sql, end_params = compiler.compile(self.source_expressions[1])
        return start_sql, list(start_params), end_sql, list(end_params)

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        start, start_params, end, end_params = self._parts(compiler)
        return f"CAST(EXTRACT(YEAR FROM AGE({end}, {start})) AS INTEGER)", end_params + start_params

    def as_sqlite(self, compiler, connection, **extra):
        start, start_params, end, end_params = self._parts(compiler)
        sql = (f"(CAST(strftime('%%Y', {end}) AS INTEGER) - CAST(strftime('%%Y', {start}) AS INTEGER)"
               f" - (strftime('%%m%%d', {end}) < strftime('%%m%%d', {start})))")
        return sql, end_params + start_params + end_params + start_params


def _mother_age_outside(today: date) -> QuerySet[Person]:
    qs = Person.objects.filter(mother__isnull=False, birth_date__gt=F("mother__birth_date")).annotate(
        mother_age=AgeInYears(F("mother__birth_date"), F("birth_date")))
    return qs.filter(Q(mother_age__lt=MOTHER_MIN_AGE) | Q(mother_age__gt=MOTHER_MAX_AGE))


def _events_after_death(today: date) -> QuerySet[Person]:
    later = Event.objects.filter(Q(person=OuterRef("pk")) | Q(mother=OuterRef("pk")),
                                 date__gt=OuterRef("death_date")).exclude(kind=EventKind.DEATH)
    return Person.objects.filter(death_date__isnull=False).filter(Exists(later))


# ------------------------------------------------------------------------------------------------ missing fields

register(Check(
    key="no_id_number", label=_("No ID number"), group=GROUP_MISSING,
    description=_("Living persons on the register without an ID number."),
    where=lambda today: _living_on_register() & (Q(id_number__isnull=True) | Q(id_number="")),
))
register(Check(
    key="no_registration_unit", label=_("No unit of registration"), group=GROUP_MISSING,
    description=_("Living persons whose unit of household registration is not recorded."),
    # in-migrants are registered in another county (their unit of registration is none of ours)
    where=lambda today: _living_on_register() & Q(registration_unit__isnull=True)
    & ~Q(residence_status=ResidenceStatus.IN),
))
register(Check(
    key="no_residence_unit", label=_("Resident without a unit of residence"), group=GROUP_MISSING,
    description=_("Living residents whose unit of residence is not recorded."),
    where=lambda today: _living_on_register() & Q(
        residence_unit__isnull=True, residence_status__in=[ResidenceStatus.RESIDENT, ResidenceStatus.IN]),
))
register(Check(
    key="no_ethnicity", label=_("No ethnicity"), group=GROUP_MISSING,
    description=_("Living persons without an ethnicity code."),
    where=lambda today: _living_on_register() & Q(ethnicity=""),
))
register(Check(
    key="sex_unknown", label=_("Sex unknown or not stated"), group=GROUP_MISSING,
    description=_("Living persons whose sex is not 1 (male) or 2 (female)."),
    where=lambda today: _living_on_register() & ~Q(sex__in=["1", "2"]),
))

# ------------------------------------------------------------------------------------------------ ID numbers

register(Check(
    key="id_number_warnings", label=_("ID numbers with a warning to verify"), group=GROUP_ID_NUMBERS,
    description=_("ID numbers written although a check failed (e.g. the check character): to verify against "
                  "the card."),
    where=lambda today: ~Q(id_number_warnings=[]),
))

# ------------------------------------------------------------------------------------------------ ages and intervals

register(Check(
    key="over_max_age", label=_("Alive and older than 110"), group=GROUP_IMPOSSIBLE,
    description=_("Living persons born more than 110 years ago: a death not registered, or a wrong birth date."),
    where=lambda today: Q(death_date__isnull=True, birth_date__lt=_years_before(today, MAX_PLAUSIBLE_AGE)),
))
register(Check(
    key="mother_age_at_birth", label=_("Mother's age at the birth outside 12–60"), group=GROUP_IMPOSSIBLE,
    description=_("Persons whose mother was younger than 12 or older than 60 when they were born."),
    query=_mother_age_outside,
))
register(Check(
    key="born_before_parent", label=_("Born before a parent"), group=GROUP_IMPOSSIBLE,
    description=_("Persons born on or before the birth date of their mother or father."),
    query=lambda today: Person.objects.filter(
        Q(mother__isnull=False, birth_date__lte=F("mother__birth_date"))
        | Q(father__isnull=False, birth_date__lte=F("father__birth_date"))),
))
register(Check(
    key="death_before_birth", label=_("Died before being born"), group=GROUP_IMPOSSIBLE,
    description=_("Persons whose date of death is before their birth date."),
    where=lambda today: Q(death_date__isnull=False, death_date__lt=F("birth_date")),
))
register(Check(
    key="events_after_death", label=_("Events after death"), group=GROUP_IMPOSSIBLE,
    description=_("Deceased persons with a birth given or a move dated after their death."),
    query=_events_after_death,
))

# ------------------------------------------------------------------------------------------------ households

register(Check(
    key="no_household", label=_("Persons without a household"), group=GROUP_HOUSEHOLDS,
    description=_("Living persons on the register who belong to no household."),
    where=lambda today: _living_on_register() & Q(household__isnull=True),
))

# ------------------------------------------------------------------------------------------------ duplicates
register(Check(
    key="pending_duplicates", label=_("Pending duplicate pairs"), group=GROUP_DUPLICATES,
    description=_("Pairs of persons that may be registered twice, waiting for review."),
    count=lambda unit_ids: _pending_pairs_count(unit_ids),
    link=lambda unit: reverse("dedup_queue"),
))


def _pending_pairs_count(unit_ids) -> int:
    from renkou.dedup.selectors import pending_pairs_count

    return pending_pairs_count(unit_ids)
