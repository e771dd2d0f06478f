"""The statistics routes (/api/v1/stats): data elements, values, indicators, report forms, publication.

Aggregates only: any user may read the figures of units inside their area; defining indicators and publishing
periods is the county statistician's (or administrator's) work.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.params import Path

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.core.errors import NotFound, RuleViolation
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.periods import Period, PeriodError
from renkou.registry.schemas import answers
from renkou.stats import selectors, services
from renkou.stats.contributed import contributed_elements
from renkou.stats.elements import ELEMENTS
from renkou.stats.models import Indicator
from renkou.stats.reports import FORMS, report_build

router = Router(tags=["stats"])
CHANNEL = "api"
READ_ERRORS = (401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 422)
MAX_ITEMS = 50


class OptionComboOut(Schema):
    code: str
    name_zh: str
    name_en: str


class ElementOut(Schema):
    code: str
    name_zh: str
    name_en: str
    kind: str = Field(description="stock (persons at a date) or flow (events in the period); contributed: "
                                  "counted by another module (the exchange …)")
    at: str | None = Field(description="stocks: start, end or mean of the period")
    category_option_combos: list[OptionComboOut]


class ValueOut(Schema):
    data_element: str
    category_option_combo: str
    org_unit: str
    period: str
    value: float


class ValuesIn(Schema):
    elements: str = Field(..., max_length=2000, description="comma-separated data element or indicator codes")
    units: str = Field(..., max_length=2000, description="comma-separated 12-digit unit codes")
    periods: str = Field(..., max_length=500, description="comma-separated renkou period codes")


class IndicatorIn(Schema):
    code: str = Field(..., max_length=40)
    name_zh: str = Field(..., max_length=100)
    name_en: str = Field(..., max_length=100)
    description: str = Field("", max_length=2000)
    numerator: str = Field(..., max_length=2000)
    denominator: str = Field("1", max_length=2000)
    factor: float = 1
    decimals: int = Field(1, ge=0, le=6)
    unit_label: str = Field("", max_length=16)
    interval: str = Field("", max_length=12, description="'' or 'binomial' (95% Wilson interval of a ratio)")
    target: float | None = Field(None, description="the work plan's target (none: no target)")
    target_is_minimum: bool = Field(True, description="met when the value is at least (true) or at most the target")


class IndicatorUpdateIn(Schema):
    name_zh: str | None = Field(None, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)
    numerator: str | None = Field(None, max_length=2000)
    denominator: str | None = Field(None, max_length=2000)
    factor: float | None = None
    decimals: int | None = Field(None, ge=0, le=6)
    unit_label: str | None = Field(None, max_length=16)
    interval: str | None = Field(None, max_length=12)
    target: float | None = None
    target_is_minimum: bool | None = None


class IndicatorOut(Schema):
    code: str
    name_zh: str
    name_en: str
    description: str
    numerator: str
    denominator: str
    factor: float
    decimals: int
    unit_label: str
    interval: str
    target: float | None
    target_is_minimum: bool
    builtin: bool


class IndicatorValueOut(Schema):
    code: str
    name_zh: str
    name_en: str
    unit_label: str
    value: float | None = Field(description="none when the denominator is 0")
    numerator: float | None
    denominator: float | None
    target: float | None
    target_is_minimum: bool
    target_met: bool | None = Field(description="none when there is no target or no value")


class IndicatorValuesIn(Schema):
    unit: str = Field(..., max_length=15, description="12-digit unit code")
    period: str = Field(..., max_length=12, description="renkou period code")
    indicators: str = Field("", max_length=2000, description="comma-separated indicator codes (default: all)")


class ReportIn(Schema):
    unit: str = Field(..., max_length=15, description="12-digit unit code")
    period: str = Field(..., max_length=12)


class PublishedOut(Schema):
    period: str
    published_at: str
    values_count: int


class ChangeOut(Schema):
    data_element: str
    category_option_combo: str
    org_unit: str
    period: str
    frozen: float | None
    current: float | None
    difference: float | None


def _caller(request: HttpRequest) -> User:
    return request.auth


def _unit_in_scope(user: User, code: str) -> OrgUnit:
    if "\x00" in code:  # no code holds one, and PostgreSQL refuses it in a query
        raise NotFound
    unit = OrgUnit.objects.filter(code=code.strip()).first()
    if unit is None or not scope_for(user).covers(unit.pk):
        raise NotFound
    return unit


def _period(text: str, field: str = "period") -> Period:
    try:
        return Period.parse(text.strip())
    except PeriodError as exc:
        raise RuleViolation(field, str(exc)) from None


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


@router.get("/elements", response=answers(200, list[ElementOut], *READ_ERRORS), summary="Data elements")
def elements_list(request):
    """Every data element derived from the register, then those other modules contribute (the exchange's
    counts), with their category option combos (codes are stable)."""
    return [{"code": e.code, "name_zh": e.name_zh, "name_en": e.name_en, "kind": "stock" if e.stock else "flow",
             "at": e.at, "category_option_combos": [{"code": c, "name_zh": z, "name_en": n} for c, z, n in e.cocs()]}
            for e in ELEMENTS] + [
        {"code": e.code, "name_zh": e.name_zh, "name_en": e.name_en, "kind": "contributed", "at": None,
         "category_option_combos": [{"code": c, "name_zh": z, "name_en": n} for c, z, n in e.cocs()]}
        for e in contributed_elements()]


@router.get("/values", response=answers(200, list[ValueOut], *READ_ERRORS), summary="Values of elements")
def values_get(request, q: Query[ValuesIn]):
    """Values of data elements (total ``""`` and every option combo) and indicators for units and periods."""
    user = _caller(request)
    elements, units, periods = _split(q.elements), _split(q.units), _split(q.periods)
    for name, items in (("elements", elements), ("units", units), ("periods", periods)):
        if not items or len(items) > MAX_ITEMS:
            raise RuleViolation(name, _("Give 1 to %(n)s codes.") % {"n": MAX_ITEMS})
    for code in units:
        _unit_in_scope(user, code)
    plist = [_period(p, "periods") for p in periods]
    known = selectors.register_codes(elements)
    unknown = [e for e in elements if e not in known]
    if unknown:
        raise RuleViolation("elements", _("Unknown data element or indicator: %(code)s") % {"code": unknown[0]})
    return selectors.values(elements, units, plist)


@router.get("/indicators", response=answers(200, list[IndicatorOut], *READ_ERRORS), summary="Indicators")
def indicators_get(request):
    """Every indicator definition: numerator and denominator expressions, factor, decimals."""
    return list(selectors.indicators_list())


@router.get("/indicator-values", response=answers(200, list[IndicatorValueOut], *READ_ERRORS),
            summary="Indicator values for a unit and period, against their targets")
def indicator_values_get(request, q: Query[IndicatorValuesIn]):
    """Every indicator (or those named) for one unit and period: value, numerator, denominator, target and
    whether it is met (the exchange's rates against the work plan's 70 %, 80 %, 90 %)."""
    unit = _unit_in_scope(_caller(request), q.unit)
    period = _period(q.period)
    inds = list(selectors.indicators_list())
    wanted = _split(q.indicators)
    if wanted:
        have = {i.code for i in inds}
        missing = [c for c in wanted if c not in have]
        if missing:
            raise RuleViolation("indicators", _("Unknown indicator: %(code)s") % {"code": missing[0]})
        inds = [i for i in inds if i.code in set(wanted)]
    return selectors.indicator_table(unit.code, period, inds)


@router.post("/indicators", response=answers(201, IndicatorOut, *WRITE_ERRORS), summary="Add an indicator")
def indicator_create(request, payload: IndicatorIn):
    """Add an indicator; its expressions are checked first (unknown elements, division by zero: 422)."""
    data = payload.dict()
    code = data.pop("code")
    ind = services.indicator_save(by=_caller(request), code=code, data=data, create=True, channel=CHANNEL)
    return Status(201, ind)


@router.put("/indicators/{code}", response=answers(200, IndicatorOut, *WRITE_ERRORS), summary="Change an indicator")
def indicator_update(request, payload: IndicatorUpdateIn, code: str = Path(..., max_length=40)):
    """Change the fields sent; the definition is checked again before it is saved. ``"target": null`` removes
    the target."""
    if "\x00" in code or not Indicator.objects.filter(code=code).exists():
        raise NotFound
    sent = payload.dict(exclude_unset=True)
    data = {k: v for k, v in sent.items() if v is not None or k == "target"}  # "target": null clears it
    return services.indicator_save(by=_caller(request), code=code, data=data, create=False, channel=CHANNEL)


@router.delete("/indicators/{code}", response=answers(204, None, *WRITE_ERRORS), summary="Remove an indicator")
def indicator_remove(request, code: str = Path(..., max_length=40)):
    if "\x00" in code or not Indicator.objects.filter(code=code).exists():
        raise NotFound
    services.indicator_delete(by=_caller(request), code=code, channel=CHANNEL)
    return Status(204, None)


@router.get("/reports/{form}", response=answers(200, dict, *READ_ERRORS), summary="A report form")
def report_get(request, q: Query[ReportIn], form: str = Path(..., max_length=40)):
    """The form as a table: title, unit, period, columns (with their header group) and rows of values.
    Forms: ``pop_births``, ``births_order_sex``, ``srb_township``, ``pyramid``, ``vital_rates``."""
    if form not in FORMS:
        raise NotFound
    unit = _unit_in_scope(_caller(request), q.unit)
    return report_build(form, unit, _period(q.period)).as_json()


@router.post("/periods/{period}/publish", response=answers(201, PublishedOut, *WRITE_ERRORS),
             summary="Publish (freeze) a period")
def period_publish(request, period: str = Path(..., max_length=12)):
    """Freeze every value of an ended period for every unit; the period's figures no longer change."""
    pub = services.period_publish(by=_caller(request), period=period, channel=CHANNEL)
    return Status(201, {"period": pub.period, "published_at": pub.published_at.isoformat(),
                        "values_count": pub.values_count})


@router.get("/periods/{period}/changes", response=answers(200, list[ChangeOut], *READ_ERRORS),
            summary="What would change in a published period")
def period_changes(request, unit: str | None = None, period: str = Path(..., max_length=12)):
    """Values of a published period whose recomputed figure differs from the frozen one (later corrections).
    ``unit`` limits the answer to one unit; 404 when the period is not published."""
    user = _caller(request)
    p = _period(period)
    if p.code not in selectors.published_periods([p.code]):
        raise NotFound
    scope = scope_for(user)
    if unit:
        units = [_unit_in_scope(user, unit).code]
    else:
        units = list(OrgUnit.objects.filter(pk__in=scope.unit_ids).values_list("code", flat=True))
    return selectors.period_changes(p, units)
