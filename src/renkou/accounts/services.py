"""Writes for accounts: users, API tokens and audit entries (the audit row joins the caller's transaction)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from renkou.accounts.models import ApiToken, AuditAction, AuditEntry, Role, User
from renkou.core.errors import RuleViolation
from renkou.orgunits.models import OrgUnit, UnitLevel
from renkou.registry.idnumbers import mask_in_text

TOKEN_PREFIX = "rk_"  # noqa: S105 - a marker of the token format, not a secret

# The level of unit each role works at (county staff sit at the county).
_ROLE_LEVELS = {
    Role.COUNTY_ADMIN: {UnitLevel.COUNTY},
    Role.STATISTICIAN: {UnitLevel.COUNTY},
    Role.TOWNSHIP_OFFICER: {UnitLevel.TOWNSHIP},
    Role.VILLAGE_REPORTER: {UnitLevel.VILLAGE},
    Role.AGGREGATE_VIEWER: {UnitLevel.COUNTY, UnitLevel.TOWNSHIP},
}


@transaction.atomic
def user_create(
    *, username: str, password: str | None, role: str, unit: OrgUnit, full_name: str = "", by: User | None = None
) -> User:
    if role not in Role.values:
        raise RuleViolation("role", f"Unknown role; choose one of {', '.join(Role.values)}.")
    if unit.level not in _ROLE_LEVELS[Role(role)]:
        raise RuleViolation("unit", "This role works at a unit of another level.")
    if User.objects.filter(username=username).exists():
        raise RuleViolation("username", "This username is taken.")
    user = User(username=username, role=role, unit=unit, full_name=full_name,
                is_staff=role == Role.COUNTY_ADMIN)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(user=by, action=AuditAction.CREATE, object_type="user", object_id=str(user.pk), unit=unit,
                 channel="cli" if by is None else "web")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str = "") -> str:
    """Issue a bearer token for ``user``; the token itself is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=token[:10], digest=_digest(token))
    audit_record(user=user, action=AuditAction.TOKEN, object_type="user", object_id=str(user.pk), channel="cli")
    return token


def token_authenticate(token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = (ApiToken.objects.select_related("user", "user__unit")
           .filter(digest=_digest(token), revoked_at__isnull=True).first())
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def audit_record(
    *,
    user: User | None,
    action: str,
    object_type: str = "",
    object_id: str = "",
    unit: OrgUnit | None = None,
    unit_id: int | None = None,
    purpose: str = "",
    detail: dict[str, Any] | None = None,
    channel: str = "web",
    ip_address: str | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        username=user.get_username() if user is not None and user.is_authenticated else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        unit_id=unit.pk if unit is not None else unit_id,
        # typed by hand: an ID number in it is kept masked (the reveal itself is what the entry records)
        purpose=mask_in_text(purpose),
        detail=detail or {},
        channel=channel,
        ip_address=ip_address,
    )


def audit_record_many(
    *, user_id: int | None, username: str, channel: str, entries: list[dict[str, Any]], at: Any = None,
) -> None:
    """Many audit entries of one user in one statement per batch, inside the caller's transaction (a bulk import
    writes one per person, as the single-row services do). Each entry gives action, object_type, object_id,
    unit_id and detail."""
    audit_record_rows(user_id=user_id, username=username, channel=channel, at=at, rows=[
        (e["action"], e["object_type"], e["object_id"], e["unit_id"], e["detail"]) for e in entries])


def audit_record_rows(
    *, user_id: int | None, username: str, channel: str, rows: list[tuple[str, str, str, int | None, Any]],
    at: Any = None,
) -> None:
    """As ``audit_record_many``, each entry a tuple (action, object_type, object_id, unit_id, detail): the
    cheapest form for a bulk import that builds hundreds of thousands of them."""
    from renkou.core.bulk import insert_tuples

    at = at or timezone.now()
    username = username if user_id else ""
    insert_tuples(AuditEntry, ("at", "user_id", "username", "channel", "purpose", "ip_address", "action",
                               "object_type", "object_id", "unit_id", "detail"),
                  [(at, user_id, username, channel, "", None, *row) for row in rows])
