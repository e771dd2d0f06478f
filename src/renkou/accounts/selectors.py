"""Reads for accounts: users and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from renkou.accounts.models import AuditEntry, User
from renkou.core.errors import PermissionDenied


@dataclass(frozen=True)
class AuditFilter:
    username: str = ""
    action: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_list(*, user: User, filters: AuditFilter) -> QuerySet[AuditEntry]:
    if not user.is_county_admin:
        raise PermissionDenied
    qs = AuditEntry.objects.select_related("unit").order_by("-at", "-id")
    if filters.username:
        qs = qs.filter(username=filters.username)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.object_id:
        qs = qs.filter(object_id=filters.object_id)
    if filters.date_from:
        qs = qs.filter(at__date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(at__date__lte=filters.date_to)
    return qs


def user_get_by_username(username: str) -> User | None:
    return User.objects.select_related("unit").filter(username=username).first()
