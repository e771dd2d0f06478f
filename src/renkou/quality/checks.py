"""The data-quality checks (数据质量核查): a registry of named checks, each with a Chinese label (through gettext),
a count query and a list query.

A check on persons declares only ``persons(today)``: the queryset of the persons it finds, over the whole register.
``quality.selectors`` adds the unit filter, counts it in ONE query grouped by unit of record (then rolled up to the
child units in Python, over the small unit table), and lists, pages and exports the same queryset. A check whose
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

from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import ExtractDay, ExtractMonth, ExtractYear
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
    # A check on persons: the persons it finds (the selectors add the area).
    persons: Callable[[date], QuerySet[Person]] | None = None
    # A check on records of another module: the count for a set of unit ids, and the page that lists them.
    count: Callable[[list[int]], int] | None = None
    link: Callable[[Any], str] | None = None  # unit → URL of the list kept by the other module

    @property
    def lists_persons(self) -> bool:
        return self.persons is not None


CHECKS: dict[str, Check] = {}


def register(check: Check) -> Check:
    if check.key in CHECKS:
        raise ValueError(f"a data-quality check named {check.key!r} is registered already")
    if (check.persons is None) == (check.count is None):
        raise ValueError(f"check {check.key!r}: give either persons or count")
    CHECKS[check.key] = check
    return check


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _living_on_register() -> QuerySet[Person]:
    """Persons a missing field matters for: alive, and not registered away to another county."""
    return Person.objects.filter(death_date__isnull=True).exclude(residence_status=ResidenceStatus.LEFT)


def _mother_age_outside(today: date) -> QuerySet[Person]:
    qs = Person.objects.filter(mother__isnull=False, birth_date__gt=F("mother__birth_date")).annotate(
        child_md=ExtractMonth("birth_date") * 100 + ExtractDay("birth_date"),
        parent_md=ExtractMonth("mother__birth_date") * 100 + ExtractDay("mother__birth_date"),
    ).annotate(
        mother_age=ExtractYear("birth_date") - ExtractYear("mother__birth_date")
        - Case(When(child_md__lt=F("parent_md"), then=Value(1)), default=Value(0), output_field=IntegerField()),
    )
    return qs.filter(Q(mother_age__lt=MOTHER_MIN_AGE) | Q(mother_age__gt=MOTHER_MAX_AGE))


def _events_after_death(today: date) -> QuerySet[Person]:
    later = Event.objects.filter(Q(person=OuterRef("pk")) | Q(mother=OuterRef("pk")),
                                 date__gt=OuterRef("death_date")).exclude(kind=EventKind.DEATH)
    return Person.objects.filter(death_date__isnull=False).filter(Exists(later))


# ------------------------------------------------------------------------------------------------ missing fields

register(Check(
    key="no_id_number", label=_("No ID number"), group=GROUP_MISSING,
    description=_("Living persons on the register without an ID number."),
    persons=lambda today: _living_on_register().filter(Q(id_number__isnull=True) | Q(id_number="")),
))
register(Check(
    key="no_registration_unit", label=_("No unit of registration"), group=GROUP_MISSING,
    description=_("Living persons whose unit of household registration is not recorded."),
    persons=lambda today: _living_on_register().filter(registration_unit__isnull=True),
))
register(Check(
    key="no_residence_unit", label=_("Resident without a unit of residence"), group=GROUP_MISSING,
    description=_("Living residents whose unit of residence is not recorded."),
    persons=lambda today: _living_on_register().filter(
        residence_unit__isnull=True, residence_status__in=[ResidenceStatus.RESIDENT, ResidenceStatus.IN]),
))
register(Check(
    key="no_ethnicity", label=_("No ethnicity"), group=GROUP_MISSING,
    description=_("Living persons without an ethnicity code."),
    persons=lambda today: _living_on_register().filter(ethnicity=""),
))
register(Check(
    key="sex_unknown", label=_("Sex unknown or not stated"), group=GROUP_MISSING,
    description=_("Living persons whose sex is not 1 (male) or 2 (female)."),
    persons=lambda today: _living_on_register().exclude(sex__in=["1", "2"]),
))

# ------------------------------------------------------------------------------------------------ ID numbers

register(Check(
    key="id_number_warnings", label=_("ID numbers with a warning to verify"), group=GROUP_ID_NUMBERS,
    description=_("ID numbers written although a check failed (e.g. the check character): to verify against "
                  "the card."),
    persons=lambda today: Person.objects.exclude(id_number_warnings=[]),
))

# ------------------------------------------------------------------------------------------------ ages and intervals

register(Check(
    key="over_max_age", label=_("Alive and older than 110"), group=GROUP_IMPOSSIBLE,
    description=_("Living persons born more than 110 years ago: a death not registered, or a wrong birth date."),
    persons=lambda today: Person.objects.filter(death_date__isnull=True,
                                                birth_date__lt=_years_before(today, MAX_PLAUSIBLE_AGE)),
))
register(Check(
    key="mother_age_at_birth", label=_("Mother's age at the birth outside 12–60"), group=GROUP_IMPOSSIBLE,
    description=_("Persons whose mother was younger than 12 or older than 60 when they were born."),
    persons=_mother_age_outside,
))
register(Check(
    key="born_before_parent", label=_("Born before a parent"), group=GROUP_IMPOSSIBLE,
    description=_("Persons born on or before the birth date of their mother or father."),
    persons=lambda today: Person.objects.filter(
        Q(mother__isnull=False, birth_date__lte=F("mother__birth_date"))
        | Q(father__isnull=False, birth_date__lte=F("father__birth_date"))),
))
register(Check(
    key="death_before_birth", label=_("Died before being born"), group=GROUP_IMPOSSIBLE,
    description=_("Persons whose date of death is before their birth date."),
    persons=lambda today: Person.objects.filter(death_date__isnull=False, death_date__lt=F("birth_date")),
))
register(Check(
    key="events_after_death", label=_("Events after death"), group=GROUP_IMPOSSIBLE,
    description=_("Deceased persons with a birth given or a move dated after their death."),
    persons=_events_after_death,
))

# ------------------------------------------------------------------------------------------------ households

register(Check(
    key="no_household", label=_("Persons without a household"), group=GROUP_HOUSEHOLDS,
    description=_("Living persons on the register who belong to no household."),
    persons=lambda today: _living_on_register().filter(household__isnull=True),
))

# ------------------------------------------------------------------------------------------------ duplicates
# LEAD: register the pending-duplicates check here after merging the dedup branch, e.g.
#
#     from renkou.dedup.selectors import pending_pairs_count
#
#     register(Check(
#         key="pending_duplicates", label=_("Pending duplicate pairs"), group=GROUP_DUPLICATES,
#         description=_("Pairs of persons that may be registered twice, waiting for review."),
#         count=lambda unit_ids: pending_pairs_count(unit_ids),
#         link=lambda unit: reverse("<the dedup review queue>") + f"?unit={unit.pk}",
#     ))
#
# ``count`` is called once for the unit and once per child unit with the unit ids of that subtree; the figure links
# to ``link(unit)`` (the review queue) instead of a list of persons here. Nothing else needs to change.


def check_get(key: str) -> Check | None:
    return CHECKS.get(key)
