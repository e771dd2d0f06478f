"""Reads of personal data that must leave a trace: opening a person's record and revealing an ID number.

They live among the services because each one writes an audit entry in the same transaction as the read.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import AuditAction, User
from renkou.accounts.services import audit_record
from renkou.core.errors import RuleViolation
from renkou.registry.selectors import (
    HouseholdDetail,
    PersonDetail,
    household_detail,
    person_detail,
    person_get_for_user,
)

MIN_PURPOSE_LENGTH = 2


@transaction.atomic
def person_view(*, user: User, person_id: int, channel: str = "web", ip_address: str | None = None) -> PersonDetail:
    detail = person_detail(user=user, person_id=person_id)
    p = detail.person
    audit_record(user=user, action=AuditAction.VIEW_PERSON, object_type="person", object_id=str(p.pk),
                 unit_id=p.residence_unit_id or p.registration_unit_id, channel=channel, ip_address=ip_address)
    return detail


@transaction.atomic
def person_reveal_id_number(
    *, user: User, person_id: int, purpose: str, channel: str = "web", ip_address: str | None = None
) -> str:
    """The full ID number, for a stated purpose that goes into the audit log."""
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE_LENGTH:
        raise RuleViolation("purpose", _("State why the full ID number is needed."))
    person = person_get_for_user(user=user, person_id=person_id)
    audit_record(user=user, action=AuditAction.REVEAL_ID, object_type="person", object_id=str(person.pk),
                 unit_id=person.residence_unit_id or person.registration_unit_id, purpose=purpose[:200],
                 channel=channel, ip_address=ip_address)
    return person.id_number or ""


@transaction.atomic
def household_view(
    *, user: User, household_id: int, channel: str = "web", ip_address: str | None = None
) -> HouseholdDetail:
    detail = household_detail(user=user, household_id=household_id)
    audit_record(user=user, action=AuditAction.VIEW_HOUSEHOLD, object_type="household",
                 object_id=str(detail.household.pk), unit_id=detail.household.unit_id, channel=channel,
                 ip_address=ip_address)
    return detail
