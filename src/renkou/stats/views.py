"""Pages of the statistics module: the dashboard (forms, charts), report downloads, indicator definitions,
publication of periods and what would change in a published period. Aggregates only."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from renkou.accounts.scope import scope_for
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation
from renkou.core.forms import add_violations
from renkou.core.views import page
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.periods import Period, PeriodError
from renkou.stats import selectors, services
from renkou.stats.elements import AGE5
from renkou.stats.forms import IndicatorForm, PublishForm
from renkou.stats.reports import FORMS, report_build, to_csv, to_xlsx
from renkou.stats.services import FIELDS
from renkou.stats.snapshot import snapshot_pinned

TREND_YEARS = 10
TREND_ELEMENTS = ("LIVE_BIRTHS", "DEATHS", "MOVES_IN", "MOVES_OUT")


def _unit(request) -> OrgUnit:
    scope = scope_for(request.user)
    code = (request.GET.get("unit") or "").strip()
    unit = OrgUnit.objects.filter(code=code).first() if code else scope.unit
    if unit is None or not scope.covers(unit.pk):
        raise NotFound
    return unit


def _period(request) -> Period:
    text = (request.GET.get("period") or "").strip()
    if not text:
        return Period.parse(str(timezone.localdate().year - 1))
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise Http404(str(exc)) from None


def _charts(unit: OrgUnit, period: Period, children: list[OrgUnit]) -> dict:
    """Data of the dashboard's charts, from the same cube as the forms."""
    years = [Period.parse(str(period.end.year - k)) for k in range(TREND_YEARS - 1, -1, -1)]
    trend_cube = selectors.cube_for(years, [unit.code], elements=TREND_ELEMENTS)
    trend = {
        "labels": [p.code for p in years],
        "series": [
            {"name": _("Live births"), "data": [trend_cube.value(("LIVE_BIRTHS", ""), unit.code, p.code)
                                                 for p in years]},
            {"name": _("Deaths"), "data": [trend_cube.value(("DEATHS", ""), unit.code, p.code) for p in years]},
            {"name": _("Moves in"), "data": [trend_cube.value(("MOVES_IN", ""), unit.code, p.code) for p in years]},
            {"name": _("Moves out"), "data": [trend_cube.value(("MOVES_OUT", ""), unit.code, p.code)
                                               for p in years]},
        ],
    }
    cube = selectors.cube_for([period], [unit.code, *[c.code for c in children]])
    pyramid = {"labels": [o.name_zh for o in AGE5.options], "menLabel": _("Men"), "womenLabel": _("Women"),
               "men": [cube.value(("POP_END_AGE5", f"{o.code}.MALE"), unit.code, period.code) for o in AGE5.options],
               "women": [cube.value(("POP_END_AGE5", f"{o.code}.FEMALE"), unit.code, period.code)
                         for o in AGE5.options]}
    rates = selectors.indicator_values(cube.aligned([(c.code, period.code) for c in children]),
                                       selectors.indicators_list().filter(code__in=["CBR", "SRB", "TFR"]))
    compare = {"labels": [c.name for c in children],
               "series": [{"name": _("Crude birth rate (‰)"), "data": _clean(rates["CBR"].value)}],
               "srb": _clean(rates["SRB"].value),
               "births": [cube.value(("LIVE_BIRTHS", ""), c.code, period.code) for c in children],
               "srbLabel": _("Sex ratio at birth")} if "CBR" in rates and "SRB" in rates else None
    return {"trend": trend, "pyramid": pyramid, "compare": compare}


def _clean(arr) -> list:
    return [None if v != v else float(v) for v in arr]  # NaN → null


def _unit_choices(request) -> list[OrgUnit]:
    scope = scope_for(request.user)
    return list(OrgUnit.objects.filter(pk__in=scope.unit_ids, level__lte=2).order_by("level", "code"))


@page
@snapshot_pinned()
def dashboard(request):
    unit = _unit(request)
    period = _period(request)
    form = request.GET.get("form") or "pop_births"
    if form not in FORMS:
        raise Http404
    table = report_build(form, unit, period)
    children = list(OrgUnit.objects.filter(parent=unit).order_by("code"))
    return render(request, "stats/dashboard.html", {
        "section": "stats", "unit": unit, "period": period, "form_code": form, "forms": FORMS, "table": table,
        "header_top": table.header_cells()[0], "header_bottom": table.header_cells()[1],
        "rows": [(r, table.cells(r)) for r in table.rows], "charts": _charts(unit, period, children), "units": _unit_choices(request),
        "query": f"unit={unit.code}&period={period.code}",
    })


@page
@snapshot_pinned()
def report_download(request, form: str, fmt: str):
    if form not in FORMS or fmt not in {"xlsx", "csv"}:
        raise Http404
    table = report_build(form, _unit(request), _period(request))
    name = f"{form}-{table.unit.code}-{table.period.code}.{fmt}"
    if fmt == "xlsx":
        response = HttpResponse(to_xlsx(table), content_type="application/vnd.openxmlformats-officedocument."
                                                              "spreadsheetml.sheet")
    else:
        response = HttpResponse(to_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@page
def indicator_list(request):
    """The definitions, with each one's value for the chosen unit and period against its target."""
    unit = _unit(request)
    period = _period(request)
    rows = selectors.indicator_table(unit.code, period)
    return render(request, "stats/indicators.html", {
        "section": "stats", "rows": rows, "unit": unit, "period": period, "units": _unit_choices(request),
        "can_edit": _can_edit(request.user)})


def _can_edit(user) -> bool:
    try:
        services.require_statistician(user)
    except PermissionDenied:  # the page just hides the edit links
        return False
    return True


def _save(request, form: IndicatorForm, *, code: str, create: bool):
    data = {k: form.cleaned_data.get(k) for k in FIELDS}
    data["interval"] = data.get("interval") or ""
    try:
        services.indicator_save(by=request.user, code=code, data=data, create=create)
    except RuleViolation as exc:
        add_violations(form, exc)
        return None
    messages.success(request, _("The indicator %(code)s was saved.") % {"code": code.upper()})
    return redirect("stats_indicators")


@page
def indicator_new(request):
    services.require_statistician(request.user)
    form = IndicatorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _save(request, form, code=form.cleaned_data["code"], create=True)
        if done:
            return done
    return render(request, "stats/indicator_form.html", {"section": "stats", "form": form, "creating": True})


@page
def indicator_edit(request, code: str):
    services.require_statistician(request.user)
    indicator = selectors.indicator_get(code)
    if indicator is None:
        raise NotFound
    initial = {"code": indicator.code, **{k: getattr(indicator, k) for k in FIELDS}}
    form = IndicatorForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        done = _save(request, form, code=indicator.code, create=False)
        if done:
            return done
    return render(request, "stats/indicator_form.html", {"section": "stats", "form": form, "creating": False,
                                                          "indicator": indicator})


@page
def publish(request):
    can = _can_edit(request.user)
    form = PublishForm(request.POST or None)
    if request.method == "POST":
        services.require_statistician(request.user)
        if form.is_valid():
            try:
                pub = services.period_publish(by=request.user, period=form.cleaned_data["period"])
            except RuleViolation as exc:
                add_violations(form, exc)
            else:
                messages.success(request, _("Period %(period)s published: %(n)s values frozen.")
                                 % {"period": pub.period, "n": pub.values_count})
                return redirect("stats_publish")
    return render(request, "stats/publish.html", {
        "section": "stats", "form": form, "can_publish": can,
        "published": selectors.published_periods().values()})


@page
def changes(request, period: str):
    try:
        p = Period.parse(period)
    except PeriodError:
        raise Http404 from None
    if p.code not in selectors.published_periods([p.code]):
        raise NotFound
    scope = scope_for(request.user)
    units = {u.code: u for u in OrgUnit.objects.filter(pk__in=scope.unit_ids)}
    rows = selectors.period_changes(p, list(units))
    for r in rows:
        r["unit_name"] = units[r["org_unit"]].name
    return render(request, "stats/changes.html", {"section": "stats", "period": p, "rows": rows,
                                                  "published": selectors.published_periods([p.code])[p.code]})
