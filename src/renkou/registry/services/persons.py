"""Creating and correcting persons and households (每一次修改都留痕: every change kept as history)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import AuditAction, User
from renkou.accounts.services import audit_record_many, audit_record_rows
from renkou.core.bulk import JSONText, build_unsaved, insert_many, insert_tuples, json_string
from renkou.core.errors import Problems, RuleViolation
from renkou.orgunits.models import OrgUnit
from renkou.registry.codes import code_lists
from renkou.registry.idnumbers import mask
from renkou.registry.models import Household, Person, PersonHistory, RegistrationType, ResidenceStatus
from renkou.registry.services._common import (
    audit_write,
    clean_id_number,
    history_record,
    history_row,
    require_code,
    require_current,
    require_not_future,
    require_person_in_scope,
    require_unit_in_scope,
    require_village_or_below,
    require_writer,
)

# Fields an officer may correct through person_update, with their code list (if any).
EDITABLE_FIELDS: dict[str, str | None] = {
    "name": None,
    "sex": "sex",
    "birth_date": None,
    "id_number": None,
    "ethnicity": "ethnicity",
    "education": "education",
    "marital_status": "marital_status",
    "registration_type": None,
    "relation_to_head": "relation",
    "household": None,
    "residence_unit": None,
    "registration_unit": None,
    "residence_status": None,
    "other_county_code": None,
}


_REGISTRATION_TYPES = frozenset(RegistrationType.values)
_RESIDENCE_STATUSES = frozenset(ResidenceStatus.values)


_CODE_FIELDS = (  # (field, code list, blank allowed)
    ("sex", "sex", False), ("ethnicity", "ethnicity", False), ("education", "education", True),
    ("marital_status", "marital_status", False), ("relation_to_head", "relation", True),
)
# residence statuses: of a migrant (another county is given), of a person living here, registered here, living in
# another county
_NEEDS_COUNTY = frozenset({ResidenceStatus.OUT, ResidenceStatus.IN, ResidenceStatus.LEFT})
_LIVES_HERE = frozenset({ResidenceStatus.RESIDENT, ResidenceStatus.IN})
_REGISTERED_HERE = frozenset({ResidenceStatus.RESIDENT, ResidenceStatus.OUT, ResidenceStatus.LEFT})
_LIVES_ELSEWHERE = frozenset({ResidenceStatus.OUT, ResidenceStatus.LEFT})


def _check_person_fields(p: Person, problems: Problems, today: date | None = None) -> None:
    name = (p.name or "").strip()
    if not name:
        problems.add(RuleViolation("name", _("The name is required.")))
    elif len(name) > 50:
        problems.add(RuleViolation("name", _("The name is longer than 50 characters.")))
    lists = code_lists()
    for field, list_name, blank in _CODE_FIELDS:
        code = getattr(p, field)
        if (blank and not code) or code in lists.get(list_name, ()):
            continue  # (the usual case, without a call; require_code gives the message otherwise)
        try:
            require_code(list_name, code, field, blank=blank)
        except RuleViolation as v:
            problems.add(v)
    if p.birth_date is None:
        problems.add(RuleViolation("birth_date", _("The birth date is required.")))
    else:
        try:
            require_not_future(p.birth_date, "birth_date", today)
        except RuleViolation as v:
            problems.add(v)
    if p.registration_type and p.registration_type not in _REGISTRATION_TYPES:
        problems.add(RuleViolation("registration_type", _("Unknown registration type.")))
    if p.residence_status not in _RESIDENCE_STATUSES:
        problems.add(RuleViolation("residence_status", _("Unknown residence status.")))
    # Where the person is registered and where they live must agree with the residence status.
    status = p.residence_status
    county = p.other_county_code
    residence_id, registration_id = p.residence_unit_id, p.registration_unit_id
    needs_county = status in _NEEDS_COUNTY
    if needs_county and not (len(county) == 6 and county.isdigit()):
        problems.add(RuleViolation("other_county_code", _("Give the six-digit code of the other county.")))
    if not needs_county and county:
        problems.add(RuleViolation("other_county_code", _("Only a migrant has another county.")))
    if status in _LIVES_HERE and residence_id is None:
        problems.add(RuleViolation("residence_unit", _("A person living here needs a unit of residence.")))
    if status in _REGISTERED_HERE and registration_id is None:
        problems.add(RuleViolation("registration_unit", _("A person registered here needs a unit of registration.")))
    if status == ResidenceStatus.IN and registration_id is not None:
        problems.add(RuleViolation("registration_unit", _("A person registered in another county has no unit of registration here.")))
    if status in _LIVES_ELSEWHERE and residence_id is not None:
        problems.add(RuleViolation("residence_unit", _("A person living in another county has no unit of residence here.")))


def person_check_new(
    person: Person, *, by: User, id_number: str | None, confirm: Iterable[str] = (),
    id_number_taken: Callable[[str], bool] | None = None, today: date | None = None,
) -> None:
    """The rules a new person must meet (fields, code lists, units, ID number, scope). Normalises
    ``person.id_number`` and its confirmed warnings in place; raises RuleViolation(s), NeedsConfirmation among
    them for an unconfirmed warning. No write: ``person_create`` and the bulk import (``persons_write_many``) both
    call it, so the rules exist once. Queries nothing when ``id_number_taken`` is given and the units are loaded."""
    problems = Problems()
    _check_person_fields(person, problems, today)
    registration_unit, residence_unit = person.registration_unit, person.residence_unit
    for field, unit in (("registration_unit", registration_unit), ("residence_unit", residence_unit)):
        try:
            require_village_or_below(unit, field)
        except RuleViolation as v:
            problems.add(v)
    if person.birth_date is not None and person.sex:
        try:
            person.id_number, person.id_number_warnings = clean_id_number(
                id_number, sex=person.sex, birth_date=person.birth_date, confirm=confirm, taken=id_number_taken,
                today=today)
        except RuleViolation as v:
            problems.add(v)
    household = person.household
    if household is not None:
        try:
            require_unit_in_scope(by, household.unit, "household")
        except RuleViolation as v:
            problems.add(v)
    problems.raise_if_any()
    if registration_unit is None and residence_unit is None:
        raise RuleViolation("residence_unit", _("Give the unit of residence or of registration."))
    require_unit_in_scope(by, residence_unit, "residence_unit")
    require_unit_in_scope(by, registration_unit, "registration_unit")


@transaction.atomic
def person_create(
    *,
    by: User,
    name: str,
    sex: str,
    birth_date: date,
    id_number: str | None = None,
    ethnicity: str = "01",
    education: str = "",
    marital_status: str = "10",
    registration_type: str = "",
    household: Household | None = None,
    relation_to_head: str = "",
    registration_unit: OrgUnit | None = None,
    residence_unit: OrgUnit | None = None,
    residence_status: str = ResidenceStatus.RESIDENT,
    other_county_code: str = "",
    mother: Person | None = None,
    father: Person | None = None,
    confirm: Iterable[str] = (),
    channel: str = "web",
    history_action: str = "create",
) -> Person:
    require_writer(by)
    person = person_build(
        name=name, sex=sex, birth_date=birth_date, ethnicity=ethnicity, education=education,
        marital_status=marital_status, registration_type=registration_type, household=household,
        relation_to_head=relation_to_head, registration_unit=registration_unit, residence_unit=residence_unit,
        residence_status=residence_status, other_county_code=other_county_code, mother=mother, father=father)
    person_check_new(person, by=by, id_number=id_number, confirm=confirm)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:  # a concurrent write of the same ID number
        raise RuleViolation("id_number", _("This ID number is already registered in the county."),
                            code="duplicate") from exc
    history_record(person=person, by=by, action=history_action, changes=_created_changes(person))
    audit_write(by=by, object_type="person", object_id=person.pk,
                unit_id=person.residence_unit_id or person.registration_unit_id, what="create", channel=channel)
    return person


def person_build(
    *, name: str, sex: str, birth_date: date | None, ethnicity: str = "01", education: str = "",
    marital_status: str = "10", registration_type: str = "", household: Household | None = None,
    relation_to_head: str = "", registration_unit: OrgUnit | None = None, residence_unit: OrgUnit | None = None,
    residence_status: str = ResidenceStatus.RESIDENT, other_county_code: str = "", mother: Person | None = None,
    father: Person | None = None,
) -> Person:
    """An unsaved person with the defaults the register applies (a household gives the unit of residence and the
    registration type)."""
    if household is not None and residence_unit is None and residence_status in {"resident", "in"}:
        residence_unit = household.unit
    refs = {name: obj for name, obj in (("household", household), ("registration_unit", registration_unit),
                                        ("residence_unit", residence_unit), ("mother", mother), ("father", father))
            if obj is not None}
    # core.bulk.build_unsaved, not Person(...): the same instance for a fraction of the cost (a bulk import builds
    # hundreds of thousands of these)
    return build_unsaved(Person, {
        "name": (name or "").strip(), "sex": sex, "birth_date": birth_date, "ethnicity": ethnicity,
        "education": education, "marital_status": marital_status,
        "registration_type": registration_type or (household.registration_type if household else ""),
        "relation_to_head": relation_to_head, "residence_status": residence_status,
        "other_county_code": other_county_code or "",
    }, refs)


_CREATED_FIELDS = ("name", "sex", "birth_date", "id_number", "residence_unit", "registration_unit")


def _created_changes(person: Person) -> dict[str, tuple[Any, Any]]:
    return {f: (None, getattr(person, f)) for f in _CREATED_FIELDS}


def person_check_changes(
    person: Person, *, by: User, changes: dict[str, Any], confirm: Iterable[str] = (),
    id_number_taken: Callable[[str], bool] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Apply ``changes`` to ``person`` (in memory) under the update rules and return the diff
    {field: (before, after)} of the fields that really change. Raises RuleViolation(s); writes nothing.
    Shared by ``person_update`` and the bulk import."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise RuleViolation(sorted(unknown)[0], _("This field cannot be changed here."))
    before = {f: getattr(person, f) for f in changes}
    for field, value in changes.items():
        setattr(person, field, value.strip() if isinstance(value, str) else value)
    problems = Problems()
    _check_person_fields(person, problems)
    if changes.get("household") is not None:
        try:
            require_unit_in_scope(by, changes["household"].unit, "household")
        except RuleViolation as v:
            problems.add(v)
    for field in ("registration_unit", "residence_unit"):
        if field in changes:
            try:
                require_village_or_below(changes[field], field)
                require_unit_in_scope(by, changes[field], field)
            except RuleViolation as v:
                problems.add(v)
    if person.death_date is not None and person.birth_date and person.birth_date > person.death_date:
        problems.add(RuleViolation("birth_date", _("The birth date is after the date of death.")))
    if {"id_number", "sex", "birth_date"} & set(changes) and person.birth_date and person.sex:
        try:
            raw = changes.get("id_number", before.get("id_number", person.id_number))
            person.id_number, warnings = clean_id_number(
                raw, sex=person.sex, birth_date=person.birth_date,
                confirm=set(confirm) | set(person.id_number_warnings), exclude_pk=person.pk, taken=id_number_taken)
            person.id_number_warnings = warnings
        except RuleViolation as v:
            problems.add(v)
    problems.raise_if_any()
    return {f: (before[f], getattr(person, f)) for f in changes if before[f] != getattr(person, f)}


@transaction.atomic
def person_update(
    *,
    by: User,
    person: Person,
    changes: dict[str, Any],
    confirm: Iterable[str] = (),
    expected_version: int | None = None,
    channel: str = "web",
) -> Person:
    """Correct fields of a person. Unknown fields are refused; the old and new values go into history."""
    require_writer(by)
    require_person_in_scope(by, person)
    require_current(person, "person")
    person = Person.objects.select_for_update().get(pk=person.pk)
    if expected_version is not None and expected_version != person.version:
        raise RuleViolation("version", _("Someone else changed this person meanwhile; reload and try again."),
                            code="conflict")
    diff = person_check_changes(person, by=by, changes=changes, confirm=confirm)
    if not diff:
        return person
    person.version += 1
    try:
        with transaction.atomic():
            person.save(update_fields=[*diff.keys(), "id_number_warnings", "version", "updated_at"])
    except IntegrityError as exc:
        raise RuleViolation("id_number", _("This ID number is already registered in the county."),
                            code="duplicate") from exc
    history_record(person=person, by=by, action="update", changes=diff)
    audit_write(by=by, object_type="person", object_id=person.pk,
                unit_id=person.residence_unit_id or person.registration_unit_id, what="update", channel=channel)
    return person


def persons_write_many(
    *, by: User, created: list[Person], updated: list[tuple[Person, dict[str, tuple[Any, Any]]]],
    channel: str, history_action: str = "import", batch_size: int = 2000,
) -> None:
    """Write persons already checked with ``person_check_new`` / ``person_check_changes`` in bulk: the rows, their
    history and their audit entries, each with a few statements per batch (the caller holds the transaction).
    ``created`` persons get their primary keys set."""
    require_writer(by)
    now = timezone.now()
    user_id = by.pk if by.is_authenticated else None
    username = by.get_username()
    for p in created:
        p.created_at = p.updated_at = now
    insert_many(Person, created)
    if updated:
        fields = sorted({f for _, diff in updated for f in diff} | {"id_number_warnings", "version", "updated_at"})
        for person, _diff in updated:
            person.version += 1
            person.updated_at = now
        Person.objects.bulk_update([p for p, _ in updated], fields, batch_size=batch_size)
    # the same rows as history_row(...) with the same entries as history_record(changes=_created_changes(p)) and
    # as audit_write(...), built in one pass: the user's columns read once, the JSON written from a template
    # (core.bulk.JSONText), each person's values read from its __dict__ (its foreign keys' descriptors are a Python
    # call per read)
    js = json_string
    history = []
    audit = []
    create = AuditAction.CREATE.value
    for p in created:
        a = p.__dict__
        pk, number = a["id"], a["id_number"]
        residence, registration = a["residence_unit_id"], a["registration_unit_id"]
        history.append((pk, now, user_id, username, history_action, JSONText(
            f'{{"name": [null, {js(a["name"])}], "sex": [null, {js(a["sex"])}], '
            f'"birth_date": [null, "{a["birth_date"].isoformat()}"], '
            f'"id_number": [null, {js(mask(number)) if number else _null_or_empty(number)}], '
            f'"residence_unit": [null, {_json_int(residence)}], '
            f'"registration_unit": [null, {_json_int(registration)}]}}')))
        audit.append((create, "person", str(pk), residence or registration,
                      JSONText(f'{{"what": "create", "person": {int(pk)}}}')))
    for p, diff in updated:
        row = history_row(person_id=p.pk, by=by, action="update", changes=diff, at=now)
        history.append(tuple(row[c] for c in _HISTORY_COLUMNS))
        audit.append((AuditAction.UPDATE.value, "person", str(p.pk), p.residence_unit_id or p.registration_unit_id,
                      {"what": "update", "person": p.pk}))
    insert_tuples(PersonHistory, _HISTORY_COLUMNS, history)
    audit_record_rows(user_id=user_id, username=username, channel=channel, at=now, rows=audit)


_HISTORY_COLUMNS = ("person_id", "at", "user_id", "username", "action", "changes")


def _json_int(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def _null_or_empty(value: str | None) -> str:
    return "null" if value is None else '""'


def _next_household_number(unit: OrgUnit) -> str:
    prefix = unit.code[:12]
    last = (Household.objects.filter(number__startswith=prefix).order_by("-number")
            .values_list("number", flat=True).first())
    seq = int(last[len(prefix):]) + 1 if last and last[len(prefix):].isdigit() else 1
    return f"{prefix}{seq:05d}"


def household_check_new(
    *, by: User, unit: OrgUnit | None, address: str, registration_type: str, number: str | None,
    number_taken: Callable[[str], bool] | None = None,
) -> None:
    """The rules a new household must meet (unit, scope, address, number, type); raises RuleViolation. Shared by
    ``household_create`` and the bulk import (which passes ``number_taken``, fetched once per file)."""
    require_village_or_below(unit, "unit")
    require_unit_in_scope(by, unit, "unit")
    if not (address or "").strip():
        raise RuleViolation("address", _("The address is required."))
    if len(address.strip()) > Household._meta.get_field("address").max_length:
        raise RuleViolation("address", _("The address is longer than 200 characters."))
    if number and len(number.strip()) > Household._meta.get_field("number").max_length:
        raise RuleViolation("number", _("A household number has at most 24 characters."))
    if registration_type not in _REGISTRATION_TYPES:
        raise RuleViolation("registration_type", _("Unknown registration type."))
    if number:
        taken = number_taken(number) if number_taken is not None else (
            Household.objects.filter(number=number).exists())
        if taken:
            raise RuleViolation("number", _("This household number is taken."))


@transaction.atomic
def household_create(
    *, by: User, unit: OrgUnit, address: str, registration_type: str = RegistrationType.RURAL,
    number: str | None = None, channel: str = "web",
) -> Household:
    require_writer(by)
    require_village_or_below(unit, "unit")
    number = (number or "").strip() or _next_household_number(unit)
    household_check_new(by=by, unit=unit, address=address, registration_type=registration_type, number=number)
    household = Household.objects.create(number=number, address=address.strip(), unit=unit,
                                         registration_type=registration_type)
    audit_write(by=by, object_type="household", object_id=household.pk, unit_id=unit.pk, what="create",
                channel=channel)
    return household


def households_write_many(*, by: User, created: list[Household], channel: str) -> None:
    """Write households checked with ``household_check_new`` in bulk, with one audit entry each (the caller holds
    the transaction)."""
    require_writer(by)
    now = timezone.now()
    for h in created:
        h.created_at = now
    insert_many(Household, created)
    audit_record_many(user_id=by.pk if by.is_authenticated else None, username=by.get_username(), channel=channel,
                      at=now, entries=[{"action": AuditAction.CREATE, "object_type": "household",
                                        "object_id": str(h.pk), "unit_id": h.unit_id,
                                        "detail": {"what": "create"}} for h in created])


@transaction.atomic
def household_set_head(*, by: User, household: Household, person: Person) -> Household:
    require_writer(by)
    require_person_in_scope(by, person)
    require_current(person, "person")
    if person.household_id != household.pk:
        raise RuleViolation("head", _("The head must be a member of the household."))
    household.head = person
    household.save(update_fields=["head"])
    if person.relation_to_head != "02":
        person_update(by=by, person=person, changes={"relation_to_head": "02"})
    return household
