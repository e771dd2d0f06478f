"""Pages of the aggregate data sets: data entry, reporting rates, validation violations, outliers."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from renkou.accounts.scope import scope_for
from renkou.aggregates import formats, outliers, selectors, services, validation
from renkou.aggregates.forms import CodeMappingForm, MappingImportForm
from renkou.aggregates.models import DataElement
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation, violations_of
from renkou.core.forms import add_violations
from renkou.core.views import page
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.periods import Period, PeriodError, PeriodType

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _default_period(data_set) -> str:
    """The last period that has ended (the one normally being reported)."""
    return Period.containing(data_set.period_type, timezone.localdate()).previous().code


def _scope_units(user) -> list[OrgUnit]:
    scope = scope_for(user)
    return list(OrgUnit.objects.filter(pk__in=scope.unit_ids, level__lte=3).order_by("code"))


@page
def entry(request):
    """Pick a data set, unit and period; fill in the grid; save; mark complete."""
    sets = list(selectors.data_sets())
    code = request.GET.get("data_set") or request.POST.get("data_set") or (sets[0].code if sets else "")
    data_set = next((ds for ds in sets if ds.code == code), None)
    ctx: dict = {"section": "datasets", "sets": sets, "data_set": data_set, "errors": {}, "form": None}
    if data_set is None:
        return render(request, "aggregates/entry.html", ctx)
    units = selectors.entry_units(request.user, data_set)
    unit_code = request.GET.get("unit") or request.POST.get("unit") or (units[0].code if units else "")
    period_code = request.GET.get("period") or request.POST.get("period") or _default_period(data_set)
    ctx.update(units=units, unit_code=unit_code, period_code=period_code)
    if not units:
        return render(request, "aggregates/entry.html", ctx)
    unit = next((u for u in units if u.code == unit_code), None)
    if unit is None:
        raise NotFound
    try:
        period = selectors.period_of(data_set, period_code)
    except PeriodError as exc:
        ctx["period_error"] = str(exc)
        return render(request, "aggregates/entry.html", ctx)
    here = f"{request.path}?{urlencode({'data_set': data_set.code, 'unit': unit.code, 'period': period.code})}"
    posted: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "complete":
                services.complete_register(by=request.user, data_set=data_set, unit=unit, period=period.code)
                messages.success(request, _("The form is marked complete."))
            elif action == "uncomplete":
                services.complete_undo(by=request.user, data_set=data_set, unit=unit, period=period.code)
                messages.success(request, _("The form is no longer marked complete."))
            else:
                fields = [c.field for r in selectors.form_get(data_set, unit, period).rows for c in r.cells]
                posted = {f: request.POST.get(f, "") for f in fields}
                result = services.values_save(by=request.user, data_set=data_set, unit=unit, period=period.code,
                                              entries=posted)
                messages.success(request, _("Saved: %(created)s new, %(updated)s changed, %(deleted)s removed.")
                                 % {"created": result.created, "updated": result.updated, "deleted": result.deleted})
            return redirect(here)
        except RuleViolation as exc:
            ctx["errors"] = {v.field: str(v.message) for v in violations_of(exc)}
    form = selectors.form_get(data_set, unit, period)
    if posted:  # show what was typed beside its error
        for row in form.rows:
            for cell in row.cells:
                cell.value = posted.get(cell.field, cell.value)
    for row in form.rows:
        for cell in row.cells:
            cell.error = ctx["errors"].get(cell.field, "")
    ctx.update(form=form, unit=unit, period=period)
    return render(request, "aggregates/entry.html", ctx, status=422 if ctx["errors"] else 200)


def _range_from(request, default_start: str) -> tuple[Period, Period, str]:
    error = ""
    try:
        start = Period.parse(request.GET.get("start") or default_start)
        end = Period.parse(request.GET.get("end") or start.code)
    except PeriodError as exc:
        start = end = Period.parse(default_start)
        error = str(exc)
    return start, end, error


def _unit_from(request) -> OrgUnit:
    scope = scope_for(request.user)
    code = request.GET.get("unit")
    if not code:
        if scope.unit is None:
            raise NotFound
        return scope.unit
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None or not scope.covers(unit.pk):
        raise NotFound
    return unit


@page
def reporting(request):
    sets = list(selectors.data_sets())
    code = request.GET.get("data_set") or (sets[0].code if sets else "")
    data_set = next((ds for ds in sets if ds.code == code), None)
    if data_set is None:
        raise NotFound
    unit = _unit_from(request)
    this_year = str(timezone.localdate().year)
    start, end, error = _range_from(request, this_year)
    series = selectors.reporting_by_period(data_set, unit, start, end)
    rows = [s.total for s in series]
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return _reporting_file(fmt, data_set, unit, start, end, rows, series)
    return render(request, "aggregates/reporting.html", {
        "section": "datasets", "sets": sets, "data_set": data_set, "unit": unit, "units": _scope_units(request.user),
        "start": start, "end": end, "rows": rows, "series": series,
        "period_columns": [p.period for p in series[0].periods] if series else [], "error": error,
        "query": urlencode({"data_set": data_set.code, "unit": unit.code, "start": start.code, "end": end.code})})


REPORTING_HEADERS = ["单位代码", "单位", "应报数", "实报数", "及时报数", "报告率(%)", "及时率(%)"]


REPORTING_PERIOD_HEADERS = ["单位代码", "单位", "时期", "应报数", "实报数", "及时报数", "报告率(%)", "及时率(%)"]


def _reporting_file(fmt, data_set, unit, start, end, rows, series=()) -> HttpResponse:
    """The totals (CSV; XLSX first sheet) and, in the XLSX, a second sheet 按时期 with one line per unit and
    period."""
    table = [[r.unit.code, r.unit.name, r.expected, r.actual, r.on_time, r.rate, r.on_time_rate] for r in rows]
    name = f"reporting-{data_set.code}-{unit.code}-{start.code}-{end.code}"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(REPORTING_HEADERS)
        writer.writerows(table)
        response = HttpResponse(("\ufeff" + buf.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        wb = Workbook()
        ws = wb.active
        ws.title = "报告率"
        ws.append([f"{data_set.name} 报告率与及时率：{unit.name}，{start.code}–{end.code}"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(REPORTING_HEADERS))
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = Alignment(horizontal="center")
        ws.append(REPORTING_HEADERS)
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for line in table:
            ws.append(line)
        for row in ws.iter_rows(min_row=3, min_col=6, max_col=7):
            for cell in row:
                cell.number_format = "0.0"
        ws.column_dimensions["A"].width = 16
        ws.column_dimensions["B"].width = 16
        by_period = wb.create_sheet("按时期")
        by_period.append(REPORTING_PERIOD_HEADERS)
        for cell in by_period[1]:
            cell.font = Font(bold=True)
        for s in series:
            for c in s.periods:
                by_period.append([s.unit.code, s.unit.name, c.period.code, c.expected, c.actual, c.on_time, c.rate,
                                  c.on_time_rate])
        for row in by_period.iter_rows(min_row=2, min_col=7, max_col=8):
            for cell in row:
                cell.number_format = "0.0"
        by_period.column_dimensions["A"].width = 16
        by_period.column_dimensions["B"].width = 16
        by_period.freeze_panes = "A2"
        buf = io.BytesIO()
        wb.save(buf)
        response = HttpResponse(buf.getvalue(),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@page
def violations(request):
    unit = _unit_from(request)
    start, end, error = _range_from(request, str(timezone.localdate().year))
    rows = selectors.value_rows_for(unit, start, end, for_rules=True)
    found = validation.violations_in(selectors.rules_active(), rows)
    names = dict(OrgUnit.objects.filter(code__in={v.org_unit for v in found}).values_list("code", "name"))
    return render(request, "aggregates/violations.html", {
        "section": "datasets", "unit": unit, "units": _scope_units(request.user), "start": start, "end": end,
        "error": error, "items": [(v, names.get(v.org_unit, v.org_unit)) for v in found], "rules": selectors.rules_active()})


@page
def outlier_page(request):
    unit = _unit_from(request)
    today = timezone.localdate()
    start, end, error = _range_from(request, Period.of(PeriodType.MONTH, today.year - 1, today.month).code)
    if not request.GET.get("end") and not error:
        end = Period.containing(PeriodType.MONTH, today)
    elements = list(DataElement.objects.order_by("code"))
    element = request.GET.get("element") or (elements[0].code if elements else "")
    coc = request.GET.get("coc", "")
    try:
        threshold = float(request.GET.get("threshold") or outliers.DEFAULT_THRESHOLD)
    except ValueError:
        threshold = outliers.DEFAULT_THRESHOLD
    rows = [r for r in selectors.value_rows_for(unit, start, end, [element])
            if (r.get("category_option_combo") or "") == coc]
    flagged = outliers.outliers_in(rows, threshold)
    names = dict(OrgUnit.objects.filter(code__in={k[2] for k in flagged}).values_list("code", "name"))
    series = [{"unit": u, "name": names.get(u, u), "points": pts, "count": sum(p.outlier for p in pts)}
              for (_e, _c, u), pts in flagged.items()]
    return render(request, "aggregates/outliers.html", {
        "section": "datasets", "unit": unit, "units": _scope_units(request.user), "start": start, "end": end,
        "error": error, "elements": elements, "element": element, "coc": coc, "threshold": threshold,
        "series": series})


@page
def exchange(request):
    """Export values (DHIS2 JSON or ADX XML) and import a DHIS2 dataValueSet or an ADX document, with a dry
    run."""
    import json

    from renkou.aggregates.models import CodeMapping

    systems = list(CodeMapping.objects.order_by("system").values_list("system", flat=True).distinct())
    ctx: dict = {"section": "datasets", "sets": list(selectors.data_sets()), "units": _scope_units(request.user),
                 "systems": systems, "summary": None, "import_error": ""}
    if request.method == "GET" and request.GET.get("format") in ("dhis2", "adx"):
        unit = _unit_from(request)
        start, end, error = _range_from(request, str(timezone.localdate().year))
        if not error:
            fmt = request.GET["format"]
            export = services.values_export(by=request.user, unit=unit, start=start, end=end, fmt=fmt,
                                            data_set=request.GET.get("data_set", ""),
                                            system=request.GET.get("system", ""))
            response = HttpResponse(export.content, content_type=export.content_type)
            name = f"values-{unit.code}-{start.code}-{end.code}.{'xml' if fmt == 'adx' else 'json'}"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        ctx["export_error"] = error
    if request.method == "POST":
        upload = request.FILES.get("file")
        content = upload.read() if upload else b""
        options = {"by": request.user, "system": request.POST.get("system", ""),
                   "dry_run": bool(request.POST.get("dry_run")), "atomic": bool(request.POST.get("atomic")),
                   "channel": "web"}
        payload = None
        if upload is None:
            ctx["import_error"] = _("Choose a DHIS2 dataValueSet (JSON) or an ADX (XML) file.")
        elif formats.is_xml(content):
            try:
                ctx["summary"] = services.adx_import(data=content, **options)
            except RuleViolation as exc:
                ctx["import_error"] = "; ".join(str(v.message) for v in violations_of(exc))
        else:
            try:
                payload = json.loads(content.decode("utf-8-sig"))
            except (ValueError, UnicodeDecodeError) as exc:
                ctx["import_error"] = _("The file is not JSON: %(error)s") % {"error": exc}
        if payload is not None:
            try:
                ctx["summary"] = services.dhis2_import(payload=payload, **options)
            except RuleViolation as exc:
                ctx["import_error"] = "; ".join(str(v.message) for v in violations_of(exc))
    ctx.setdefault("start", Period.parse(str(timezone.localdate().year)))
    ctx.setdefault("end", ctx["start"])
    ctx["unit"] = scope_for(request.user).unit
    status = 422 if ctx["import_error"] else 200
    return render(request, "aggregates/exchange.html", ctx, status=status)


# ---------------------------------------------------------------- code mappings


def _may_edit_mappings(user) -> bool:
    try:
        services.require_mapping_admin(user)
    except PermissionDenied:
        return False
    return True


@page
def mappings(request):
    """The code mappings per system: list, XLSX download and upload (county administrator and statistician)."""
    system = (request.GET.get("system") or "").strip()
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(services.mappings_xlsx(system), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="code-mappings{"-" + system if system else ""}.xlsx"'
        return response
    can_edit = _may_edit_mappings(request.user)
    import_form = MappingImportForm(request.POST or None, request.FILES or None)
    result, status = None, 200
    if request.method == "POST":
        services.require_mapping_admin(request.user)
        if import_form.is_valid():
            try:
                result = services.mappings_import_xlsx(by=request.user, content=import_form.cleaned_data["file"].read(),
                                                       dry_run=import_form.cleaned_data["dry_run"])
            except RuleViolation as exc:
                for v in violations_of(exc):
                    import_form.add_error(None, str(v.message) if v.field == "file" else f"{v.field}: {v.message}")
        if import_form.errors:
            status = 422
        elif result and not result.dry_run:
            messages.success(request, _("%(c)s mappings added, %(u)s changed, %(n)s unchanged.")
                             % {"c": result.created, "u": result.updated, "n": result.unchanged})
            return redirect("datasets_mappings")
    return render(request, "aggregates/mappings.html", {
        "section": "datasets", "mappings": list(selectors.mappings(system)), "systems": selectors.mapping_systems(),
        "system": system, "can_edit": can_edit, "import_form": import_form, "result": result}, status=status)


def _mapping_form_page(request, mapping=None):
    services.require_mapping_admin(request.user)
    initial = {k: getattr(mapping, k) for k in services.MAPPING_FIELDS} if mapping else {
        "system": request.GET.get("system", "")}
    form = CodeMappingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.mapping_save(by=request.user, data=form.cleaned_data,
                                          mapping_id=mapping.pk if mapping else None)
        except RuleViolation as exc:
            add_violations(form, exc)
        else:
            messages.success(request, _("The mapping %(code)s → %(id)s was saved.")
                             % {"code": saved.renkou_code or "—", "id": saved.external_id})
            return redirect(f"{reverse('datasets_mappings')}?{urlencode({'system': saved.system})}")
    return render(request, "aggregates/mapping_form.html", {"section": "datasets", "form": form, "mapping": mapping},
                  status=422 if form.errors else 200)


@page
def mapping_new(request):
    return _mapping_form_page(request)


@page
def mapping_edit(request, mapping_id: int):
    return _mapping_form_page(request, selectors.mapping_get(mapping_id))


@page
def mapping_delete(request, mapping_id: int):
    services.require_mapping_admin(request.user)
    mapping = selectors.mapping_get(mapping_id)
    if request.method == "POST":
        services.mapping_delete(by=request.user, mapping_id=mapping.pk)
        messages.success(request, _("The mapping was deleted."))
        return redirect(f"{reverse('datasets_mappings')}?{urlencode({'system': mapping.system})}")
    return render(request, "aggregates/mapping_delete.html", {"section": "datasets", "mapping": mapping})
