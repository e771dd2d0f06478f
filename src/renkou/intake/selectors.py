"""Reads of the import records: a user sees the imports made in their unit's subtree."""

from __future__ import annotations

from django.db.models import QuerySet

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.core.errors import NotFound, PermissionDenied
from renkou.intake.models import ImportRun


def imports_for_user(user: User) -> QuerySet[ImportRun]:
    scope = scope_for(user)
    if not scope.can_write:
        raise PermissionDenied
    return ImportRun.objects.filter(unit_id__in=scope.unit_ids)


def import_get_for_user(*, user: User, run_id: int) -> ImportRun:
    run = imports_for_user(user).filter(pk=run_id).first()
    if run is None:
        raise NotFound
    return run
