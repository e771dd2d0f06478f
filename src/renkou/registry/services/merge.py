"""Merging a person registered twice (合并重复登记): everything recorded against the duplicate moves to the survivor.

One transaction: the duplicate's events (as the person, the mother or the father), marriages, history, children
(their mother/father references), household membership and headship, and every other module's reference to the
person, move to the survivor; fields the survivor lacks are filled from the duplicate; the duplicate is retired
(``merged_into`` set, the row kept so the merge can be traced) and both persons' history and the audit log record it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import AuditAction, User
from renkou.accounts.services import audit_record
from renkou.core.errors import RuleViolation
from renkou.registry.models import Household, Marriage, Person, PersonHistory
from renkou.registry.services._common import history_record, require_person_in_scope, require_writer

# Fields copied from the duplicate when the survivor has none (blank or null).
FILL_FIELDS = ("id_number", "education", "registration_type", "household", "relation_to_head", "mother", "father",
               "death_date", "registration_unit", "residence_unit", "other_county_code")
# Codes that mean "not known": replaced by the duplicate's known value.
_UNKNOWN = {"marital_status": {"90", ""}, "sex": {"0", "9", ""}}

# References to a person that a merge must not move: the retired record's own trace, and the lists of candidate
# pairs (the duplicate module updates those itself after the merge).
_KEEP_REFERENCES = {("registry", "person", "merged_into"), ("dedup", "candidatepair", "person_a"),
                    ("dedup", "candidatepair", "person_b"), ("dedup", "candidatepair", "survivor")}


def _missing(field: str, value: Any) -> bool:
    return value is None or value == "" or value in _UNKNOWN.get(field, ())


def _marker(model: type[models.Model], now: Any) -> dict[str, Any]:
    """``updated_at=now`` for a model whose rows carry a change marker (``auto_now``), which an ``update()``
    does not set by itself."""
    try:
        field = model._meta.get_field("updated_at")
    except FieldDoesNotExist:
        return {}
    return {"updated_at": now} if getattr(field, "auto_now", False) else {}


def _other_references() -> list[tuple[type[models.Model], str]]:
    """(model, field name) of every foreign key to Person outside the ones handled by name below."""
    handled = {(Marriage, "husband"), (Marriage, "wife"), (Household, "head"), (PersonHistory, "person"),
               (Person, "mother"), (Person, "father")}
    refs = []
    for rel in Person._meta.related_objects:
        model, field = rel.related_model, rel.field
        if not isinstance(field, models.ForeignKey) or (model, field.name) in handled:
            continue
        if (model._meta.app_label, model._meta.model_name, field.name) in _KEEP_REFERENCES:
            continue
        refs.append((model, field.name))
    return refs


@transaction.atomic
def person_merge(*, by: User, survivor: Person, duplicate: Person, purpose: str = "", channel: str = "web") -> Person:
    """Merge ``duplicate`` into ``survivor``; returns the survivor as it is after the merge.

    Both persons must be in the user's area (NotFound otherwise, as for any person outside it); a person already
    merged, the same person twice, or two current marriages to different spouses are refused with a RuleViolation.
    """
    require_writer(by)
    if survivor.pk == duplicate.pk:
        raise RuleViolation("survivor", _("A person cannot be merged with itself."), code="same")
    # Lock both rows in a fixed order so that two merges touching the same persons cannot deadlock.
    locked = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=sorted([survivor.pk, duplicate.pk]))}
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    require_person_in_scope(by, survivor)
    require_person_in_scope(by, duplicate)
    for field, p in (("survivor", survivor), ("duplicate", duplicate)):
        if p.merged_into_id is not None:
            raise RuleViolation(field, _("%(name)s (record %(id)d) was merged into record %(into)d already.")
                                % {"name": p.name, "id": p.pk, "into": p.merged_into_id}, code="merged")
    s_id, d_id = survivor.pk, duplicate.pk

    # Marriages: at most one current marriage per person (a database constraint as well).
    current = list(Marriage.objects.filter(ended_on__isnull=True).filter(
        Q(husband_id__in=[s_id, d_id]) | Q(wife_id__in=[s_id, d_id])))
    mine = [m for m in current if s_id in (m.husband_id, m.wife_id)]
    theirs = [m for m in current if d_id in (m.husband_id, m.wife_id)]
    if mine and theirs:
        raise RuleViolation("duplicate", _("Both records have a current marriage; end the wrong one before merging."),
                            code="two_marriages")
    if Marriage.objects.filter(Q(husband_id=s_id, wife_id=d_id) | Q(husband_id=d_id, wife_id=s_id)).exists():
        raise RuleViolation("duplicate", _("These two records are married to each other; they are two people."),
                            code="spouses")

    moved: dict[str, int] = {}
    # Every row rewritten here moves its change marker (``updated_at``), as a save would: the statistics snapshot
    # fetches the rows changed since it was written.
    now = timezone.now()
    moved["marriages"] = (Marriage.objects.filter(husband_id=d_id).update(husband_id=s_id, updated_at=now)
                          + Marriage.objects.filter(wife_id=d_id).update(wife_id=s_id, updated_at=now))
    moved["children"] = (Person.objects.filter(mother_id=d_id).update(mother_id=s_id, version=F("version") + 1,
                                                                      updated_at=now)
                         + Person.objects.filter(father_id=d_id).update(father_id=s_id, version=F("version") + 1,
                                                                        updated_at=now))
    moved["history"] = PersonHistory.objects.filter(person_id=d_id).update(person_id=s_id)
    events = 0
    for model, field in _other_references():
        try:
            with transaction.atomic():
                count = model._default_manager.filter(**{f"{field}_id": d_id}).update(
                    **{f"{field}_id": s_id}, **_marker(model, now))
        except IntegrityError as exc:
            raise RuleViolation("duplicate", _("Both records have a %(what)s that can exist only once; correct it "
                                               "before merging.") % {"what": model._meta.verbose_name},
                                code="conflict") from exc
        if model._meta.label == "registry.Event":
            events += count
        elif count:
            moved[f"{model._meta.label_lower}.{field}"] = count
    moved["events"] = events

    # Fields the survivor lacks, from the duplicate. The duplicate's household goes with it only when the survivor
    # has none; its headship moves to the survivor when the survivor lives in that household.
    filled: dict[str, tuple[Any, Any]] = {}
    take_household = survivor.household_id is None and duplicate.household_id is not None
    for field in (*FILL_FIELDS, *_UNKNOWN):
        attname = Person._meta.get_field(field).attname
        mine_v, theirs_v = getattr(survivor, attname), getattr(duplicate, attname)
        if field == "relation_to_head" and not take_household:
            continue
        if field == "household" and not take_household:
            continue
        if field in {"mother", "father"} and theirs_v == s_id:
            continue
        if _missing(field, mine_v) and not _missing(field, theirs_v):
            filled[field] = (mine_v, theirs_v)
            setattr(survivor, attname, theirs_v)
    if not _missing("marital_status", survivor.marital_status) and moved["marriages"] and \
            survivor.marital_status == "10":
        filled["marital_status"] = (survivor.marital_status, duplicate.marital_status)
        survivor.marital_status = duplicate.marital_status
    moved["households_headed"] = Household.objects.filter(head_id=d_id).filter(
        pk=survivor.household_id).update(head_id=s_id) if survivor.household_id else 0
    Household.objects.filter(head_id=d_id).update(head_id=None)

    # Retire the duplicate first: its ID number may be the one the survivor takes over (unique column).
    retired_id_number = duplicate.id_number
    duplicate.merged_into = survivor
    if "id_number" in filled:
        duplicate.id_number = None
    duplicate.household = None
    duplicate.relation_to_head = ""
    duplicate.mother = None
    duplicate.father = None
    duplicate.version += 1
    duplicate.save(update_fields=["merged_into", "id_number", "household", "relation_to_head", "mother", "father",
                                  "version", "updated_at"])
    if "id_number" in filled:
        survivor.id_number_warnings = duplicate.id_number_warnings
    survivor.version += 1
    try:
        with transaction.atomic():
            survivor.save(update_fields=[*{Person._meta.get_field(f).name for f in filled}, "id_number_warnings",
                                         "version", "updated_at"])
    except IntegrityError as exc:
        raise RuleViolation("duplicate", _("The merged record breaks a rule of the register."),
                            code="conflict") from exc

    record = {"merged_from": (None, d_id), **filled}
    history_record(person=survivor, by=by, action="merge", changes=record)
    history_record(person=duplicate, by=by, action="merged_into",
                   changes={"merged_into": (None, s_id), "id_number": (retired_id_number, duplicate.id_number)})
    audit_record(user=by, action=AuditAction.UPDATE, object_type="person", object_id=str(s_id),
                 unit_id=survivor.residence_unit_id or survivor.registration_unit_id, purpose=purpose,
                 detail={"what": "merge", "person": s_id, "merged": d_id, "moved": moved,
                         "filled": sorted(filled)}, channel=channel)
    return survivor
