"""Marriages: registering one, and its end by divorce or annulment (a death ends it in death_register)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import AuditAction, User
from renkou.accounts.services import audit_record_many
from renkou.core.bulk import insert_many, update_many
from renkou.core.errors import NotFound, Problems, RuleViolation
from renkou.orgunits.models import OrgUnit
from renkou.registry.models import Marriage, MarriageEnd, Person, PersonHistory
from renkou.registry.services._common import (
    age_on,
    audit_write,
    history_record,
    history_row,
    require_alive_on,
    require_current,
    require_not_future,
    require_person_in_scope,
    require_unit_in_scope,
    require_writer,
)

# Legal ages of marriage (Civil Code art. 1047): men 22, women 20.
MIN_AGE_HUSBAND = 22
MIN_AGE_WIFE = 20


def marriage_check_spouses(by: User, husband: Person, wife: Person) -> None:
    """Either spouse in the officer's area is enough; a record retired by a merge takes no marriage."""
    scope_problems = []
    for p in (husband, wife):
        try:
            require_person_in_scope(by, p)
            require_current(p, "person")
        except NotFound as exc:  # either spouse in the officer's area is enough
            scope_problems.append(exc)
    if len(scope_problems) == 2:
        raise scope_problems[0]


def marriage_check_new(
    *, husband: Person, wife: Person, married_on: date, marriages: Iterable[Marriage], today: date | None = None,
) -> None:
    """The rules of a new marriage, without a query: ``marriages`` are the marriages on record of either spouse
    (all of them, ended or not). Raises RuleViolation(s). Shared by ``marriage_register`` and the bulk import."""
    problems = Problems()
    try:
        require_not_future(married_on, "married_on", today)
    except RuleViolation as v:
        problems.add(v)
    if husband.sex != "1":
        problems.add(RuleViolation("husband", _("The husband must be a man."), code="sex"))
    if wife.sex != "2":
        problems.add(RuleViolation("wife", _("The wife must be a woman."), code="sex"))
    for field, p, min_age in (("husband", husband, MIN_AGE_HUSBAND), ("wife", wife, MIN_AGE_WIFE)):
        try:
            require_alive_on(p, married_on, "married_on")
        except RuleViolation as v:
            problems.add(v)
            continue
        if age_on(p.birth_date, married_on) < min_age:
            problems.add(RuleViolation(field, _("%(name)s is under the legal age of marriage (%(age)d).")
                                       % {"name": p.name, "age": min_age}, code="age"))
    spouses = {husband.pk, wife.pk}
    marriages = [m for m in marriages if {m.husband_id, m.wife_id} & spouses]
    for m in marriages:
        if m.ended_on is None:
            field = "husband" if husband.pk in (m.husband_id, m.wife_id) else "wife"
            problems.add(RuleViolation(field, _("This person is married already; end that marriage first."),
                                       code="married"))
    if any(m.ended_on is not None and m.ended_on > married_on for m in marriages):
        problems.add(RuleViolation("married_on", _("An earlier marriage ended after this date."), code="order"))
    problems.raise_if_any()


def marriage_unit(by: User, husband: Person, wife: Person, unit: OrgUnit | None) -> OrgUnit | None:
    """The unit a marriage is registered in (the wife's, else the husband's unit of residence, unless given); a
    unit given that is neither spouse's must be in the officer's area."""
    unit = unit or wife.residence_unit or husband.residence_unit or wife.registration_unit
    if unit is not None and unit.pk not in {husband.residence_unit_id, wife.residence_unit_id}:
        require_unit_in_scope(by, unit, "unit")
    return unit


def marriage_status_after(husband: Person, wife: Person, marriages: Iterable[Marriage]) -> dict[int, str]:
    """GB/T 2261.2 status of each spouse after a new marriage: 20 married (first marriage), 22 remarried — each
    by their own earlier ``marriages`` — and 23 remarried to the former spouse."""
    pairs = [(m.husband_id, m.wife_id) for m in marriages]
    married_before = {pid for pair in pairs for pid in pair}
    status_both = "23" if (husband.pk, wife.pk) in pairs else None
    return {p.pk: status_both or ("22" if p.pk in married_before else "20") for p in (husband, wife)}


@transaction.atomic
def marriage_register(
    *, by: User, husband: Person, wife: Person, married_on: date, unit: OrgUnit | None = None, channel: str = "web"
) -> Marriage:
    require_writer(by)
    marriage_check_spouses(by, husband, wife)
    husband = Person.objects.select_for_update().get(pk=husband.pk)
    wife = Person.objects.select_for_update().get(pk=wife.pk)
    on_record = list(Marriage.objects.filter(Q(husband__in=[husband, wife]) | Q(wife__in=[husband, wife])))
    marriage_check_new(husband=husband, wife=wife, married_on=married_on, marriages=on_record)
    unit = marriage_unit(by, husband, wife, unit)
    try:
        with transaction.atomic():
            marriage = Marriage.objects.create(husband=husband, wife=wife, married_on=married_on, unit=unit)
    except IntegrityError as exc:
        raise RuleViolation("husband", _("This person is married already; end that marriage first.")) from exc
    statuses = marriage_status_after(husband, wife, on_record)
    for p in (husband, wife):
        status = statuses[p.pk]
        history_record(person=p, by=by, action="marriage", changes={"marital_status": (p.marital_status, status)})
        Person.objects.filter(pk=p.pk).update(marital_status=status, version=F("version") + 1,
                                              updated_at=timezone.now())
    audit_write(by=by, object_type="marriage", object_id=marriage.pk, unit_id=unit.pk if unit else None,
                what="marriage_register", channel=channel, person_id=wife.pk)
    return marriage


def marriage_check_end(marriage: Marriage, *, ended_on: date, reason: str, today: date | None = None) -> None:
    """The rules of ending a marriage (no query). Shared by ``marriage_end`` and the bulk import."""
    if marriage.ended_on is not None:
        raise RuleViolation("marriage", _("This marriage has ended already."), code="ended")
    if reason not in {MarriageEnd.DIVORCE, MarriageEnd.ANNULMENT}:
        raise RuleViolation("reason", _("A marriage ended by death is recorded by registering the death."),
                            code="reason")
    require_not_future(ended_on, "ended_on", today)
    if ended_on < marriage.married_on:
        raise RuleViolation("ended_on", _("The end is before the date of marriage."), code="order")


@transaction.atomic
def marriage_end(
    *, by: User, marriage: Marriage, ended_on: date, reason: str = MarriageEnd.DIVORCE, channel: str = "web"
) -> Marriage:
    require_writer(by)
    marriage = Marriage.objects.select_for_update().select_related("husband", "wife").get(pk=marriage.pk)
    try:
        require_person_in_scope(by, marriage.wife)
        require_current(marriage.wife, "wife")
    except NotFound:
        require_person_in_scope(by, marriage.husband)
        require_current(marriage.husband, "husband")
    marriage_check_end(marriage, ended_on=ended_on, reason=reason)
    marriage.ended_on, marriage.end_reason = ended_on, reason
    marriage.save(update_fields=["ended_on", "end_reason", "updated_at"])
    status = marriage_end_status(reason)
    for p in (marriage.husband, marriage.wife):
        history_record(person=p, by=by, action="marriage_end", changes={"marital_status": (p.marital_status, status)})
    Person.objects.filter(pk__in=[marriage.husband_id, marriage.wife_id]).update(
        marital_status=status, version=F("version") + 1, updated_at=timezone.now())
    audit_write(by=by, object_type="marriage", object_id=marriage.pk, unit_id=marriage.unit_id,
                what="marriage_end", channel=channel, person_id=marriage.wife_id)
    return marriage


def marriage_end_status(reason: str) -> str:
    """GB/T 2261.2 status after an end: 40 divorced; 10 unmarried after an annulment."""
    return "40" if reason == MarriageEnd.DIVORCE else "10"


def marriages_write_many(
    *, by: User, created: list[Marriage], ended: list[Marriage],
    status_changes: list[tuple[int, str, str, str]], channel: str, batch_size: int = 2000,
) -> None:
    """Write marriages already checked with ``marriage_check_new`` / ``marriage_check_end`` in bulk (the caller
    holds the transaction): the ends added to marriages on record (``ended``, their ``ended_on`` and
    ``end_reason`` set), then the new marriages (ended ones included), the spouses' marital statuses with one
    history row per change — ``status_changes`` (person id, "marriage" or "marriage_end", before, after) in the
    order of the acts — and one audit entry per act, as ``marriage_register`` and ``marriage_end`` write them."""
    require_writer(by)
    now = timezone.now()
    for m in ended:
        m.updated_at = now
    if ended:
        update_many(Marriage, ended, ["ended_on", "end_reason", "updated_at"])
    insert_many(Marriage, created)
    final: dict[int, str] = {}
    count: dict[int, int] = {}
    for pid, _action, _before, after in status_changes:
        final[pid] = after
        count[pid] = count.get(pid, 0) + 1
    ids = sorted(final)
    persons = []
    for i in range(0, len(ids), batch_size):
        persons += Person.objects.select_for_update().filter(pk__in=ids[i:i + batch_size]).only("pk", "version")
    for p in persons:
        p.marital_status, p.version, p.updated_at = final[p.pk], p.version + count[p.pk], now
    update_many(Person, persons, ["marital_status", "version", "updated_at"])
    insert_many(PersonHistory, [history_row(person_id=pid, by=by, action=action,
                                            changes={"marital_status": (before, after)})
                                for pid, action, before, after in status_changes])
    acts = [(m, "marriage_register") for m in created] + [(m, "marriage_end") for m in ended]
    acts += [(m, "marriage_end") for m in created if m.ended_on is not None]
    audit_record_many(user_id=by.pk if by.is_authenticated else None, username=by.get_username(), channel=channel,
                      entries=[{"action": AuditAction.CREATE if what == "marriage_register" else AuditAction.UPDATE,
                                "object_type": "marriage", "object_id": str(m.pk), "unit_id": m.unit_id,
                                "detail": {"what": what, "person": m.wife_id}} for m, what in acts])
