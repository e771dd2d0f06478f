"""Vital and migration events: births, deaths, moving out and in. Each is one transaction with its history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import User
from renkou.core.errors import Problems, RuleViolation
from renkou.orgunits.models import OrgUnit
from renkou.registry.models import Event, EventKind, Household, Marriage, MarriageEnd, Person, ResidenceStatus
from renkou.registry.services._common import (
    age_on,
    audit_write,
    history_record,
    require_alive_on,
    require_code,
    require_current,
    require_not_future,
    require_person_in_scope,
    require_unit_in_scope,
    require_village_or_below,
    require_writer,
)
from renkou.registry.services.persons import person_create

# The ages of a mother at a birth that the register accepts (DOMAIN: 12–60).
MOTHER_MIN_AGE = 12
MOTHER_MAX_AGE = 60
# A father may have died before the birth, but not more than this long before it.
FATHER_DEATH_BEFORE_BIRTH = timedelta(days=300)


def _county_code(field: str, code: str) -> str:
    code = (code or "").strip()
    if len(code) != 6 or not code.isdigit():
        raise RuleViolation(field, _("Give the six-digit GB/T 2260 code of the county."))
    return code


def _relation_for_child(mother: Person, child_sex: str) -> str:
    if mother.relation_to_head in {"02", "10"}:
        return "20" if child_sex == "1" else "30"
    if mother.relation_to_head in {"20", "28", "30", "38"}:
        return "40"
    return "80" if mother.relation_to_head else ""


def births_renumber(mother: Person) -> None:
    """Birth order = the mother's count of live-born children including this one, by date of birth.

    Recomputed for all her births, so that a birth registered late (an earlier child) shifts the later ones.
    """
    ranked = (Event.objects.filter(kind=EventKind.BIRTH, mother=mother, live_born=True)
              .annotate(rank=Window(RowNumber(), order_by=[F("date").asc(), F("id").asc()]))
              .values_list("id", "rank", "birth_order"))
    stale = [Event(id=i, birth_order=r) for i, r, current in ranked if current != r]
    if stale:
        Event.objects.bulk_update(stale, ["birth_order"])


def birth_check(
    *, mother: Person, father: Person | None, born_on: date, sex: str, place: str = "", live_born: bool = True,
    name: str = "", today: date | None = None,
) -> None:
    """The rules of a birth (no query): dates, sex and place codes, the mother's and the father's ages and
    deaths, a name for a live-born child. Raises RuleViolation(s). Shared by ``birth_register`` and the bulk
    import."""
    problems = Problems()
    checks = [
        lambda: require_not_future(born_on, "born_on", today),
        lambda: require_code("sex", sex, "sex"),
        lambda: require_code("birth_place", place, "place", blank=True),
    ]
    for check in checks:
        try:
            check()
        except RuleViolation as v:
            problems.add(v)
    if mother.sex != "2":
        problems.add(RuleViolation("mother", _("The mother must be a woman.")))
    if born_on <= mother.birth_date:
        problems.add(RuleViolation("born_on", _("The child is born before its mother.")))
    else:
        age = age_on(mother.birth_date, born_on)
        if not MOTHER_MIN_AGE <= age <= MOTHER_MAX_AGE:
            problems.add(RuleViolation(
                "born_on", _("The mother would be %(age)d at this birth; the register accepts %(lo)d to %(hi)d.")
                % {"age": age, "lo": MOTHER_MIN_AGE, "hi": MOTHER_MAX_AGE}))
    if mother.death_date is not None and born_on > mother.death_date:
        problems.add(RuleViolation("born_on", _("The mother died before this date.")))
    if father is not None:
        if father.sex != "1":
            problems.add(RuleViolation("father", _("The father must be a man.")))
        if father is mother or (father.pk is not None and father.pk == mother.pk):
            problems.add(RuleViolation("father", _("The father cannot be the mother.")))
        if born_on <= father.birth_date or age_on(father.birth_date, born_on) < MOTHER_MIN_AGE:
            problems.add(RuleViolation("father", _("The father is too young for this birth.")))
        if father.death_date is not None and born_on > father.death_date + FATHER_DEATH_BEFORE_BIRTH:
            problems.add(RuleViolation("father", _("The father died long before this birth.")))
    if live_born and not (name or "").strip():
        problems.add(RuleViolation("name", _("A live-born child needs a name (a temporary one will do).")))
    problems.raise_if_any()


def birth_child_fields(
    *, mother: Person, sex: str, born_on: date, name: str, father: Person | None, id_number: str | None,
    ethnicity: str | None, household: Household | None,
) -> dict:
    """The person_create keyword arguments of a live-born child: the mother's household, units and status."""
    household = household or mother.household
    mother_lives_here = mother.residence_status in {ResidenceStatus.RESIDENT, ResidenceStatus.IN}
    return dict(
        name=name, sex=sex, birth_date=born_on, id_number=id_number,
        ethnicity=ethnicity or mother.ethnicity, marital_status="10",
        household=household, relation_to_head=_relation_for_child(mother, sex) if household else "",
        registration_unit=mother.registration_unit,
        residence_unit=mother.residence_unit if mother_lives_here else None,
        residence_status=mother.residence_status if mother.residence_status != ResidenceStatus.LEFT
        else ResidenceStatus.OUT,
        other_county_code=mother.other_county_code, mother=mother, father=father)


@transaction.atomic
def birth_register(
    *,
    by: User,
    mother: Person,
    born_on: date,
    sex: str,
    live_born: bool = True,
    name: str = "",
    father: Person | None = None,
    id_number: str | None = None,
    place: str = "",
    unit: OrgUnit | None = None,
    ethnicity: str | None = None,
    household: Household | None = None,
    confirm: Iterable[str] = (),
    channel: str = "web",
) -> Event:
    """Register a birth to ``mother``. A live birth creates the child's person record."""
    require_writer(by)
    require_person_in_scope(by, mother)
    require_current(mother, "mother")
    # Work on the stored rows, locked, not on objects the caller may hold from before another write.
    mother = Person.objects.select_for_update(of=("self",)).select_related(
        "household", "residence_unit", "registration_unit").get(pk=mother.pk)
    if father is not None:
        father = Person.objects.select_for_update().get(pk=father.pk)
    birth_check(mother=mother, father=father, born_on=born_on, sex=sex, place=place, live_born=live_born,
                name=name)

    unit = unit or mother.residence_unit or mother.registration_unit
    require_village_or_below(unit, "unit")
    require_unit_in_scope(by, unit, "unit")
    child = None
    if live_born:
        child = person_create(
            by=by, **birth_child_fields(mother=mother, sex=sex, born_on=born_on, name=name, father=father,
                                        id_number=id_number, ethnicity=ethnicity, household=household),
            confirm=confirm, channel=channel, history_action="birth",
        )
    event = Event.objects.create(
        kind=EventKind.BIRTH, person=child, date=born_on, unit=unit, mother=mother, father=father, sex=sex,
        live_born=live_born, place=place, recorded_at=timezone.now(), recorded_by=by, source=channel,
    )
    if live_born:
        births_renumber(mother)
        event.refresh_from_db(fields=["birth_order"])
    history_record(person=mother, by=by, action="birth_given", event=event,
                   changes={"birth": (None, f"{born_on.isoformat()} {'live' if live_born else 'stillborn'}")})
    audit_write(by=by, object_type="event", object_id=event.pk, unit_id=unit.pk if unit else None,
                what="birth_register", channel=channel, person_id=mother.pk)
    return event


def death_check(*, person: Person, died_on: date, events_after: bool, today: date | None = None) -> None:
    """The rules of a death (no query): ``events_after`` says whether events after ``died_on`` are on record for
    the person (moves, a death, births given). Shared by ``death_register`` and the bulk import."""
    require_not_future(died_on, "died_on", today)
    if person.death_date is not None:
        raise RuleViolation("person", _("This person's death is already registered."), code="dead")
    if died_on < person.birth_date:
        raise RuleViolation("died_on", _("The date of death is before the birth date."), code="before_birth")
    if events_after:
        raise RuleViolation("died_on", _("Events after this date are on record for this person."), code="order")


@transaction.atomic
def death_register(
    *, by: User, person: Person, died_on: date, unit: OrgUnit | None = None, note: str = "", channel: str = "web"
) -> Event:
    require_writer(by)
    require_person_in_scope(by, person)
    require_current(person, "person")
    person = Person.objects.select_for_update().get(pk=person.pk)
    later = Event.objects.filter(person=person, date__gt=died_on).exclude(kind=EventKind.BIRTH).exists() or \
        Event.objects.filter(mother=person, date__gt=died_on).exists()
    death_check(person=person, died_on=died_on, events_after=later)
    unit = unit or person.residence_unit or person.registration_unit
    require_unit_in_scope(by, unit, "unit")
    event = Event.objects.create(kind=EventKind.DEATH, person=person, date=died_on, unit=unit, note=note or "",
                                 recorded_at=timezone.now(), recorded_by=by, source=channel)
    person.death_date = died_on
    person.version += 1
    person.save(update_fields=["death_date", "version", "updated_at"])
    history_record(person=person, by=by, action="death", event=event, changes={"death_date": (None, died_on)})
    # A current marriage ends with the death; the surviving spouse becomes widowed.
    marriage = Marriage.objects.filter(ended_on__isnull=True).filter(
        husband=person).first() or Marriage.objects.filter(ended_on__isnull=True, wife=person).first()
    if marriage is not None:
        marriage.ended_on, marriage.end_reason = died_on, MarriageEnd.DEATH
        marriage.save(update_fields=["ended_on", "end_reason"])
        spouse = Person.objects.get(pk=marriage.wife_id if marriage.husband_id == person.pk else marriage.husband_id)
        history_record(person=spouse, by=by, action="widowed", event=event,
                       changes={"marital_status": (spouse.marital_status, "30")})
        Person.objects.filter(pk=spouse.pk).update(marital_status="30", version=F("version") + 1)
    audit_write(by=by, object_type="event", object_id=event.pk, unit_id=unit.pk if unit else None,
                what="death_register", channel=channel, person_id=person.pk)
    return event


def move_out_plan(
    person: Person, *, moved_on: date, to_unit: OrgUnit | None = None, to_county: str = "",
    registration_moved: bool = False, last_move: date | None = None, today: date | None = None,
) -> dict:
    """The rules of moving away (no query; ``last_move`` is the date of the person's latest move on record) and
    what changes: {field: new value} of the person's fields, plus "to_county" normalised. Raises RuleViolation.
    Shared by ``move_out_register`` and the bulk import."""
    require_not_future(moved_on, "moved_on", today)
    require_alive_on(person, moved_on, "moved_on")
    if bool(to_unit) == bool(to_county):
        raise RuleViolation("to_unit", _("Give either the village moved to or the county moved to."),
                            code="destination")
    if last_move and moved_on < last_move:
        raise RuleViolation("moved_on", _("A later move is already on record for this person."), code="order")
    after: dict = {}
    if to_unit is not None:
        require_village_or_below(to_unit, "to_unit")
        if person.residence_status in {ResidenceStatus.OUT, ResidenceStatus.LEFT}:
            raise RuleViolation("to_unit", _("This person does not live in the county; register a move in."),
                                code="not_here")
        if to_unit.pk == person.residence_unit_id:
            raise RuleViolation("to_unit", _("This is already the unit of residence."), code="same_unit")
        after["residence_unit"] = to_unit
        if registration_moved and person.registration_unit_id is not None:
            after["registration_unit"] = to_unit
            if person.household_id is not None and person.household.unit_id != to_unit.pk:
                # The registration leaves the household's village: so does the membership (户口迁出).
                after["household"], after["relation_to_head"] = None, ""
        after["to_county"] = ""
    else:
        to_county = _county_code("to_county", to_county)
        if person.residence_status in {ResidenceStatus.OUT, ResidenceStatus.LEFT}:
            raise RuleViolation("person", _("This person already lives in another county."), code="not_here")
        if person.residence_status == ResidenceStatus.IN or registration_moved:
            # Departed for good. The record stays with the unit the person last belonged to (their unit of
            # registration, or of residence for an in-migrant), so that it stays reachable for its history.
            after["residence_status"] = ResidenceStatus.LEFT
            after["registration_unit"] = person.registration_unit or person.residence_unit
            if person.household_id is not None:
                after["household"], after["relation_to_head"] = None, ""
        else:
            after["residence_status"] = ResidenceStatus.OUT
        after["residence_unit"] = None
        after["other_county_code"] = to_county
        after["to_county"] = to_county
    return after


@transaction.atomic
def move_out_register(
    *,
    by: User,
    person: Person,
    moved_on: date,
    to_unit: OrgUnit | None = None,
    to_county: str = "",
    registration_moved: bool = False,
    note: str = "",
    channel: str = "web",
) -> Event:
    """Moving away: to another village of the county (``to_unit``) or to another county (``to_county``).

    Leaving for another county keeps the registration here (status "living in another county") unless
    ``registration_moved`` says the household registration moved too.
    """
    require_writer(by)
    require_person_in_scope(by, person)
    require_current(person, "person")
    person = Person.objects.select_for_update().get(pk=person.pk)
    last = Event.objects.filter(person=person, kind__in=[EventKind.MOVE_IN, EventKind.MOVE_OUT]).order_by(
        "-date").values_list("date", flat=True).first()
    after = move_out_plan(person, moved_on=moved_on, to_unit=to_unit, to_county=to_county,
                          registration_moved=registration_moved, last_move=last)
    to_county = after.pop("to_county")
    from_unit = person.residence_unit
    unit = from_unit or person.registration_unit
    require_unit_in_scope(by, unit, "unit")
    before = {f: getattr(person, f) for f in after}
    for f, value in after.items():
        setattr(person, f, value)
    event = Event.objects.create(kind=EventKind.MOVE_OUT, person=person, date=moved_on, unit=unit,
                                 from_unit=from_unit, to_unit=to_unit, to_county=to_county, note=note or "",
                                 recorded_at=timezone.now(), recorded_by=by, source=channel)
    person.version += 1
    person.save(update_fields=[*before.keys(), "version", "updated_at"])
    history_record(person=person, by=by, action="move_out", event=event,
                   changes={f: (before[f], getattr(person, f)) for f in before if before[f] != getattr(person, f)})
    audit_write(by=by, object_type="event", object_id=event.pk, unit_id=unit.pk if unit else None,
                what="move_out_register", channel=channel, person_id=person.pk)
    return event


def move_in_check(*, moved_on: date, to_unit: OrgUnit, from_county: str, today: date | None = None) -> str:
    """The rules every move in meets (no query); returns the county code normalised."""
    require_not_future(moved_on, "moved_on", today)
    require_village_or_below(to_unit, "to_unit")
    return _county_code("from_county", from_county)


def move_in_plan(person: Person, *, moved_on: date, to_unit: OrgUnit, from_county: str,
                 household: Household | None = None) -> dict:
    """A returning person (no query): the rules and {field: new value}. Shared by ``move_in_register`` and the
    bulk import."""
    require_alive_on(person, moved_on, "moved_on")
    if person.residence_status not in {ResidenceStatus.OUT, ResidenceStatus.LEFT}:
        raise RuleViolation("person", _("This person already lives in the county."), code="here")
    after: dict = {"residence_unit": to_unit}
    if person.residence_status == ResidenceStatus.OUT:
        after["residence_status"], after["other_county_code"] = ResidenceStatus.RESIDENT, ""
    else:  # registered elsewhere now: living here from another county
        after["residence_status"], after["other_county_code"] = ResidenceStatus.IN, from_county
        after["registration_unit"] = None
    if household is not None:
        after["household"] = household
    return after


@transaction.atomic
def move_in_register(
    *,
    by: User,
    moved_on: date,
    to_unit: OrgUnit,
    from_county: str,
    person: Person | None = None,
    household: Household | None = None,
    new_person: dict | None = None,
    confirm: Iterable[str] = (),
    note: str = "",
    channel: str = "web",
) -> Event:
    """Someone arrives from another county: a returning out-migrant (``person``) or a newcomer (``new_person``,
    the keyword arguments of person_create), who is registered as living here from ``from_county``."""
    require_writer(by)
    from_county = move_in_check(moved_on=moved_on, to_unit=to_unit, from_county=from_county)
    require_unit_in_scope(by, to_unit, "to_unit")
    if (person is None) == (new_person is None):
        raise RuleViolation("person", _("Give either the returning person or the newcomer's details."))
    if person is not None:
        require_person_in_scope(by, person)
        require_current(person, "person")
        person = Person.objects.select_for_update().get(pk=person.pk)
        after = move_in_plan(person, moved_on=moved_on, to_unit=to_unit, from_county=from_county,
                             household=household)
        before = {f: getattr(person, f) for f in after}
        for f, value in after.items():
            setattr(person, f, value)
        person.version += 1
        person.save(update_fields=[*before.keys(), "version", "updated_at"])
        changes = {f: (before[f], getattr(person, f)) for f in before if before[f] != getattr(person, f)}
    else:
        fields = dict(new_person or {})
        fields.update(residence_unit=to_unit, residence_status=ResidenceStatus.IN, other_county_code=from_county,
                      registration_unit=None, household=household or fields.get("household"))
        person = person_create(by=by, confirm=confirm, channel=channel, history_action="move_in", **fields)
        changes = {}
    event = Event.objects.create(kind=EventKind.MOVE_IN, person=person, date=moved_on, unit=to_unit,
                                 to_unit=to_unit, from_county=from_county, note=note or "",
                                 recorded_at=timezone.now(), recorded_by=by, source=channel)
    history_record(person=person, by=by, action="move_in", event=event, changes=changes)
    audit_write(by=by, object_type="event", object_id=event.pk, unit_id=to_unit.pk, what="move_in_register",
                channel=channel, person_id=person.pk)
    return event
