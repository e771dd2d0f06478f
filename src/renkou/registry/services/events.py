"""Vital and migration events: births, deaths, moving out and in. Each is one transaction with its history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import AuditAction, User
from renkou.accounts.services import audit_record_many
from renkou.core.bulk import insert_many, update_many
from renkou.core.errors import Problems, RuleViolation
from renkou.orgunits.models import OrgUnit
from renkou.registry.models import (
    Event,
    EventKind,
    Household,
    Marriage,
    MarriageEnd,
    Person,
    PersonHistory,
    ResidenceStatus,
)
from renkou.registry.services._common import (
    age_on,
    audit_write,
    history_record,
    history_row,
    require_alive_on,
    require_code,
    require_current,
    require_not_future,
    require_person_in_scope,
    require_unit_in_scope,
    require_village_or_below,
    require_writer,
)
from renkou.registry.services.persons import person_create, persons_write_many

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
    now = timezone.now()
    stale = [Event(id=i, birth_order=r, updated_at=now) for i, r, current in ranked if current != r]
    if stale:
        Event.objects.bulk_update(stale, ["birth_order", "updated_at"])


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
        marriage.save(update_fields=["ended_on", "end_reason", "updated_at"])
        spouse = Person.objects.get(pk=marriage.wife_id if marriage.husband_id == person.pk else marriage.husband_id)
        history_record(person=spouse, by=by, action="widowed", event=event,
                       changes={"marital_status": (spouse.marital_status, "30")})
        Person.objects.filter(pk=spouse.pk).update(marital_status="30", version=F("version") + 1,
                                                   updated_at=timezone.now())
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


# --------------------------------------------------------------------------------------------------------------
# many events at once (the bulk import), checked beforehand by the rules above


@dataclass
class EventWrite:
    """One event checked by the rules above (``birth_check``, ``death_check``, ``move_out_plan`` …), for
    ``events_write_many``. Its person, mother or father may be a person created by an earlier write of the batch."""

    event: Event  # unsaved
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # the person's fields, for its history
    created: Person | None = None  # the live-born child or the newcomer this event creates (person_check_new)
    ends: Marriage | None = None  # a death: the current marriage it ends
    person_state: Person | None = None  # a person on record: as the batch leaves it (the fields in ``changes``)


def _refresh_refs(obj: Any, names: tuple[str, ...]) -> None:
    """Set the *_id of references to objects that got their primary key after being assigned."""
    for name in names:
        if name in obj._state.fields_cache:
            setattr(obj, name, obj._state.fields_cache[name])


def _births_renumber_many(mother_ids: list[int], batch_size: int) -> None:
    """``births_renumber`` for many mothers: one query per chunk of mothers, one bulk update."""
    stale: list[Event] = []
    now = timezone.now()
    ids = sorted(set(mother_ids))
    for i in range(0, len(ids), batch_size):
        rows = sorted(Event.objects.filter(kind=EventKind.BIRTH, live_born=True, mother_id__in=ids[i:i + batch_size])
                      .values_list("mother_id", "date", "id", "birth_order"))
        rank: dict[int, int] = {}
        for mother_id, _d, event_id, current in rows:
            rank[mother_id] = rank.get(mother_id, 0) + 1
            if current != rank[mother_id]:
                stale.append(Event(id=event_id, birth_order=rank[mother_id], updated_at=now))
    update_many(Event, stale, ["birth_order", "updated_at"])


def events_write_many(*, by: User, writes: list[EventWrite], channel: str, batch_size: int = 2000) -> None:
    """Write events already checked, in bulk (the caller holds the transaction): the persons they create (through
    ``persons_write_many``: newcomers, then children), the events, the changes to the persons on record (refused as
    a whole if one of them changed since it was read), the marriages ended by deaths and the widowed spouses, the
    history rows, the birth order of every mother, and one audit entry per event — what the single-row services
    write, a few statements per batch instead of a few per event."""
    require_writer(by)
    now = timezone.now()
    on_record: dict[int, Person] = {}
    bumps: dict[int, int] = {}
    for w in writes:
        if w.person_state is not None and w.event.kind != EventKind.BIRTH:
            on_record[w.person_state.pk] = w.person_state
            bumps[w.person_state.pk] = bumps.get(w.person_state.pk, 0) + 1
    ids = sorted(on_record)
    seen: dict[int, int] = {}
    for i in range(0, len(ids), batch_size):
        seen.update(Person.objects.select_for_update().filter(pk__in=ids[i:i + batch_size])
                    .values_list("pk", "version"))
    if any(seen.get(pk) != p.version for pk, p in on_record.items()):
        raise RuleViolation("file", _("The register changed while the file was being checked; import it again."),
                            code="changed")
    newcomers = [w.created for w in writes if w.created is not None and w.event.kind == EventKind.MOVE_IN]
    persons_write_many(by=by, created=newcomers, updated=[], channel=channel, history_action="move_in")
    children = [w.created for w in writes if w.created is not None and w.event.kind == EventKind.BIRTH]
    for child in children:
        _refresh_refs(child, ("mother", "father"))
    persons_write_many(by=by, created=children, updated=[], channel=channel, history_action="birth")
    events = [w.event for w in writes]
    for e in events:
        _refresh_refs(e, ("person", "mother", "father"))
        e.recorded_at, e.recorded_by_id, e.source = now, by.pk if by.is_authenticated else None, channel
    insert_many(Event, events)
    history = []
    for w in writes:
        e = w.event
        if e.kind == EventKind.BIRTH:
            history.append(history_row(person_id=e.mother_id, by=by, action="birth_given", at=now, changes={
                "birth": (None, f"{e.date.isoformat()} {'live' if e.live_born else 'stillborn'}")}))
        elif e.kind == EventKind.DEATH:
            history.append(history_row(person_id=e.person_id, by=by, action="death", at=now,
                                       changes={"death_date": (None, e.date)}))
        else:
            history.append(history_row(person_id=e.person_id, by=by, action=e.kind, at=now, changes=w.changes))
        history[-1]["event_id"] = e.pk
    # a death ends the current marriage; the surviving spouse becomes widowed
    ended = [(w.ends, w.event) for w in writes if w.ends is not None]
    for m, e in ended:
        m.ended_on, m.end_reason, m.updated_at = e.date, MarriageEnd.DEATH, now
    update_many(Marriage, [m for m, _e in ended], ["ended_on", "end_reason", "updated_at"])
    spouse_of = {(m.wife_id if m.husband_id == e.person_id else m.husband_id): e for m, e in ended}
    spouses = list(Person.objects.select_for_update().filter(pk__in=list(spouse_of)).only(
        "pk", "version", "marital_status", "updated_at")) if spouse_of else []
    for spouse in spouses:
        e = spouse_of[spouse.pk]
        history.append({**history_row(person_id=spouse.pk, by=by, action="widowed", at=now,
                                      changes={"marital_status": (spouse.marital_status, "30")}), "event_id": e.pk})
        if spouse.pk in on_record:  # the spouse's own events of this batch: one update of the row
            on_record[spouse.pk].marital_status = "30"
            bumps[spouse.pk] += 1
        else:
            spouse.marital_status, spouse.version, spouse.updated_at = "30", spouse.version + 1, now
    update_many(Person, [s for s in spouses if s.pk not in on_record], ["marital_status", "version", "updated_at"])
    if on_record:
        fields = {f for w in writes if w.person_state is not None for f in w.changes}
        fields |= {"death_date"} if any(w.event.kind == EventKind.DEATH for w in writes) else set()
        fields |= {"marital_status"} if any(pk in on_record for pk in spouse_of) else set()
        for pk, p in on_record.items():
            p.version += bumps[pk]
            p.updated_at = now
        update_many(Person, list(on_record.values()), sorted(fields | {"version", "updated_at"}))
    insert_many(PersonHistory, history)
    _births_renumber_many([e.mother_id for e in events if e.kind == EventKind.BIRTH and e.live_born], batch_size)
    what = {EventKind.BIRTH: "birth_register", EventKind.DEATH: "death_register",
            EventKind.MOVE_IN: "move_in_register", EventKind.MOVE_OUT: "move_out_register"}
    audit_record_many(user_id=by.pk if by.is_authenticated else None, username=by.get_username(), channel=channel,
                      at=now, entries=[{"action": AuditAction.CREATE, "object_type": "event", "object_id": str(e.pk),
                                        "unit_id": e.unit_id, "detail": {
                                            "what": what[e.kind],
                                            "person": e.mother_id if e.kind == EventKind.BIRTH else e.person_id}}
                                       for e in events])
