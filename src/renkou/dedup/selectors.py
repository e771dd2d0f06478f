"""Reads of the duplicate module: the review queue, one pair with its two records side by side, counts.

A pair is visible to a user when both of its persons are in the user's area (a pair across two townships is
reviewed by the county). ``pending_pairs_count`` is public for the data-quality page.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from renkou.accounts.models import AuditAction, User
from renkou.accounts.scope import scope_for
from renkou.accounts.services import audit_record
from renkou.core.errors import NotFound, PermissionDenied
from renkou.dedup.engine import FIELDS
from renkou.dedup.models import CandidatePair, PairStatus, Scan, ScanStatus
from renkou.registry import idnumbers
from renkou.registry.models import Person

PAGE_SIZE = 50


def _in_units(prefix: str, unit_ids: list[int]) -> Q:
    return Q(**{f"{prefix}__residence_unit_id__in": unit_ids}) | Q(**{f"{prefix}__registration_unit_id__in": unit_ids})


def pairs_for_user(*, user: User, status: str = PairStatus.PENDING) -> QuerySet[CandidatePair]:
    """Pairs of the given status whose two persons are both in the user's area, best score first."""
    scope = scope_for(user)
    if not scope.personal_data:
        raise PermissionDenied
    ids = sorted(scope.unit_ids)
    qs = CandidatePair.objects.filter(status=status)
    if scope.unit is None or scope.unit.parent_id is not None:
        qs = qs.filter(_in_units("person_a", ids)).filter(_in_units("person_b", ids))
    return qs.select_related("person_a", "person_b", "person_a__residence_unit", "person_b__residence_unit",
                             "person_a__registration_unit", "person_b__registration_unit").order_by("-score", "id")


def pair_get_for_user(*, user: User, pair_id: int) -> CandidatePair:
    """One pair; missing and outside the user's area (either person) are both NotFound."""
    scope = scope_for(user)
    if not scope.personal_data:
        raise PermissionDenied
    pair = CandidatePair.objects.select_related(
        "person_a", "person_b", "person_a__residence_unit", "person_b__residence_unit", "person_a__household",
        "person_b__household", "person_a__registration_unit", "person_b__registration_unit").filter(pk=pair_id).first()
    if pair is None:
        raise NotFound
    for p in (pair.person_a, pair.person_b):
        if not (scope.covers(p.residence_unit_id) or scope.covers(p.registration_unit_id)):
            raise NotFound
    return pair


def pending_pairs_count(unit_ids: Collection[int]) -> int:
    """Pending pairs touching a person living or registered in one of ``unit_ids`` (for the data-quality page)."""
    ids = sorted(unit_ids)
    if not ids:
        return 0
    touching = Person.objects.filter(Q(residence_unit_id__in=ids) | Q(registration_unit_id__in=ids))
    return CandidatePair.objects.filter(status=PairStatus.PENDING).filter(
        Q(Exists(touching.filter(pk=OuterRef("person_a_id")))) | Q(Exists(touching.filter(pk=OuterRef("person_b_id"))))
    ).count()


def last_scan() -> Scan | None:
    """The last scan that finished and stored its pairs."""
    return Scan.objects.filter(status=ScanStatus.DONE).first()


def scan_to_show() -> Scan | None:
    """The scan the queue page reports on besides the last finished one: the latest, unless it finished well."""
    latest = Scan.objects.first()
    return latest if latest is not None and latest.status != ScanStatus.DONE else None


def scan_get(scan_id: int) -> Scan:
    scan = Scan.objects.filter(pk=scan_id).first()
    if scan is None:
        raise NotFound
    return scan


@dataclass
class Side:
    """One of the two records, as shown side by side (the ID number masked)."""

    id: int
    name: str
    sex: str
    birth_date: str
    id_number: str
    unit: str
    household: str
    residence_status: str


def side_of(person: Person) -> Side:
    unit = person.residence_unit or person.registration_unit
    return Side(id=person.pk, name=person.name, sex=person.sex, birth_date=person.birth_date.isoformat(),
                id_number=idnumbers.mask(person.id_number) if person.id_number else "",
                unit=unit.name if unit else "", household=person.household.number if person.household_id else "",
                residence_status=person.residence_status)


def explanation_rows(pair: CandidatePair) -> list[dict[str, Any]]:
    return [{"field": f, **pair.explanation.get(f, {"level": "missing", "agree": "missing", "weight": None})}
            for f in FIELDS]


def audit_pair_read(*, user: User, pairs: list[CandidatePair], channel: str, what: str) -> None:
    """A read of duplicate pairs shows two persons each: recorded like any read of personal data."""
    if not pairs:
        return
    audit_record(user=user, action=AuditAction.VIEW_PERSON, object_type="duplicate_pair",
                 object_id=str(pairs[0].pk) if len(pairs) == 1 else "",
                 detail={"what": what, "pairs": [p.pk for p in pairs][:100],
                         "persons": sorted({pid for p in pairs for pid in (p.person_a_id, p.person_b_id)})[:200]},
                 channel=channel)
