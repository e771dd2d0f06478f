"""Candidate duplicate pairs found by a scan (查重), and the scans themselves.

A pair is stored once, with the lower person id as ``person_a``. Its status survives later scans: a pair an
officer marked as two people (``distinct``) is never offered again, a merged pair stays as the trace of the merge.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PairStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    MERGED = "merged", _("Merged")
    DISTINCT = "distinct", _("Two different people")


class ScanStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Scan(models.Model):
    """One run of the duplicate scan: who, when, over which persons, and what the trained model was.

    Recorded when it starts (running) and again when it ends; while it runs, a heartbeat keeps ``heartbeat_at``
    fresh, so that a scan whose process died is seen as interrupted rather than running for ever."""

    started_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=ScanStatus.choices, default=ScanStatus.DONE)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("orgunits.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    persons = models.PositiveIntegerField(default=0)
    pairs_found = models.PositiveIntegerField(default=0)
    pairs_new = models.PositiveIntegerField(default=0)
    threshold = models.FloatField()
    seconds = models.FloatField(default=0)
    # Per comparison: the trained m and u probabilities of each level (the model, for the record).
    model = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"scan {self.pk} {self.started_at:%Y-%m-%d %H:%M}"


class CandidatePair(models.Model):
    person_a = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+")
    person_b = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("match probability"))
    match_weight = models.FloatField(default=0)
    # {"name": {"level": "...", "agree": "exact|close|differ|missing", "weight": 1.2}, ...}
    explanation = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=PairStatus.choices, default=PairStatus.PENDING)
    scan = models.ForeignKey(Scan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    found_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # For a merged pair: which of the two was kept.
    survivor = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person_a", "person_b"], name="dedup_pair_unique"),
            models.CheckConstraint(condition=models.Q(person_a__lt=models.F("person_b")), name="dedup_pair_ordered"),
        ]
        indexes = [
            models.Index(fields=["status", "-score"], name="dedup_pair_status_score"),
            models.Index(fields=["person_b"], name="dedup_pair_person_b"),
        ]

    def __str__(self) -> str:
        return f"{self.person_a_id}~{self.person_b_id} {self.score:.3f} {self.status}"
