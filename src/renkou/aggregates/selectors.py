"""Reads of the aggregate data sets. The contract with other modules:

- :func:`values` — stored aggregate values as value rows
  ``{"data_element", "category_option_combo", "org_unit", "period", "value"}``;
- :func:`element_catalogue` — the elements with their option combos.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from renkou.accounts.models import PERSONAL_DATA_ROLES
from renkou.accounts.scope import scope_for
from renkou.aggregates.models import (
    CategoryOptionCombo,
    CodeMapping,
    CompleteRegistration,
    DataElement,
    DataSet,
    DataValue,
    ValidationRule,
    ValueType,
)
from renkou.core.errors import NotFound, PermissionDenied
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.periods import Period, PeriodError, periods_between
from renkou.orgunits.selectors import unit_subtree

# ---------------------------------------------------------------- the contract


def typed_value(value_type: str, text: str) -> int | float | str:
    if value_type in (ValueType.INTEGER, ValueType.NON_NEGATIVE_INTEGER):
        try:
            return int(text)
        except ValueError:
            return text
    if value_type in (ValueType.NUMBER, ValueType.NON_NEGATIVE_NUMBER):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return text


def _codes(items: Iterable | None) -> list[str] | None:
    return None if items is None else [str(getattr(i, "code", i)) for i in items]


def values(element_codes: Iterable[str] | None, unit_codes: Iterable[str] | None,
           periods: Iterable[str | Period] | None) -> list[dict]:
    """Stored aggregate values as value rows, for exactly these elements, units (no roll-up) and periods
    (renkou codes or Period objects); ``None`` for any of them means all."""
    qs = DataValue.objects.all()
    elements, units, period_codes = _codes(element_codes), _codes(unit_codes), _codes(periods)
    if elements is not None:
        qs = qs.filter(element__code__in=elements)
    if units is not None:
        qs = qs.filter(unit__code__in=units)
    if period_codes is not None:
        qs = qs.filter(period__in=period_codes)
    rows = qs.order_by("period", "unit__code", "element__code", "category_option_combo").values_list(
        "element__code", "element__value_type", "category_option_combo", "unit__code", "period", "value")
    return [{"data_element": e, "category_option_combo": coc, "org_unit": u, "period": p,
             "value": typed_value(vt, v)} for e, vt, coc, u, p, v in rows]


def element_catalogue() -> list[dict]:
    """Every aggregate element: code, name (Chinese), name_en, value_type and its option combos
    (``[{"code", "name"}]``; an element without disaggregation has the one combo ``""``, the total)."""
    cocs: dict[int, list[dict]] = {}
    for c in CategoryOptionCombo.objects.order_by("combo_id", "sort_order", "code"):
        cocs.setdefault(c.combo_id, []).append({"code": c.code, "name": c.name})
    return [{"code": e.code, "name": e.name_zh, "name_en": e.name_en, "value_type": e.value_type,
             "category_option_combos": cocs.get(e.combo_id, []) if e.combo_id else [{"code": "", "name": "合计"}]}
            for e in DataElement.objects.order_by("code")]


# ---------------------------------------------------------------- data sets and forms


def data_sets() -> QuerySet[DataSet]:
    return DataSet.objects.order_by("code")


def data_set_get(*, code: str) -> DataSet:
    ds = DataSet.objects.filter(code=code).first()
    if ds is None:
        raise NotFound
    return ds


def assigned_units(data_set: DataSet) -> QuerySet[OrgUnit]:
    """The units a data set is reported for: every unit of its level, and the units listed."""
    cond = Q(pk__in=data_set.units.values("pk"))
    if data_set.unit_level:
        cond |= Q(level=data_set.unit_level)
    return OrgUnit.objects.filter(cond).order_by("code")


def may_enter(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in PERSONAL_DATA_ROLES and user.unit_id)


def entry_units(user, data_set: DataSet) -> list[OrgUnit]:
    """Units the user may enter this data set for: assigned, and inside the user's area."""
    if not may_enter(user):
        return []
    scope = scope_for(user)
    return [u for u in assigned_units(data_set) if u.pk in scope.unit_ids]


def entry_unit_get(user, data_set: DataSet, unit_code: str) -> OrgUnit:
    """The unit for data entry, or NotFound (missing, not assigned, or outside the area);
    PermissionDenied when the role enters no data."""
    if not may_enter(user):
        raise PermissionDenied
    unit = assigned_units(data_set).filter(code=unit_code).first()
    if unit is None or not scope_for(user).covers(unit.pk):
        raise NotFound
    return unit


def period_of(data_set: DataSet, code: str) -> Period:
    """The period ``code`` checked against the data set's type (PeriodError otherwise)."""
    period = Period.parse(code)
    if period.type != data_set.period_type:
        raise PeriodError(f"{period.code} is not a period of type “{data_set.get_period_type_display()}”.")
    return period


@dataclass
class FormCell:
    element: DataElement
    coc: str
    field: str
    value: str = ""
    coc_name: str = ""


@dataclass
class FormRow:
    element: DataElement
    cells: list[FormCell]

    @property
    def category(self) -> str:
        """The name of the element's disaggregation (e.g. 性别), "" for a total only."""
        return self.element.combo.name if self.element.combo_id else ""

    @property
    def groups(self) -> list[tuple[str, list[FormCell]]]:
        """The cells grouped by their first category option when the combo crosses several categories (option
        combo codes ``A.B``), else one group ("", cells)."""
        if not any("." in c.coc for c in self.cells):
            return [("", self.cells)]
        out: dict[str, list[FormCell]] = {}
        for c in self.cells:
            out.setdefault(c.coc.split(".", 1)[0], []).append(c)
        return list(out.items())


@dataclass
class Form:
    data_set: DataSet
    unit: OrgUnit
    period: Period
    columns: list[tuple[str, str]]
    rows: list[FormRow]
    completion: CompleteRegistration | None
    values: dict[tuple[str, str], str] = field(default_factory=dict)


def form_get(data_set: DataSet, unit: OrgUnit, period: Period) -> Form:
    """The data-entry grid: elements × option combos, with the stored values (three queries)."""
    elements = [m.element for m in data_set.members.select_related("element", "element__combo").order_by(
        "sort_order", "id")]
    combo_ids = {e.combo_id for e in elements if e.combo_id}
    cocs: dict[int, list[CategoryOptionCombo]] = {}
    for c in CategoryOptionCombo.objects.filter(combo_id__in=combo_ids).order_by("sort_order", "code"):
        cocs.setdefault(c.combo_id, []).append(c)
    stored = {(e, c): v for e, c, v in DataValue.objects.filter(
        element__in=elements, unit=unit, period=period.code).values_list("element__code", "category_option_combo",
                                                                          "value")}
    columns: list[tuple[str, str]] = []
    rows = []
    for e in elements:
        combos = [(c.code, c.name) for c in cocs.get(e.combo_id, [])] if e.combo_id else [("", "合计")]
        for col in combos:
            if col not in columns:
                columns.append(col)
        cells = [FormCell(e, code, f"{e.code}.{code}" if code else e.code, stored.get((e.code, code), ""), name)
                 for code, name in combos]
        rows.append(FormRow(e, cells))
    completion = CompleteRegistration.objects.filter(data_set=data_set, unit=unit, period=period.code).first()
    return Form(data_set, unit, period, columns, rows, completion, stored)


def data_set_element_cocs(data_set: DataSet) -> dict[str, tuple[DataElement, set[str]]]:
    """{element code: (element, allowed option combo codes)}; {""} for an element with only a total."""
    elements = [m.element for m in data_set.members.select_related("element")]
    return element_cocs(elements)


def element_cocs(elements: Iterable[DataElement]) -> dict[str, tuple[DataElement, set[str]]]:
    elements = list(elements)
    combos: dict[int, set[str]] = {}
    for combo_id, code in CategoryOptionCombo.objects.filter(
            combo_id__in={e.combo_id for e in elements if e.combo_id}).values_list("combo_id", "code"):
        combos.setdefault(combo_id, set()).add(code)
    return {e.code: (e, combos.get(e.combo_id, set()) if e.combo_id else {""}) for e in elements}


# ---------------------------------------------------------------- reporting rates


@dataclass
class Reporting:
    unit: OrgUnit
    expected: int
    actual: int
    on_time: int

    @property
    def rate(self) -> float:
        return reporting_rate(self.actual, self.expected)

    @property
    def on_time_rate(self) -> float:
        return reporting_rate(self.on_time, self.expected)


def reporting_rate(actual: int, expected: int) -> float:
    """min(actual ÷ expected × 100, 100), one decimal; 0 when nothing is expected (DOMAIN.md)."""
    if expected <= 0:
        return 0.0
    return round(min(actual * 100 / expected, 100.0), 1)


def data_set_periods(data_set: DataSet, start: Period, end: Period) -> list[Period]:
    """The data set's periods lying wholly within start.start … end.end."""
    return [p for p in periods_between(data_set.period_type, start.start, end.end)
            if p.start >= start.start and p.end <= end.end]


def is_on_time(completed_at, period: Period, due_days: int) -> bool:
    """Completed by the end of the ``due_days``-th day after the period's last day (local time)."""
    return timezone.localtime(completed_at).date() <= period.end + timedelta(days=due_days)


def _expected(unit: OrgUnit, period: Period) -> bool:
    """An assigned unit is expected to report a period when it was open for the whole of it."""
    return ((unit.opened_on is None or unit.opened_on <= period.start)
            and (unit.closed_on is None or unit.closed_on >= period.end))


@dataclass
class PeriodReporting:
    period: Period
    expected: int
    actual: int
    on_time: int

    @property
    def rate(self) -> float:
        return reporting_rate(self.actual, self.expected)

    @property
    def on_time_rate(self) -> float:
        return reporting_rate(self.on_time, self.expected)


@dataclass
class ReportingSeries:
    """One unit's reporting per period of the range, and over the whole range (``total``)."""

    unit: OrgUnit
    periods: list[PeriodReporting]

    @property
    def total(self) -> Reporting:
        return Reporting(self.unit, sum(p.expected for p in self.periods), sum(p.actual for p in self.periods),
                         sum(p.on_time for p in self.periods))


def reporting_by_period(data_set: DataSet, unit: OrgUnit, start: Period, end: Period) -> list[ReportingSeries]:
    """Reporting of ``unit`` (its whole subtree) and each of its children, per data set period of the range
    (DHIS2's reporting rate and rate on time per period: expected, actual, on time). Three queries."""
    periods = data_set_periods(data_set, start, end)
    by_code = {p.code: p for p in periods}
    units = list(assigned_units(data_set).filter(path__startswith=unit.path))
    completions = list(CompleteRegistration.objects.filter(
        data_set=data_set, unit__in=units, period__in=list(by_code)).values_list("unit_id", "period", "completed_at"))
    children = list(OrgUnit.objects.filter(parent=unit).order_by("code"))
    out = []
    for g in [unit, *children]:
        members = [u for u in units if u.path.startswith(g.path)]
        if g is not unit and not members:
            continue
        member_ids = {u.pk for u in members}
        actual = dict.fromkeys(by_code, 0)
        on_time = dict.fromkeys(by_code, 0)
        for unit_id, code, at in completions:
            if unit_id in member_ids:
                actual[code] += 1
                on_time[code] += is_on_time(at, by_code[code], data_set.due_days)
        out.append(ReportingSeries(g, [
            PeriodReporting(p, sum(1 for u in members if _expected(u, p)), actual[p.code], on_time[p.code])
            for p in periods]))
    return out


def reporting(data_set: DataSet, unit: OrgUnit, start: Period, end: Period) -> list[Reporting]:
    """Reporting for ``unit`` (its whole subtree) and each of its children (each rolling up its own subtree).

    Expected: assignments in the subtree whose unit was open for the whole of each of the data set's periods;
    actual: completions by assigned units; on time: completed within ``due_days`` after the period's end."""
    return [series.total for series in reporting_by_period(data_set, unit, start, end)]


# ---------------------------------------------------------------- validation, outliers, exchange


def rules_active() -> QuerySet[ValidationRule]:
    return ValidationRule.objects.filter(active=True).order_by("code")


def periods_within(start: Period, end: Period) -> list[str]:
    """The codes of every period of every type lying wholly within start.start … end.end."""
    from renkou.orgunits.periods import PeriodType

    out = []
    for ptype in PeriodType:
        out += [p.code for p in periods_between(ptype, start.start, end.end)
                if p.start >= start.start and p.end <= end.end]
    return out


def value_rows_for(unit: OrgUnit, start: Period, end: Period, element_codes: Iterable[str] | None = None, *,
                   for_rules: bool = False) -> list[dict]:
    """Value rows of the unit's subtree in the range: the stored aggregate values, and the register-derived
    values that ``renkou.stats`` computes for the codes it knows (same contract).

    ``element_codes`` None: every stored aggregate value; with ``for_rules`` also the register figures that the
    active validation rules refer to (not every register element: that is every element × unit × period)."""
    from renkou.stats import selectors as stats_selectors

    unit_codes = list(unit_subtree(unit).values_list("code", flat=True))
    periods = periods_within(start, end)
    if element_codes is None:
        own: list[str] | None = None
        referenced = {ref.split(".")[0] for rule in rules_active() for ref in rule_references(rule)} if for_rules else set()
        register = sorted(stats_selectors.register_codes(referenced))
    else:
        codes = list(dict.fromkeys(element_codes))
        known = stats_selectors.register_codes(codes)
        register = [c for c in codes if c in known]
        own = [c for c in codes if c not in known]
    rows = values(own, unit_codes, periods) if own is None or own else []
    if register:
        rows += stats_selectors.values(register, unit_codes, periods)
    return rows


def rule_references(rule: ValidationRule) -> set[str]:
    """The element references (``X`` or ``X.Y``) of a rule's two sides."""
    from renkou.aggregates.expressions import parse

    return set(parse(rule.left).refs) | set(parse(rule.right).refs)


def mappings(system: str = "") -> QuerySet[CodeMapping]:
    """The code mappings (of one system, or all), by system, kind and renkou code."""
    qs = CodeMapping.objects.order_by("system", "kind", "renkou_code")
    return qs.filter(system=system) if system else qs


def mapping_systems() -> list[str]:
    return list(CodeMapping.objects.order_by("system").values_list("system", flat=True).distinct())


def mapping_get(mapping_id: int) -> CodeMapping:
    m = CodeMapping.objects.filter(pk=mapping_id).first()
    if m is None:
        raise NotFound
    return m


def mapper_for(system: str):
    from renkou.aggregates.formats import Mapper

    if not system:
        return Mapper()
    return Mapper.from_pairs(CodeMapping.objects.filter(system=system).values_list("kind", "renkou_code",
                                                                                  "external_id"))


def completion_get(data_set: DataSet, unit_code: str, period: str) -> CompleteRegistration | None:
    return CompleteRegistration.objects.filter(data_set=data_set, unit__code=unit_code, period=period).first()
