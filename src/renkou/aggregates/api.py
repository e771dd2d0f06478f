"""Aggregate data sets over the JSON API (mounted at /api/v1/datasets): forms, completion, reporting rates,
validation rules, outliers and the DHIS2 / ADX exchange formats. Aggregates only: no personal data."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.params import Body, Path

from renkou.accounts.scope import scope_for
from renkou.aggregates import outliers, selectors, services, validation
from renkou.core.errors import NotFound, RuleViolation
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.periods import Period, PeriodError
from renkou.orgunits.selectors import unit_get_by_code
from renkou.registry.schemas import answers

router = Router(tags=["aggregates"])
CHANNEL = "api"
READ_ERRORS = (401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 422)
CODE = r"^[A-Za-z0-9_]{1,50}$"
UNIT = r"^[0-9]{6,15}$"
PERIOD = r"^[0-9A-Za-z]{4,10}$"


# ---------------------------------------------------------------- schemas


class DataSetComboOut(Schema):
    code: str = Field(description="\"\" is the total of an element without disaggregation")
    name: str


class DataSetElementOut(Schema):
    code: str
    name: str
    name_en: str
    value_type: str
    category_option_combos: list[DataSetComboOut]


class DataSetOut(Schema):
    code: str
    name: str
    period_type: str
    due_days: int
    unit_level: int | None
    elements: list[str]


class FormIn(Schema):
    unit: str = Field(..., pattern=UNIT, examples=["500230001000"])
    period: str = Field(..., pattern=PERIOD, examples=["202501"])


class FormOut(Schema):
    data_set: str
    unit: str
    period: str
    values: dict[str, str] = Field(description="field (CODE or CODE.COC) → value")
    completed_at: str | None
    completed_by: str | None


class FormValuesIn(Schema):
    values: dict[str, str | int | float | None] = Field(
        ..., description="field (CODE or CODE.COC) → value; \"\" or null removes a value",
        examples=[{"PUBLICITY_EVENTS": 3, "CONSULTATIONS.MALE": 12}])


class SaveOut(Schema):
    created: int
    updated: int
    deleted: int
    unchanged: int


class CompleteOut(Schema):
    complete: bool
    completed_at: str | None


class RangeIn(Schema):
    unit: str = Field(..., pattern=UNIT, examples=["500230000000"])
    start: str = Field(..., pattern=PERIOD, examples=["2025"], description="first period (any type)")
    end: str | None = Field(None, pattern=PERIOD, description="last period (default: start)")


class ReportingRowOut(Schema):
    unit: str
    unit_name: str
    expected: int
    actual: int
    on_time: int
    rate: float
    on_time_rate: float


class ReportingPeriodOut(Schema):
    period: str
    expected: int
    actual: int
    on_time: int
    rate: float
    on_time_rate: float


class ReportingSeriesOut(Schema):
    unit: str
    unit_name: str
    periods: list[ReportingPeriodOut]
    total: ReportingPeriodOut = Field(description="the whole range (period: start–end)")


class ViolationOut(Schema):
    rule: str
    name: str
    instruction: str
    importance: str
    org_unit: str
    period: str
    left: float | None
    operator: str
    right: float | None


class OutlierIn(RangeIn):
    element: str = Field(..., pattern=CODE, examples=["PUBLICITY_EVENTS"])
    category_option_combo: str = Field("", pattern=r"^[A-Za-z0-9_]{0,50}$")
    threshold: float = Field(outliers.DEFAULT_THRESHOLD, gt=0, le=100)


class PointOut(Schema):
    period: str
    value: float
    z: float | None
    outlier: bool


class SeriesOut(Schema):
    data_element: str
    category_option_combo: str
    org_unit: str
    points: list[PointOut]


class ValuesExportIn(RangeIn):
    data_set: str | None = Field(None, pattern=CODE, description="only the elements of this data set")
    system: str = Field("", max_length=50, description="apply this system's code mappings")
    elements: str = Field("", max_length=2000, pattern=r"^[A-Za-z0-9_.,]*$",
                          description="comma-separated element or indicator codes, the register's (renkou.stats) "
                                      "included; default: the stored aggregate values")


class DataValueOut(Schema):
    dataElement: str  # noqa: N815 - DHIS2's field names
    categoryOptionCombo: str  # noqa: N815
    period: str
    orgUnit: str  # noqa: N815
    value: str


class DataValueSetOut(Schema):
    dataSet: str | None = None  # noqa: N815
    period: str | None = None
    orgUnit: str | None = None  # noqa: N815
    completeDate: str | None = None  # noqa: N815
    dataValues: list[DataValueOut]  # noqa: N815


class ImportIn(Schema):
    dry_run: bool = False
    atomic: bool = False
    system: str = Field("", max_length=50)


class ImportCountOut(Schema):
    imported: int
    updated: int
    ignored: int
    deleted: int


class ConflictOut(Schema):
    object: str
    value: str
    index: int


class ImportSummaryOut(Schema):
    status: Literal["SUCCESS", "WARNING", "ERROR"]
    dryRun: bool  # noqa: N815
    importCount: ImportCountOut  # noqa: N815
    conflicts: list[ConflictOut]


# ---------------------------------------------------------------- helpers


def _unit_in_scope(request, code: str, field: str = "unit") -> OrgUnit:
    unit = unit_get_by_code(code=code)
    if unit is None or not scope_for(request.auth).covers(unit.pk):
        raise NotFound
    return unit


def _period(text: str, field: str) -> Period:
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise RuleViolation(field, str(exc), code="period") from None


def _range(filters: RangeIn) -> tuple[Period, Period]:
    start = _period(filters.start, "start")
    end = _period(filters.end, "end") if filters.end else start
    if end.end < start.start:
        raise RuleViolation("end", "end is before start", code="period.order")
    return start, end


# ---------------------------------------------------------------- routes


@router.get("", response=answers(200, list[DataSetOut], *READ_ERRORS), summary="List aggregate data sets")
def data_sets_list(request: HttpRequest):
    return [{"code": ds.code, "name": ds.name, "period_type": ds.period_type, "due_days": ds.due_days,
             "unit_level": ds.unit_level,
             "elements": [m.element.code for m in sorted(ds.members.all(), key=lambda m: (m.sort_order, m.pk))]}
            for ds in selectors.data_sets().prefetch_related("members__element")]


@router.get("/elements", response=answers(200, list[DataSetElementOut], *READ_ERRORS), summary="Aggregate data elements")
def dataset_elements_list(request: HttpRequest):
    return selectors.element_catalogue()


@router.get("/reporting/{code}", response=answers(200, list[ReportingRowOut], *READ_ERRORS),
            summary="Reporting rate and rate on time")
def reporting_rates(request: HttpRequest, filters: Query[RangeIn], code: str = Path(..., pattern=CODE)):
    """For the unit (its whole subtree) and each of its children: expected, actual and on-time reports, and
    the rates (DHIS2's definitions, see docs/aggregates.md)."""
    data_set = selectors.data_set_get(code=code)
    unit = _unit_in_scope(request, filters.unit)
    start, end = _range(filters)
    return [{"unit": r.unit.code, "unit_name": r.unit.name, "expected": r.expected, "actual": r.actual,
             "on_time": r.on_time, "rate": r.rate, "on_time_rate": r.on_time_rate}
            for r in selectors.reporting(data_set, unit, start, end)]


@router.get("/reporting/{code}/periods", response=answers(200, list[ReportingSeriesOut], *READ_ERRORS),
            summary="Reporting rate and rate on time per period")
def reporting_rates_by_period(request: HttpRequest, filters: Query[RangeIn], code: str = Path(..., pattern=CODE)):
    """For the unit (its whole subtree) and each of its children: expected, actual and on-time reports and the
    rates for each of the data set's periods in the range (a monthly set over a year: 12), and the total."""
    data_set = selectors.data_set_get(code=code)
    unit = _unit_in_scope(request, filters.unit)
    start, end = _range(filters)

    def cell(code: str, r) -> dict:
        return {"period": code, "expected": r.expected, "actual": r.actual, "on_time": r.on_time, "rate": r.rate,
                "on_time_rate": r.on_time_rate}

    return [{"unit": s.unit.code, "unit_name": s.unit.name, "periods": [cell(p.period.code, p) for p in s.periods],
             "total": cell(f"{start.code}-{end.code}", s.total)}
            for s in selectors.reporting_by_period(data_set, unit, start, end)]


@router.get("/validation", response=answers(200, list[ViolationOut], *READ_ERRORS),
            summary="Violations of the validation rules")
def validation_violations(request: HttpRequest, filters: Query[RangeIn]):
    unit = _unit_in_scope(request, filters.unit)
    start, end = _range(filters)
    rows = selectors.value_rows_for(unit, start, end, for_rules=True)
    return [v.__dict__ for v in validation.violations_in(selectors.rules_active(), rows)]


@router.get("/outliers", response=answers(200, list[SeriesOut], *READ_ERRORS),
            summary="Outliers of monthly series (modified z-score)")
def outlier_series(request: HttpRequest, filters: Query[OutlierIn]):
    """The monthly series of the element (and option combo) for each unit of the subtree that has values;
    each point with its modified z-score and whether it is an outlier."""
    unit = _unit_in_scope(request, filters.unit)
    start, end = _range(filters)
    rows = [r for r in selectors.value_rows_for(unit, start, end, [filters.element])
            if (r.get("category_option_combo") or "") == filters.category_option_combo]
    flagged = outliers.outliers_in(rows, filters.threshold)
    return [{"data_element": e, "category_option_combo": c, "org_unit": u, "points": [p.__dict__ for p in points]}
            for (e, c, u), points in flagged.items()]


def _export(request, filters: ValuesExportIn, fmt: str) -> services.Export:
    unit = _unit_in_scope(request, filters.unit)
    start, end = _range(filters)
    return services.values_export(by=request.auth, unit=unit, start=start, end=end, fmt=fmt,
                                  data_set=filters.data_set or "", system=filters.system, channel=CHANNEL,
                                  elements=[c for c in filters.elements.split(",") if c])


@router.get("/export/dhis2", response=answers(200, DataValueSetOut, *READ_ERRORS),
            summary="Export values as a DHIS2 dataValueSet")
def values_export_dhis(request: HttpRequest, filters: Query[ValuesExportIn]):
    return _export(request, filters, "dhis2").body


@router.get("/export/adx", response=answers(200, str, *READ_ERRORS), summary="Export values as IHE ADX (XML)",
            openapi_extra={"responses": {"200": {"description": "ADX XML (urn:ihe:qrph:adx:2015)", "content": {
                "application/xml": {"schema": {"type": "string"}}}}}})
def values_export_adx(request: HttpRequest, filters: Query[ValuesExportIn]):
    export = _export(request, filters, "adx")
    return HttpResponse(export.content, content_type=export.content_type)


ADX_EXAMPLE = ('<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="500230001000" period="2025-01-01/P1M" '
               'dataSet="FAMSVC_M"><dataValue dataElement="PUBLICITY_EVENTS" value="3"/></group></adx>')
IMPORT_BODY = Body(..., examples=[{"dataSet": "FAMSVC_M", "period": "202501", "orgUnit": "500230001000",
                                   "dataValues": [{"dataElement": "PUBLICITY_EVENTS", "value": "3"}]}])


@router.post("/import/dhis2", response=answers(200, ImportSummaryOut, *WRITE_ERRORS),
             summary="Import a DHIS2 dataValueSet")
def values_import_dhis(request: HttpRequest, options: Query[ImportIn],
                 payload: dict[str, Any] = IMPORT_BODY):
    """``dry_run``: check and count, write nothing. ``atomic``: write nothing when any entry conflicts."""
    return services.dhis2_import(by=request.auth, payload=payload, system=options.system,
                                 dry_run=options.dry_run, atomic=options.atomic, channel=CHANNEL)


@router.post("/import/adx", response=answers(200, ImportSummaryOut, *WRITE_ERRORS),
             summary="Import an IHE ADX document (XML)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/xml": {"schema": {"type": "string"}, "example": ADX_EXAMPLE}}}})
def values_import_adx(request: HttpRequest, options: Query[ImportIn]):
    """The request body is the ADX XML (``urn:ihe:qrph:adx:2015``). The same checks and summary as the DHIS2
    import: ``dry_run`` writes nothing; ``atomic`` writes nothing when any value conflicts; a document that is
    not ADX is refused with 422 (field ``file``)."""
    return services.adx_import(by=request.auth, data=request.body, system=options.system, dry_run=options.dry_run,
                               atomic=options.atomic, channel=CHANNEL)


class CodeMappingIn(Schema):
    system: str = Field(..., max_length=50, examples=["dhis2-national"])
    kind: Literal["element", "coc", "unit", "data_set"]
    renkou_code: str = Field("", max_length=50, description="empty for kind coc: the total")
    external_id: str = Field(..., max_length=100)


class CodeMappingOut(Schema):
    id: int
    system: str
    kind: str
    renkou_code: str
    external_id: str


class MappingsIn(Schema):
    system: str = Field("", max_length=50, description="one system (default: all)")


@router.get("/mappings", response=answers(200, list[CodeMappingOut], *READ_ERRORS), summary="Code mappings")
def mappings_list(request: HttpRequest, filters: Query[MappingsIn]):
    """renkou code ↔ external id per system and kind, applied on export and import."""
    return list(selectors.mappings(filters.system.strip()))


@router.post("/mappings", response=answers(201, CodeMappingOut, *WRITE_ERRORS), summary="Add a code mapping")
def mapping_create(request: HttpRequest, payload: CodeMappingIn):
    """County administrator and statistician; the renkou code must exist (an option combo code is only checked
    for its form) and both sides be unique within the system and kind (422 naming the field)."""
    return Status(201, services.mapping_save(by=request.auth, data=payload.dict(), channel=CHANNEL))


@router.put("/mappings/{mapping_id}", response=answers(200, CodeMappingOut, *WRITE_ERRORS),
            summary="Change a code mapping")
def mapping_update(request: HttpRequest, payload: CodeMappingIn, mapping_id: int = Path(...)):
    return services.mapping_save(by=request.auth, data=payload.dict(), mapping_id=mapping_id, channel=CHANNEL)


@router.delete("/mappings/{mapping_id}", response=answers(204, None, *WRITE_ERRORS), summary="Delete a code mapping")
def mapping_remove(request: HttpRequest, mapping_id: int = Path(...)):
    services.mapping_delete(by=request.auth, mapping_id=mapping_id, channel=CHANNEL)
    return Status(204, None)


@router.get("/{code}/values", response=answers(200, FormOut, *READ_ERRORS), summary="The values of a form")
def form_values(request: HttpRequest, filters: Query[FormIn], code: str = Path(..., pattern=CODE)):
    data_set = selectors.data_set_get(code=code)
    unit = _unit_in_scope(request, filters.unit)
    if not selectors.assigned_units(data_set).filter(pk=unit.pk).exists():
        raise NotFound
    try:
        period = selectors.period_of(data_set, filters.period)
    except PeriodError as exc:
        raise RuleViolation("period", str(exc), code="period") from None
    form = selectors.form_get(data_set, unit, period)
    done = form.completion
    return {"data_set": data_set.code, "unit": unit.code, "period": period.code,
            "values": {f"{e}.{c}" if c else e: v for (e, c), v in form.values.items()},
            "completed_at": done.completed_at.isoformat() if done else None,
            "completed_by": done.completed_by.get_username() if done and done.completed_by else None}


@router.put("/{code}/values", response=answers(200, SaveOut, *WRITE_ERRORS), summary="Save the values of a form")
def form_save(request: HttpRequest, filters: Query[FormIn], payload: FormValuesIn, code: str = Path(..., pattern=CODE)):
    """Every value is checked first (type, not negative where the element says so); one wrong value answers
    422 naming each wrong field, and nothing is written."""
    data_set = selectors.data_set_get(code=code)
    unit = selectors.entry_unit_get(request.auth, data_set, filters.unit)
    result = services.values_save(by=request.auth, data_set=data_set, unit=unit, period=filters.period,
                                  entries=payload.values, channel=CHANNEL)
    return {"created": result.created, "updated": result.updated, "deleted": result.deleted,
            "unchanged": result.unchanged}


@router.post("/{code}/complete", response=answers(200, CompleteOut, *WRITE_ERRORS), summary="Mark a form complete")
def form_complete(request: HttpRequest, filters: Query[FormIn], code: str = Path(..., pattern=CODE)):
    data_set = selectors.data_set_get(code=code)
    unit = selectors.entry_unit_get(request.auth, data_set, filters.unit)
    reg = services.complete_register(by=request.auth, data_set=data_set, unit=unit, period=filters.period,
                                     channel=CHANNEL)
    return {"complete": True, "completed_at": reg.completed_at.isoformat()}


@router.delete("/{code}/complete", response=answers(200, CompleteOut, *WRITE_ERRORS),
               summary="Mark a form not complete")
def form_uncomplete(request: HttpRequest, filters: Query[FormIn], code: str = Path(..., pattern=CODE)):
    data_set = selectors.data_set_get(code=code)
    unit = selectors.entry_unit_get(request.auth, data_set, filters.unit)
    services.complete_undo(by=request.auth, data_set=data_set, unit=unit, period=filters.period, channel=CHANNEL)
    return {"complete": False, "completed_at": None}
