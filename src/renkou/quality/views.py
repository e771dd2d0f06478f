"""Pages of data quality: the figures of a unit with a table of its child units (drill down from the county to a
village), and the records behind each figure (paged, masked, exportable). Aggregate viewers see the counts only."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.shortcuts import render

from renkou.accounts.models import AuditAction
from renkou.accounts.scope import scope_for
from renkou.accounts.services import audit_record
from renkou.core.errors import NotFound
from renkou.core.views import client_ip, page
from renkou.orgunits.selectors import unit_get
from renkou.quality import selectors
from renkou.quality.checks import CHECKS
from renkou.quality.exports import quality_export_kind
from renkou.registry.exports import export_http_response, may_reveal
from renkou.registry.selectors import PAGE_SIZE


def _unit_param(request: HttpRequest):
    raw = request.GET.get("unit", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise NotFound
    unit = unit_get(unit_id=int(raw))
    if unit is None or not scope_for(request.user).covers(unit.pk):
        raise NotFound
    return unit


@page
def quality_unit(request):
    report = selectors.quality_report(user=request.user, unit=_unit_param(request))
    groups: dict[str, list] = {}
    for check in report.checks:
        groups.setdefault(str(check.group), []).append(check)
    return render(request, "quality/unit.html", {
        "section": "quality", "report": report, "groups": groups,
        "personal_data": scope_for(request.user).personal_data,
        # checks whose records another module lists (duplicates: its review queue)
        "links": {c.key: c.link(report.unit) for c in report.checks if c.link is not None},
    })


@page
def quality_records(request, key: str):
    unit = _unit_param(request)
    qs = selectors.check_records(user=request.user, key=key, unit=unit)
    target = unit or scope_for(request.user).unit
    paginator = Paginator(qs.select_related("residence_unit", "registration_unit", "household", "mother"), PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    rows = list(page_obj.object_list)
    audit_record(user=request.user, action=AuditAction.SEARCH, object_type="person", unit=target,
                 detail={"query": {"quality_check": key, "page": page_obj.number}, "shown": [p.pk for p in rows]},
                 channel="web", ip_address=client_ip(request))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "quality/records.html", {
        "section": "quality", "check": CHECKS[key], "unit": target, "rows": rows, "page_obj": page_obj,
        "export_query": params.urlencode(), "can_reveal": may_reveal(request.user),
    })


@page
def quality_export(request, key: str):
    if key not in CHECKS or not CHECKS[key].lists_persons:
        raise NotFound
    filters = {"check": key, "unit": request.GET.get("unit", "")}
    return export_http_response(request, kind=quality_export_kind(key), filters=filters)
