"""Pages of the duplicate queue (重复登记): the pending pairs by score, one pair side by side, merge or mark as
two people, run a scan. Thin: each view calls one selector or service (dedup.selectors / dedup.services)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from renkou.core.errors import PermissionDenied, RuleViolation
from renkou.core.views import page
from renkou.dedup import selectors, services
from renkou.registry.codes import code_name

FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "birth_date": gettext_lazy("Birth date"),
    "id_number": gettext_lazy("ID number"),
    "sex": gettext_lazy("Sex"),
    "unit": gettext_lazy("Village"),
}
LEVEL_LABELS = {
    "missing": gettext_lazy("missing on one record"),
    "exact": gettext_lazy("the same"),
    "sounds_alike": gettext_lazy("sounds the same (same pinyin)"),
    "one_character": gettext_lazy("one character differs"),
    "one_slip": gettext_lazy("one digit slipped or swapped"),
    "day_month_swapped": gettext_lazy("day and month swapped"),
    "same_digits": gettext_lazy("same digits in another order"),
    "same_year": gettext_lazy("same year only"),
    "one_digit": gettext_lazy("one digit off, check character wrong"),
    "one_missing": gettext_lazy("one record has no ID number"),
    "same_village": gettext_lazy("the same village"),
    "same_township": gettext_lazy("the same township"),
    "different": gettext_lazy("different"),
}
AGREEMENT_LABELS = {
    "exact": gettext_lazy("agree"),
    "close": gettext_lazy("nearly agree"),
    "differ": gettext_lazy("differ"),
    "missing": gettext_lazy("cannot compare"),
}


def _rows(pair) -> list[dict]:
    a, b = selectors.side_of(pair.person_a), selectors.side_of(pair.person_b)
    explained = {r["field"]: r for r in selectors.explanation_rows(pair)}
    values = {
        "name": (a.name, b.name),
        "birth_date": (a.birth_date, b.birth_date),
        "id_number": (a.id_number, b.id_number),
        "sex": (code_name("sex", a.sex), code_name("sex", b.sex)),
        "unit": (a.unit, b.unit),
    }
    rows = []
    for field, (va, vb) in values.items():
        e = explained[field]
        rows.append({"field": field, "label": FIELD_LABELS[field], "a": va, "b": vb, "agree": e["agree"],
                     "agree_label": AGREEMENT_LABELS[e["agree"]], "level_label": LEVEL_LABELS.get(e["level"], ""),
                     "weight": e["weight"]})
    rows.append({"field": "household", "label": _("Household"), "a": a.household, "b": b.household, "agree": "", "agree_label": "",
                 "level_label": "", "weight": None})
    return rows


@page
def queue(request):
    qs = selectors.pairs_for_user(user=request.user)
    paginator = Paginator(qs, selectors.PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    pairs = list(current.object_list)
    selectors.audit_pair_read(user=request.user, pairs=pairs, channel="web", what="duplicate_queue")
    items = [{"pair": p, "a": selectors.side_of(p.person_a), "b": selectors.side_of(p.person_b)} for p in pairs]
    services.scans_mark_interrupted()
    return render(request, "dedup/queue.html", {"section": "duplicates", "items": items, "page": current,
                                                "last_scan": selectors.last_scan(),
                                                "scan": selectors.scan_to_show()})


@page
def scan_status(request, scan_id: int):
    """The scan's state, polled by the queue page while it runs (htmx)."""
    if not request.user.writes_register:
        raise PermissionDenied
    services.scans_mark_interrupted()
    return render(request, "dedup/_scan_status.html", {"scan": selectors.scan_get(scan_id)})


@page
def pair_detail(request, pair_id: int):
    pair = selectors.pair_get_for_user(user=request.user, pair_id=pair_id)
    selectors.audit_pair_read(user=request.user, pairs=[pair], channel="web", what="duplicate_pair")
    return render(request, "dedup/pair_detail.html", {
        "section": "duplicates", "pair": pair, "rows": _rows(pair), "percent": round(100 * pair.score, 1),
        "error": None})


@require_POST
@page
def pair_merge(request, pair_id: int):
    pair = selectors.pair_get_for_user(user=request.user, pair_id=pair_id)
    survivor = request.POST.get("survivor", "")
    try:
        if not survivor.isdigit():
            raise RuleViolation("survivor", _("Choose the record to keep."))
        kept = services.pair_merge(by=request.user, pair_id=pair.pk, survivor_id=int(survivor),
                                   purpose=request.POST.get("purpose", "")[:200], channel="web")
    except RuleViolation as exc:
        return render(request, "dedup/pair_detail.html", {
            "section": "duplicates", "pair": pair, "rows": _rows(pair), "percent": round(100 * pair.score, 1),
            "error": exc.message}, status=422)
    messages.success(request, _("The two records were merged into %(name)s (record %(id)d).")
                     % {"name": kept.name, "id": kept.pk})
    return redirect("dedup_queue")


@require_POST
@page
def pair_distinct(request, pair_id: int):
    pair = selectors.pair_get_for_user(user=request.user, pair_id=pair_id)
    try:
        services.pair_mark_distinct(by=request.user, pair_id=pair.pk, channel="web")
    except RuleViolation as exc:
        messages.error(request, exc.message)
        return redirect("dedup_queue")
    messages.success(request, _("Marked as two different people; this pair will not be shown again."))
    return redirect("dedup_queue")


@require_POST
@page
def scan(request):
    if not request.user.writes_register:
        raise PermissionDenied
    try:
        services.scan_start(by=request.user, channel="web")
    except RuleViolation as exc:
        messages.error(request, exc.message)
    return redirect("dedup_queue")
