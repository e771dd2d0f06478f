"""Indicators (defined as data, editable by county staff) and published periods with their frozen values.

Data elements are not stored here: they are declared in elements.py (their rules are code reviewed with the
engine that runs them); indicators are expressions over them and live in the database.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Interval(models.TextChoices):
    NONE = "", _("None")
    BINOMIAL = "binomial", _("Wilson interval of a ratio of two counts (95%)")


class Indicator(models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    numerator = models.TextField(_("numerator"))
    denominator = models.TextField(_("denominator"), default="1")
    factor = models.FloatField(_("factor"), default=1)
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=1)
    unit_label = models.CharField(_("unit"), max_length=16, blank=True)
    interval = models.CharField(_("confidence interval"), max_length=12, choices=Interval.choices, blank=True,
                                default=Interval.NONE)
    target = models.FloatField(_("target"), null=True, blank=True,
                               help_text=_("The work plan's target for the value (empty: none)."))
    target_is_minimum = models.BooleanField(_("target is a minimum"), default=True,
                                            help_text=_("Met when the value is at least the target; "
                                                        "otherwise when it is at most the target."))
    builtin = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    def target_met(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target (None when there is no target or no value)."""
        if self.target is None or value is None:
            return None
        return value >= self.target if self.target_is_minimum else value <= self.target


class PublishedPeriod(models.Model):
    """A period whose figures were published: its values are frozen in FrozenValue and no longer recomputed."""

    period = models.CharField(_("period"), max_length=12, unique=True)
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                                     related_name="+")
    snapshot_built_at = models.CharField(max_length=40, blank=True)
    values_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-period"]

    def __str__(self) -> str:
        return self.period


class FrozenValue(models.Model):
    published = models.ForeignKey(PublishedPeriod, on_delete=models.CASCADE, related_name="values")
    data_element = models.CharField(max_length=40)
    coc = models.CharField(max_length=40, blank=True)
    org_unit = models.CharField(max_length=15)
    value = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["published", "data_element", "coc", "org_unit"],
                                               name="frozen_value_unique")]
        indexes = [models.Index(fields=["published", "org_unit"], name="frozen_value_unit")]

    def __str__(self) -> str:
        return f"{self.data_element}.{self.coc} {self.org_unit} = {self.value}"
