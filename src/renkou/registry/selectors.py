"""Reads of the register, always through the user's scope. ``person_get_for_user`` is the one way to fetch a
person: missing and out of scope are both NotFound (404)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from renkou.accounts.models import User
from renkou.accounts.scope import Scope, scope_for
from renkou.core.errors import NotFound, PermissionDenied
from renkou.orgunits.models import OrgUnit, UnitLevel
from renkou.orgunits.selectors import unit_subtree_ids
from renkou.registry import idnumbers
from renkou.registry.models import (
    Event,
    EventKind,
    Household,
    Marriage,
    Person,
    PersonHistory,
    ResidenceStatus,
)

# Counting every match of a broad search over a million persons is slow and of no use: stop at this many.
COUNT_CAP = 5_000
# An ID number is searched by its beginning up to the address code and birth date (14 characters).
ID_PREFIX_MAX = 14
PAGE_SIZE = 50


def _personal_scope(user: User) -> Scope:
    scope = scope_for(user)
    if not scope.personal_data:
        raise PermissionDenied
    return scope


def _in_units(unit_ids: frozenset[int] | set[int] | list[int]) -> Q:
    ids = sorted(unit_ids)
    return Q(residence_unit_id__in=ids) | Q(registration_unit_id__in=ids)


def persons_in_scope(user: User) -> QuerySet[Person]:
    return Person.objects.filter(_in_units(_personal_scope(user).unit_ids), merged_into__isnull=True)


def persons_visible_to(user: User, persons: list[Person]) -> list[Person]:
    """The persons of a list that the user may open. Household members and children are read by household
    and by parent, not by area: one who moved their registration to another township would otherwise be
    listed to the officers of both."""
    scope = scope_for(user)
    return [p for p in persons if scope.covers(p.residence_unit_id) or scope.covers(p.registration_unit_id)]


def person_get_for_user(*, user: User, person_id: int) -> Person:
    scope = _personal_scope(user)
    person = (Person.objects.select_related("household", "residence_unit", "registration_unit", "mother", "father")
              .filter(pk=person_id).first())
    if person is None or not (scope.covers(person.residence_unit_id) or scope.covers(person.registration_unit_id)):
        raise NotFound
    return person


def person_get_by_id_number_for_user(*, user: User, id_number: str) -> Person:
    try:
        number = idnumbers.normalize(id_number)
    except idnumbers.IdNumberError as exc:
        raise NotFound from exc
    pk = Person.objects.filter(id_number=number).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound
    return person_get_for_user(user=user, person_id=pk)


def household_get_for_user(*, user: User, household_id: int) -> Household:
    scope = _personal_scope(user)
    household = Household.objects.select_related("unit", "head").filter(pk=household_id).first()
    if household is None or not scope.covers(household.unit_id):
        raise NotFound
    return household


def household_get_by_number_for_user(*, user: User, number: str) -> Household:
    pk = Household.objects.filter(number=number.strip()).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound
    return household_get_for_user(user=user, household_id=pk)


def marriage_get_for_user(*, user: User, marriage_id: int) -> Marriage:
    marriage = Marriage.objects.filter(pk=marriage_id).first()
    if marriage is None:
        raise NotFound
    for pid in (marriage.wife_id, marriage.husband_id):
        try:
            person_get_for_user(user=user, person_id=pid)
            return marriage
        except NotFound:
            continue
    raise NotFound


def households_for_user(*, user: User, unit: OrgUnit | None = None, text: str = "") -> QuerySet[Household]:
    """Households in the user's area, by number prefix or part of the address."""
    scope = _personal_scope(user)
    unit_ids = scope.unit_ids
    if unit is not None:
        if not scope.covers(unit.pk):
            raise NotFound
        unit_ids = frozenset(unit_subtree_ids(unit)) & scope.unit_ids
    qs = Household.objects.filter(unit_id__in=sorted(unit_ids)).select_related("unit", "head")
    text = text.strip()
    if text:
        # a range rather than LIKE for the number, so that its unique index serves the prefix
        qs = qs.filter(Q(number__gte=text, number__lt=text + "\U0010ffff") | Q(address__contains=text))
    return qs.order_by("number", "id")


def households_with_members(qs: QuerySet[Household]) -> QuerySet[Household]:
    """``qs`` with ``living_members``: the living persons of each household who live in it (one query with the page)."""
    return qs.annotate(living_members=Count("members", filter=Q(members__death_date__isnull=True,
                                                         members__merged_into__isnull=True,
                                                         members__residence_status=ResidenceStatus.RESIDENT)))


@dataclass(frozen=True)
class PersonQuery:
    text: str = ""  # a name (or its beginning) or an ID number (or its beginning)
    unit_id: int | None = None
    household_number: str = ""
    include_dead: bool = False
    include_departed: bool = True


@dataclass
class PersonPage:
    rows: list[Person]
    number: int
    page_size: int
    count: int
    count_capped: bool
    has_next: bool

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.page_size))


def _prefix_range(field: str, prefix: str) -> Q:
    # A range instead of LIKE so that SQLite and PostgreSQL both use the index, whatever the collation.
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"})


def _looks_like_id_number(text: str) -> bool:
    cleaned = text.replace(" ", "")
    return len(cleaned) >= 4 and all(c.isdigit() or c in "xX" for c in cleaned)


def person_search(*, user: User, query: PersonQuery, page: int = 1, page_size: int = PAGE_SIZE) -> PersonPage:
    qs, order = _person_query(user, query)
    page = max(1, page)
    count = qs.order_by()[: COUNT_CAP + 1].count()
    capped = count > COUNT_CAP
    count = min(count, COUNT_CAP)
    start = (page - 1) * page_size
    rows = list(
        qs.select_related("residence_unit", "registration_unit", "household").order_by(*order)[
            start : start + page_size + 1]
    )
    return PersonPage(rows=rows[:page_size], number=page, page_size=page_size, count=count, count_capped=capped,
                      has_next=len(rows) > page_size)


def persons_for_export(*, user: User, query: PersonQuery) -> QuerySet[Person]:
    """Every person the search with the same query finds (not capped like the page), in the page's order.
    The caller reads it with ``values_list`` and ``iterator``."""
    qs, order = _person_query(user, query)
    return qs.order_by(*order)


def _person_query(user: User, query: PersonQuery) -> tuple[QuerySet[Person], list[str]]:
    scope = _personal_scope(user)
    unit_ids: set[int] | frozenset[int] = scope.unit_ids
    target = scope.unit
    if query.unit_id is not None:
        target = OrgUnit.objects.filter(pk=query.unit_id).first()
        if target is None or target.pk not in scope.unit_ids:
            raise NotFound
        unit_ids = set(unit_subtree_ids(target)) & scope.unit_ids
    # Every person belongs to some unit of the county, so the whole county needs no unit filter (which
    # would otherwise make the database merge hundreds of index ranges).
    whole_county = target is not None and target.level == UnitLevel.COUNTY
    qs = Person.objects.all() if whole_county else Person.objects.filter(_in_units(unit_ids))
    text = query.text.strip()
    order = ["id"]
    if text:
        if _looks_like_id_number(text):
            cleaned = text.replace(" ", "").upper()
            try:
                cleaned = idnumbers.normalize(cleaned) if len(cleaned) in (15, 18) else cleaned
            except idnumbers.IdNumberError:
                pass
            if len(cleaned) == 18:
                qs = qs.filter(id_number=cleaned)
            elif len(cleaned) <= ID_PREFIX_MAX:
                qs = qs.filter(_prefix_range("id_number", cleaned))
            else:
                # Longer prefixes would let a search rebuild a full number digit by digit, around the
                # reveal-with-purpose rule: past the address code and birth date, only the whole number.
                qs = qs.none()
            order = ["id_number"]
        else:
            qs = qs.filter(_prefix_range("name", text))
            order = ["name", "id"]
    if query.household_number.strip():
        qs = qs.filter(household__number=query.household_number.strip())
    if not query.include_dead:
        qs = qs.filter(death_date__isnull=True)
    if not query.include_departed:
        qs = qs.exclude(residence_status=ResidenceStatus.LEFT)
    return qs, order


@dataclass
class PersonDetail:
    person: Person
    household_members: list[Person] = field(default_factory=list)
    marriages: list[Marriage] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    children: list[Person] = field(default_factory=list)
    history: list[PersonHistory] = field(default_factory=list)


def person_detail(*, user: User, person_id: int) -> PersonDetail:
    person = person_get_for_user(user=user, person_id=person_id)
    members = []
    if person.household_id:
        members = list(Person.objects.filter(household_id=person.household_id).exclude(pk=person.pk)
                       .order_by("relation_to_head", "birth_date"))
    marriages = list(Marriage.objects.filter(Q(husband=person) | Q(wife=person)).select_related("husband", "wife")
                     .order_by("married_on"))
    events = list(Event.objects.filter(Q(person=person) | Q(mother=person) | Q(father=person))
                  .select_related("unit", "person", "to_unit", "from_unit", "recorded_by").order_by("date", "id"))
    children = list(Person.objects.filter(Q(mother=person) | Q(father=person)).order_by("birth_date"))
    members, children = persons_visible_to(user, members), persons_visible_to(user, children)
    history = list(PersonHistory.objects.filter(person=person).order_by("-at", "-id")[:200])
    return PersonDetail(person=person, household_members=members, marriages=marriages, events=events,
                        children=children, history=history)


@dataclass
class HouseholdDetail:
    household: Household
    members: list[Person]


def household_detail(*, user: User, household_id: int) -> HouseholdDetail:
    household = household_get_for_user(user=user, household_id=household_id)
    members = persons_visible_to(user, list(Person.objects.filter(household=household)
                                            .select_related("residence_unit").order_by("relation_to_head", "birth_date")))
    return HouseholdDetail(household=household, members=members)


def events_for_user(*, user: User, kind: str = "", unit_id: int | None = None, date_from: date | None = None,
                    date_to: date | None = None) -> QuerySet[Event]:
    scope = _personal_scope(user)
    unit_ids = scope.unit_ids
    if unit_id is not None:
        unit = OrgUnit.objects.filter(pk=unit_id).first()
        if unit is None or unit.pk not in scope.unit_ids:
            raise NotFound
        unit_ids = frozenset(unit_subtree_ids(unit)) & scope.unit_ids
    qs = Event.objects.filter(unit_id__in=sorted(unit_ids)).select_related("person", "unit", "mother", "father", "from_unit", "to_unit")
    if kind:
        qs = qs.filter(kind=kind)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    return qs.order_by("-date", "-id")


def event_get_for_user(*, user: User, event_id: int) -> Event:
    scope = _personal_scope(user)
    event = Event.objects.select_related("person", "unit", "mother", "father").filter(pk=event_id).first()
    if event is None or not scope.covers(event.unit_id):
        raise NotFound
    return event


@dataclass(frozen=True)
class ScopeCounts:
    persons: int
    residents: int
    households: int
    births_this_year: int
    deaths_this_year: int
    migrants_out: int
    migrants_in: int


def scope_counts(*, user: User, unit: OrgUnit | None = None) -> ScopeCounts:
    """Aggregate counts of the user's area (allowed for every role, including aggregate viewers).

    One conditional aggregate over persons and one over events; the whole county needs no unit filter.
    """
    scope = scope_for(user)
    target = unit or scope.unit
    if target is None:
        return ScopeCounts(0, 0, 0, 0, 0, 0, 0)
    if unit is not None and unit.pk not in scope.unit_ids:
        raise NotFound
    whole_county = target.level == UnitLevel.COUNTY
    ids = sorted(frozenset(unit_subtree_ids(target)) & scope.unit_ids)
    year_start = date(timezone.localdate().year, 1, 1)
    persons = Person.objects.filter(death_date__isnull=True, merged_into__isnull=True)
    if not whole_county:
        persons = persons.filter(_in_units(ids))
    lives_here = Q(residence_status__in=[ResidenceStatus.RESIDENT, ResidenceStatus.IN])
    if not whole_county:
        lives_here &= Q(residence_unit_id__in=ids)
    registered_away = Q(residence_status=ResidenceStatus.OUT)
    if not whole_county:
        registered_away &= Q(registration_unit_id__in=ids)
    p = persons.aggregate(
        residents=Count("id", filter=lives_here),
        migrants_in=Count("id", filter=lives_here & Q(residence_status=ResidenceStatus.IN)),
        migrants_out=Count("id", filter=registered_away),
    )
    events = Event.objects.filter(date__gte=year_start)
    households = Household.objects.all()
    if not whole_county:
        events = events.filter(unit_id__in=ids)
        households = households.filter(unit_id__in=ids)
    e = events.aggregate(
        births=Count("id", filter=Q(kind=EventKind.BIRTH, live_born=True)),
        deaths=Count("id", filter=Q(kind=EventKind.DEATH)),
    )
    return ScopeCounts(
        persons=p["residents"] + p["migrants_out"],
        residents=p["residents"],
        households=households.count(),
        births_this_year=e["births"],
        deaths_this_year=e["deaths"],
        migrants_out=p["migrants_out"],
        migrants_in=p["migrants_in"],
    )


# --------------------------------------------------------------------------------------------------------------
# bulk look-ups for the import (one query per chunk of a file, never one per row)

_CHUNK = 2000


def persons_by_id_numbers(numbers: list[str]) -> dict[str, Person]:
    """Persons holding any of ``numbers`` (normalised 18-character forms), by number. Callers check scope.

    A raw query (``Person.objects.raw``, the same instances): ``filter(id_number__in=…)`` prepares each of the
    thousands of numbers through the field, which cost three times the query itself — 2 µs a row of an import."""
    out: dict[str, Person] = {}
    unique = list(set(numbers))  # (in no order: the database sorts each chunk's numbers for its look-ups)
    qn = connection.ops.quote_name
    select = (f"SELECT * FROM {qn(Person._meta.db_table)} "  # noqa: S608 - names from the model, values bound
              f"WHERE {qn(Person._meta.get_field('id_number').column)} IN ")
    for i in range(0, len(unique), _CHUNK):
        chunk = unique[i:i + _CHUNK]
        for p in Person.objects.raw(select + f"({', '.join(['%s'] * len(chunk))})", chunk):
            out[p.id_number] = p
    return out


def persons_without_id_number_named(names: list[str]) -> list[Person]:
    """Persons with no ID number whose name is among ``names`` (a child not yet issued a card), to match the rows
    of a file that have none."""
    out: list[Person] = []
    unique = sorted(set(names))
    for i in range(0, len(unique), _CHUNK):
        out += Person.objects.filter(id_number__isnull=True, name__in=unique[i:i + _CHUNK])
    return out


def households_by_numbers(numbers: list[str]) -> dict[str, Household]:
    out: dict[str, Household] = {}
    unique = sorted(set(numbers))
    for i in range(0, len(unique), _CHUNK):
        for h in Household.objects.filter(number__in=unique[i:i + _CHUNK]).select_related("unit"):
            out[h.number] = h
    return out



def persons_by_id_numbers_related(numbers: list[str]) -> dict[str, Person]:
    """As ``persons_by_id_numbers``, with each person's household and units loaded (the event rules read them)."""
    out: dict[str, Person] = {}
    unique = sorted(set(numbers))
    for i in range(0, len(unique), _CHUNK):
        for p in Person.objects.filter(id_number__in=unique[i:i + _CHUNK]).select_related(
                "household", "residence_unit", "registration_unit"):
            out[p.id_number] = p
    return out


def marriages_of_persons(person_ids: list[int]) -> list[Marriage]:
    """Every marriage on record (ended or not) with one of ``person_ids`` as a spouse."""
    unique = sorted(set(person_ids))
    seen: dict[int, Marriage] = {}
    for i in range(0, len(unique), _CHUNK):
        chunk = unique[i:i + _CHUNK]
        for m in Marriage.objects.filter(Q(husband_id__in=chunk) | Q(wife_id__in=chunk)):
            seen[m.pk] = m
    return list(seen.values())


def events_of_persons(person_ids: list[int]) -> list[Event]:
    """Every event on record whose person or mother is one of ``person_ids`` (the child loaded for births)."""
    unique = sorted(set(person_ids))
    seen: dict[int, Event] = {}
    for i in range(0, len(unique), _CHUNK):
        chunk = unique[i:i + _CHUNK]
        for e in Event.objects.filter(Q(person_id__in=chunk) | Q(mother_id__in=chunk)).select_related("person"):
            seen[e.pk] = e
    return sorted(seen.values(), key=lambda e: (e.date, e.pk))

@dataclass(frozen=True)
class ExchangeFacts:
    """What the inter-county exchange may learn of a person it matched (migrants module; no other data)."""

    person_id: int
    name: str
    sex: str
    birth_date: date
    marital_status: str
    children: int
    residence_status: str


def person_match_in_county(
    *, county_code: str, id_number: str | None = None, name: str = "", birth_date: date | None = None
) -> ExchangeFacts | None:
    """The one person of the county's register (registered or living there) with this ID number, else the
    only one with this name and birth date; None when none or several match. For the exchange's matching,
    which acts for the county node, not for a user."""
    return persons_match_in_county(county_code=county_code, subjects=[(id_number, name, birth_date)])[0]


def persons_match_in_county(
    *, county_code: str, subjects: list[tuple[str | None, str, date | None]]
) -> list[ExchangeFacts | None]:
    """``person_match_in_county`` for many (ID number, name, birth date) at once: a query per 500 ID numbers,
    per 400 (name, birth date) pairs left, and per 500 matched persons for their children's counts."""
    units = OrgUnit.objects.filter(code__startswith=county_code).values("pk")
    in_county = Q(registration_unit__in=units) | Q(residence_unit__in=units)
    fields = ("pk", "id_number", "name", "sex", "birth_date", "marital_status", "residence_status")
    numbers = sorted({s[0] for s in subjects if s[0]})
    by_number: dict[str, tuple] = {}
    for i in range(0, len(numbers), 500):
        for row in Person.objects.filter(in_county, id_number__in=numbers[i:i + 500]).values_list(*fields):
            by_number[row[1]] = row
    rows: list[tuple | None] = [by_number.get(s[0]) if s[0] else None for s in subjects]
    # The rest by name and birth date, 200 pairs a query; a pair that finds several persons matches none.
    pairs = sorted({(s[1], s[2]) for s, r in zip(subjects, rows, strict=True)
                    if r is None and s[1] and s[2] is not None})
    by_pair: dict[tuple[str, date], list[tuple]] = {}
    for i in range(0, len(pairs), 400):
        chunk = set(pairs[i:i + 400])
        # names IN … AND dates IN …, then the exact pairs here (an OR of 400 pairs costs more to build than
        # to run)
        for row in Person.objects.filter(in_county, name__in=sorted({n for n, _ in chunk}),
                                         birth_date__in=sorted({b for _, b in chunk})).values_list(*fields):
            if (row[2], row[4]) in chunk:
                by_pair.setdefault((row[2], row[4]), []).append(row)
    for i, (s, r) in enumerate(zip(subjects, rows, strict=True)):
        found = by_pair.get((s[1], s[2]), []) if r is None else []
        if len(found) == 1:
            rows[i] = found[0]
    pks = sorted({r[0] for r in rows if r is not None})
    children: dict[int, int] = {}
    for i in range(0, len(pks), 500):
        chunk = pks[i:i + 500]
        for parent in ("mother_id", "father_id"):
            counts = (Person.objects.filter(**{f"{parent}__in": chunk}).values_list(parent)
                      .annotate(n=Count("pk")).order_by())
            for pk, n in counts:
                children[pk] = children.get(pk, 0) + n
    return [None if r is None else ExchangeFacts(r[0], r[2], r[3], r[4], r[5], children.get(r[0], 0), r[6])
            for r in rows]


@dataclass(frozen=True)
class MigrantFacts:
    """A person of the register who lives in another county (``out``) or comes from one (``in``)."""

    person_id: int
    name: str
    sex: str
    birth_date: date
    id_number: str
    marital_status: str
    residence_status: str
    other_county_code: str


def persons_migrating(*, county_code: str, status: str, other_county_code: str = "",
                      limit: int = 1000) -> list[MigrantFacts]:
    """Living persons of the county's register with residence status ``out`` or ``in`` (optionally with one
    other county), for the exchange (its two-county demo seeds migrant records from them)."""
    in_county = Q(registration_unit__code__startswith=county_code) | Q(residence_unit__code__startswith=county_code)
    qs = Person.objects.filter(in_county, residence_status=status, death_date__isnull=True)
    if other_county_code:
        qs = qs.filter(other_county_code=other_county_code)
    rows = qs.order_by("pk").values_list("pk", "name", "sex", "birth_date", "id_number", "marital_status",
                                         "residence_status", "other_county_code")[:limit]
    return [MigrantFacts(pk, n, s, b, i or "", m, r, o) for pk, n, s, b, i, m, r, o in rows]
