"""The record of every import: who, when, which file (name and SHA-256), what kind, how it went."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    PERSONS = "persons", _("Persons")
    HOUSEHOLDS = "households", _("Household records")
    MARRIAGES = "marriages", _("Marriages")
    EVENTS = "events", _("Events (births, deaths, moves)")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Imported")
    CHECKED = "checked", _("Checked (dry run)")
    REJECTED = "rejected", _("Rejected: nothing imported")
    FAILED = "failed", _("Failed")


class ImportRun(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("user"))
    username = models.CharField(_("username"), max_length=150)
    unit = models.ForeignKey("orgunits.OrgUnit", null=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("unit"))
    kind = models.CharField(_("kind of import"), max_length=16, choices=ImportKind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    dry_run = models.BooleanField(_("dry run"), default=False)
    partial = models.BooleanField(_("partial"), default=False)
    channel = models.CharField(max_length=8, default="web")
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    started_at = models.DateTimeField(_("started"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    warned = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)  # a message about the whole file (missing column, unreadable …)
    # the first rows' messages, for the page and the API: [{"row": 5, "status": "rejected", "messages": [...]}]
    problems = models.JSONField(default=list, blank=True)
    encoding = models.CharField(max_length=16, blank=True)
    report_file = models.CharField(max_length=255, blank=True)  # relative to the data folder
    upload_file = models.CharField(max_length=255, blank=True)
    folder = models.CharField(max_length=64, blank=True)  # its files, under the data folder's imports/

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} {self.status}"
