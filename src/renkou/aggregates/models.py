"""Aggregate-only data sets: data elements with their disaggregations, data sets with period type and due
days, values per element × option combo × unit × period, completion registrations, validation rules and the
code mappings used on exchange with other systems (DHIS2, ADX receivers)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from renkou.orgunits.periods import PeriodType


class CategoryCombo(models.Model):
    """A disaggregation (e.g. sex), with its option combos. The total of an element is the combo code ""."""

    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("category combination")
        verbose_name_plural = _("category combinations")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CategoryOptionCombo(models.Model):
    combo = models.ForeignKey(CategoryCombo, on_delete=models.CASCADE, related_name="option_combos",
                              verbose_name=_("category combination"))
    code = models.CharField(_("code"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["combo", "sort_order", "code"]
        verbose_name = _("category option combination")
        verbose_name_plural = _("category option combinations")
        constraints = [models.UniqueConstraint(fields=["combo", "code"], name="agg_coc_unique_code")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ValueType(models.TextChoices):
    NON_NEGATIVE_INTEGER = "non_negative_integer", _("Whole number, zero or more")
    INTEGER = "integer", _("Whole number")
    NON_NEGATIVE_NUMBER = "non_negative_number", _("Number, zero or more")
    NUMBER = "number", _("Number")
    TEXT = "text", _("Text")


class DataElement(models.Model):
    code = models.CharField(_("code"), max_length=50, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    value_type = models.CharField(_("value type"), max_length=24, choices=ValueType.choices,
                                  default=ValueType.NON_NEGATIVE_INTEGER)
    combo = models.ForeignKey(CategoryCombo, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="elements", verbose_name=_("category combination"),
                              help_text=_("Empty: the element has only a total."))
    unit_of_measure = models.CharField(_("unit of measure"), max_length=20, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("data element")
        verbose_name_plural = _("data elements")

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.code})"


class DataSet(models.Model):
    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    period_type = models.CharField(_("period type"), max_length=16, choices=PeriodType.choices())
    elements = models.ManyToManyField(DataElement, through="DataSetElement", related_name="data_sets",
                                      verbose_name=_("data elements"))
    due_days = models.PositiveSmallIntegerField(
        _("days allowed after the period's end"), default=15,
        help_text=_("A report completed within this many days after the period's end is on time."))
    unit_level = models.PositiveSmallIntegerField(
        _("assigned to every unit of level"), null=True, blank=True,
        help_text=_("1 county, 2 township, 3 village; empty: only the units listed."))
    units = models.ManyToManyField("orgunits.OrgUnit", blank=True, related_name="+",
                                   verbose_name=_("assigned units"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("data set")
        verbose_name_plural = _("data sets")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class DataSetElement(models.Model):
    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="members")
    element = models.ForeignKey(DataElement, on_delete=models.PROTECT, related_name="+")
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["data_set", "sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["data_set", "element"], name="agg_dse_unique")]

    def __str__(self) -> str:
        return f"{self.data_set_id}:{self.element_id}"


class DataValue(models.Model):
    """One figure. ``category_option_combo`` is "" for the total of an element without disaggregation."""

    element = models.ForeignKey(DataElement, on_delete=models.PROTECT, related_name="values",
                                verbose_name=_("data element"))
    category_option_combo = models.CharField(_("category option combination"), max_length=50, blank=True)
    unit = models.ForeignKey("orgunits.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    period = models.CharField(_("period"), max_length=12, db_index=True)
    value = models.CharField(_("value"), max_length=255)
    stored_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("stored by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["period", "unit", "element", "category_option_combo"]
        verbose_name = _("data value")
        verbose_name_plural = _("data values")
        constraints = [models.UniqueConstraint(fields=["element", "category_option_combo", "unit", "period"],
                                               name="agg_value_unique")]
        indexes = [models.Index(fields=["unit", "period"], name="agg_value_unit_period")]

    def __str__(self) -> str:
        return f"{self.element_id}.{self.category_option_combo} {self.unit_id} {self.period} = {self.value}"


class CompleteRegistration(models.Model):
    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="completions",
                                 verbose_name=_("data set"))
    unit = models.ForeignKey("orgunits.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    period = models.CharField(_("period"), max_length=12)
    completed_at = models.DateTimeField(_("completed at"))
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("completed by"))

    class Meta:
        ordering = ["period", "unit"]
        verbose_name = _("complete registration")
        verbose_name_plural = _("complete registrations")
        constraints = [models.UniqueConstraint(fields=["data_set", "unit", "period"], name="agg_complete_unique")]

    def __str__(self) -> str:
        return f"{self.data_set_id} {self.unit_id} {self.period}"


class Operator(models.TextChoices):
    EQ = "==", "="
    NE = "!=", "≠"
    GT = ">", ">"
    GE = ">=", "≥"
    LT = "<", "<"
    LE = "<=", "≤"


class Importance(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class MissingValues(models.TextChoices):
    SKIP_IF_ALL = "skip_if_all", _("Skip when all values are missing")
    SKIP_IF_ANY = "skip_if_any", _("Skip when any value is missing")
    NEVER_SKIP = "never_skip", _("Never skip (missing counts as 0)")


class ValidationRule(models.Model):
    """left operator right, over element references ``#{CODE}`` or ``#{CODE.COC}`` (see expressions.py)."""

    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    instruction = models.CharField(_("instruction"), max_length=300, blank=True)
    left = models.CharField(_("left side"), max_length=500)
    operator = models.CharField(_("operator"), max_length=2, choices=Operator.choices)
    right = models.CharField(_("right side"), max_length=500)
    importance = models.CharField(_("importance"), max_length=8, choices=Importance.choices,
                                  default=Importance.MEDIUM)
    missing_values = models.CharField(_("missing values"), max_length=12, choices=MissingValues.choices,
                                      default=MissingValues.SKIP_IF_ALL)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("validation rule")
        verbose_name_plural = _("validation rules")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from renkou.aggregates.expressions import ExpressionError, parse

        for field in ("left", "right"):
            try:
                parse(getattr(self, field))
            except ExpressionError as exc:
                raise ValidationError({field: str(exc)}) from None


class MappingKind(models.TextChoices):
    ELEMENT = "element", _("Data element")
    COC = "coc", _("Category option combination")
    UNIT = "unit", _("Organisation unit")
    DATA_SET = "data_set", _("Data set")


class CodeMapping(models.Model):
    """renkou's code ↔ the receiving system's id, applied on export and import."""

    system = models.CharField(_("system"), max_length=50, help_text=_("e.g. dhis2-national"))
    kind = models.CharField(_("mapping kind"), max_length=10, choices=MappingKind.choices)
    renkou_code = models.CharField(_("renkou code"), max_length=50, blank=True)
    external_id = models.CharField(_("external id"), max_length=100)

    class Meta:
        ordering = ["system", "kind", "renkou_code"]
        verbose_name = _("code mapping")
        verbose_name_plural = _("code mappings")
        constraints = [
            models.UniqueConstraint(fields=["system", "kind", "renkou_code"], name="agg_map_unique_code"),
            models.UniqueConstraint(fields=["system", "kind", "external_id"], name="agg_map_unique_external"),
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.kind}: {self.renkou_code} → {self.external_id}"
