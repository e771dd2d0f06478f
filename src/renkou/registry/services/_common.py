"""Shared checks and bookkeeping for the register's services: scope, dates, ID numbers, history, audit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import AuditAction, User
from renkou.accounts.scope import scope_for
from renkou.accounts.services import audit_record
from renkou.core.errors import NeedsConfirmation, NotFound, PermissionDenied, RuleViolation
from renkou.orgunits.models import OrgUnit, UnitLevel
from renkou.registry import idnumbers
from renkou.registry.codes import code_is_valid
from renkou.registry.models import Event, Person, PersonHistory


def require_writer(by: User) -> None:
    if not scope_for(by).can_write:
        raise PermissionDenied


def require_unit_in_scope(by: User, unit: OrgUnit | None, field: str) -> None:
    if unit is None:
        return
    if not scope_for(by).covers(unit.pk):
        raise RuleViolation(field, _("This unit is outside your area."), code="scope")


def require_person_in_scope(by: User, person: Person) -> None:
    scope = scope_for(by)
    if not (scope.covers(person.residence_unit_id) or scope.covers(person.registration_unit_id)):
        raise NotFound


def require_current(person: Person, field: str) -> None:
    """A record retired by a duplicate merge takes no more writes: they belong to the record it was merged into."""
    if person.merged_into_id is not None:
        raise RuleViolation(field, _("%(name)s (record %(id)s) was merged into record %(into)s: write to that record.")
                            % {"name": person.name, "id": person.pk, "into": person.merged_into_id}, code="merged")


def require_village_or_below(unit: OrgUnit | None, field: str) -> None:
    if unit is not None and unit.level < UnitLevel.VILLAGE:
        raise RuleViolation(field, _("Choose a village or community, not a township or the county."))


def require_code(list_name: str, code: str, field: str, *, blank: bool = False) -> None:
    if blank and not code:
        return
    if not code_is_valid(list_name, code):
        raise RuleViolation(field, _("Unknown code %(code)s.") % {"code": code}, code="code")


def require_not_future(d: date, field: str, today: date | None = None) -> None:
    if d > (today or timezone.localdate()):
        raise RuleViolation(field, _("The date is in the future."), code="future")


def require_alive_on(person: Person, d: date, field: str) -> None:
    if person.death_date is not None and d > person.death_date:
        raise RuleViolation(
            field,
            _("%(name)s died on %(death)s; no event can follow a death.")
            % {"name": person.name, "death": person.death_date.isoformat()},
            code="after_death",
        )
    if d < person.birth_date:
        raise RuleViolation(field, _("The date is before %(name)s was born.") % {"name": person.name},
                            code="before_birth")


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def clean_id_number(
    raw: str | None, *, sex: str, birth_date: date, confirm: Iterable[str], exclude_pk: int | None = None,
    taken: Callable[[str], bool] | None = None, today: date | None = None,
) -> tuple[str | None, list[str]]:
    """Normalise and validate an ID number. Returns (number, confirmed warning codes).

    Errors raise RuleViolation; a warning raises NeedsConfirmation unless its code is in ``confirm``.
    ``taken`` answers "is this number already registered (to another person)?" — a bulk import passes a lookup
    into numbers it fetched once per file instead of one query per row.
    """
    if raw is None:
        return None, []
    raw = str(raw)
    if raw.strip() == "":
        return None, []
    result = idnumbers.check(raw, sex=sex if sex in {"1", "2"} else None, birth_date=birth_date, today=today)
    if result.errors:
        first = result.errors[0]
        raise RuleViolation("id_number", first.message, code=first.code)
    if result.warnings:
        confirmed = set(confirm)
        for warning in result.warnings:
            if warning.code not in confirmed:
                raise NeedsConfirmation("id_number", warning.message, code=warning.code)
    if taken is not None:
        is_taken = taken(result.number)
    else:
        qs = Person.objects.filter(id_number=result.number)
        if exclude_pk is not None:
            qs = qs.exclude(pk=exclude_pk)
        is_taken = qs.exists()
    if is_taken:
        raise RuleViolation("id_number", _("This ID number is already registered in the county."), code="duplicate")
    return result.number, [w.code for w in result.warnings]


_PLAIN = frozenset({str, int, bool, float, type(None)})


def jsonable(value: Any) -> Any:
    if value.__class__ in _PLAIN or isinstance(value, str | int | bool | float):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


def _history_value(field: str, value: Any) -> Any:
    if field == "id_number" and value:
        return idnumbers.mask(str(value))
    return jsonable(value)


def history_record(
    *, person: Person, by: User | None, action: str, changes: dict[str, tuple[Any, Any]], event: Event | None = None
) -> PersonHistory:
    return PersonHistory.objects.create(event=event, **history_row(person_id=person.pk, by=by, action=action,
                                                                   changes=changes))


def history_row(
    *, person_id: int, by: User | None, action: str, changes: dict[str, tuple[Any, Any]] | None = None,
    at: Any = None, json_changes: dict[str, list[Any]] | None = None,
) -> dict[str, Any]:
    """The values of one history row (``history_record`` saves one; a bulk import inserts many at once)."""
    return {
        "person_id": person_id,
        "at": at or timezone.now(),
        "user_id": by.pk if by is not None and by.is_authenticated else None,
        "username": by.get_username() if by is not None else "system",
        "action": action,
        # ID numbers are kept masked in history: the person row holds the current number, and history pages
        # must not become a way around the reveal-with-purpose rule.
        "changes": json_changes if json_changes is not None else {
            k: [_history_value(k, a), _history_value(k, b)] for k, (a, b) in (changes or {}).items()},
    }


def audit_write(
    *, by: User, object_type: str, object_id: int, unit_id: int | None, what: str, channel: str,
    person_id: int | None = None,
) -> None:
    detail: dict[str, Any] = {"what": what}
    if person_id is not None:
        detail["person"] = person_id
    elif object_type == "person":
        detail["person"] = object_id
    audit_record(user=by, action=AuditAction.CREATE if what.endswith("_register") or what == "create"
                 else AuditAction.UPDATE, object_type=object_type, object_id=str(object_id), unit_id=unit_id,
                 detail=detail, channel=channel)
