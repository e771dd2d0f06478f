"""Users, their roles and units, API tokens, and the audit log of access to personal data."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", _("County administrator")
    STATISTICIAN = "statistician", _("County statistician")
    TOWNSHIP_OFFICER = "township_officer", _("Township officer")
    VILLAGE_REPORTER = "village_reporter", _("Village reporter")
    AGGREGATE_VIEWER = "aggregate_viewer", _("Aggregate viewer")


# Roles that may see and edit personal data inside their unit's subtree.
PERSONAL_DATA_ROLES = frozenset({Role.COUNTY_ADMIN, Role.STATISTICIAN, Role.TOWNSHIP_OFFICER, Role.VILLAGE_REPORTER})
# Roles that may write to the register.
REGISTER_WRITE_ROLES = frozenset({Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER, Role.VILLAGE_REPORTER})


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.AGGREGATE_VIEWER)
    unit = models.ForeignKey(
        "orgunits.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="users",
        verbose_name=_("unit"),
    )
    full_name = models.CharField(_("full name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def sees_personal_data(self) -> bool:
        return self.is_active and self.role in PERSONAL_DATA_ROLES and self.unit_id is not None

    @property
    def writes_register(self) -> bool:
        return self.is_active and self.role in REGISTER_WRITE_ROLES and self.unit_id is not None

    @property
    def is_county_admin(self) -> bool:
        return self.is_active and self.role == Role.COUNTY_ADMIN

    def display_name(self) -> str:
        return self.full_name or self.username


class ApiToken(models.Model):
    """A per-user bearer token. Only a SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=64, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"


class AuditAction(models.TextChoices):
    VIEW_PERSON = "view_person", _("Viewed a person")
    VIEW_HOUSEHOLD = "view_household", _("Viewed a household")
    SEARCH = "search", _("Searched persons")
    REVEAL_ID = "reveal_id", _("Revealed an ID number")
    EXPORT = "export", _("Exported personal data")
    CREATE = "create", _("Created a record")
    UPDATE = "update", _("Changed a record")
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Failed login")
    TOKEN = "token", _("Issued an API token")


class AuditEntry(models.Model):
    """One access to personal data (or a security event). Written in the same transaction as the act."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    # no index of its own: audit_user_at (user, -at) leads with it
    user = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("user"),
                             db_index=False)
    username = models.CharField(_("username"), max_length=150)
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=32, blank=True)
    object_id = models.CharField(_("object"), max_length=64, blank=True, db_index=True)
    unit = models.ForeignKey(
        "orgunits.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    channel = models.CharField(_("channel"), max_length=8, blank=True)  # web, api, cli
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["user", "-at"], name="audit_user_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type}:{self.object_id}"
