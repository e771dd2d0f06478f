"""Organisation units: county → township/sub-district/town → village/community → group.

Each unit keeps a materialised path of ids (``/1/5/37/``) so that a subtree is one indexed prefix
query, and opening/closing dates so that merged or split units (撤乡并镇) stay comparable.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitLevel(models.IntegerChoices):
    COUNTY = 1, _("County")
    TOWNSHIP = 2, _("Township")
    VILLAGE = 3, _("Village")
    GROUP = 4, _("Group")


class UnitType(models.TextChoices):
    COUNTY = "county", _("County")
    SUBDISTRICT = "subdistrict", _("Sub-district")
    TOWN = "town", _("Town")
    TOWNSHIP = "township", _("Township")
    COMMUNITY = "community", _("Community")
    VILLAGE = "village", _("Village")
    GROUP = "group", _("Villager group")


class OrgUnit(models.Model):
    # 12-digit statistical division code (6 county + 3 township + 3 village); groups add digits of their own.
    code = models.CharField(_("code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=UnitLevel.choices)
    unit_type = models.CharField(_("unit type"), max_length=16, choices=UnitType.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, db_index=True, editable=False)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        constraints = [
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=4), name="orgunit_level_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def county_code(self) -> str:
        """The GB/T 2260 six-digit code of the county this unit lies in."""
        return self.code[:6]
