"""The officer's pages of the exchange (/exchange/): overview with rates and overdue alerts, inbox, outbox,
requests due with days left and the answer form, the unmatched queue, the two-way table, a person's history.
County-level officers only; views call one selector or service each."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from renkou.accounts.scope import scope_for
from renkou.accounts.services import audit_record
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation
from renkou.core.forms import add_violations
from renkou.core.views import page
from renkou.migrants import rules, selectors, services
from renkou.migrants.forms import AnswerForm
from renkou.orgunits.periods import Period, PeriodError, PeriodType
from renkou.registry.selectors import person_get_for_user

LIMIT = 200


def _county(request: HttpRequest) -> str:
    selectors.exchange_officer(request.user)
    return selectors.own_county_code()


def _period(request: HttpRequest) -> Period:
    text = request.GET.get("period", "").strip()
    if text:
        try:
            return Period.parse(text)
        except (PeriodError, ValueError):
            messages.error(request, _("Unknown period %(period)s: showing this year.") % {"period": text[:20]})
    return Period.containing(PeriodType.YEAR, timezone.localdate())


def _figures(r: rules.Rates) -> list[dict]:
    names = {"submission_rate": _("Submission rate"), "feedback_rate": _("Feedback rate"),
             "timeliness": _("Timeliness")}
    parts = {"submission_rate": (r.records_submitted, r.records_due),
             "feedback_rate": (r.requests_answered, r.requests_received),
             "timeliness": (r.answers_on_time, r.answers_given)}
    return [{"name": names[k], "value": getattr(r, k), "target": rules.TARGETS[k], "meets": r.meets(k),
             "numerator": parts[k][0], "denominator": parts[k][1]} for k in names]


@page
def overview(request):
    county = _county(request)
    period = _period(request)
    return render(request, "migrants/overview.html", {
        "section": "exchange", "county": county, "status": selectors.status(county), "period": period,
        "figures": _figures(selectors.county_rates(county, period)),
        "overdue": selectors.requests_due(county, overdue_only=True)[:20],
    })


@page
def inbox(request):
    county = _county(request)
    status = request.GET.get("status", "")
    return render(request, "migrants/messages.html", {
        "section": "exchange", "title": _("Inbox"), "incoming": True, "status": status,
        "rows": selectors.inbox_list(county, status=status)[:LIMIT]})


@page
def outbox(request):
    county = _county(request)
    return render(request, "migrants/messages.html", {
        "section": "exchange", "title": _("Outbox"), "incoming": False,
        "rows": selectors.outbox_list(county)[:LIMIT]})


@page
def requests_due(request):
    county = _county(request)
    rows = selectors.requests_due(county)[:LIMIT]
    audit_record(user=request.user, action="exchange.view", object_type="exchange_request",
                 detail={"ids": [d.request.pk for d in rows]})
    return render(request, "migrants/requests.html", {"section": "exchange", "rows": rows})


@page
def request_answer(request, request_id: int):
    county = _county(request)
    item = selectors.request_get(county, request_id)
    if item.role != "received":
        raise PermissionDenied
    form = AnswerForm(request.POST or None, fields=list(item.fields))
    if request.method == "POST":
        if not scope_for(request.user).can_write:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.request_answer(request=item, matched=form.cleaned_data["matched"],
                                        verified=form.verified(), note=form.cleaned_data["note"], by=request.user)
            except RuleViolation as exc:
                add_violations(form, exc)
            else:
                messages.success(request, _("The answer was sent to %(county)s.") % {"county": item.other_county_code})
                return redirect("exchange_requests")
    audit_record(user=request.user, action="exchange.view", object_type="exchange_request", object_id=str(item.pk))
    return render(request, "migrants/request_answer.html", {
        "section": "exchange", "item": item, "form": form,
        "days_left": rules.days_left(item.due_on, timezone.localdate())})


@page
def unmatched(request):
    county = _county(request)
    if request.method == "POST":
        if not scope_for(request.user).can_write:
            raise PermissionDenied
        try:
            services.unmatched_resolve(item=selectors.unmatched_get(county, int(request.POST.get("item", 0))),
                                       by=request.user)
            messages.success(request, _("Closed."))
        except (RuleViolation, ValueError):
            messages.error(request, _("This item is no longer waiting."))
        return redirect("exchange_unmatched")
    return render(request, "migrants/unmatched.html", {
        "section": "exchange", "rows": selectors.unmatched_list(county)[:LIMIT]})


@page
def dead(request):
    county = _county(request)
    if request.method == "POST":
        if not scope_for(request.user).can_write:
            raise PermissionDenied
        try:
            item = services.dead_letter_retry(item=selectors.dead_get(county, int(request.POST.get("item", 0))),
                                              by=request.user)
            messages.success(request, _("Applied again: %(status)s.") % {"status": item.get_status_display()})
        except RuleViolation as exc:
            messages.error(request, _("It failed again: %(error)s") % {"error": exc.message})
        except (NotFound, ValueError):
            messages.error(request, _("This message is no longer dead-lettered."))
        return redirect("exchange_dead")
    return render(request, "migrants/dead.html", {
        "section": "exchange", "rows": selectors.dead_list(county)[:LIMIT]})


@page
def two_way(request):
    county = _county(request)
    period = _period(request)
    return render(request, "migrants/two_way.html", {
        "section": "exchange", "period": period, "county": county, "targets": rules.TARGETS,
        "rows": selectors.two_way_table(county, period)})


@page
def person_history(request, person_id: int):
    county = _county(request)
    person = person_get_for_user(user=request.user, person_id=person_id)
    audit_record(user=request.user, action="exchange.history", object_type="person", object_id=str(person.pk))
    return render(request, "migrants/person_history.html", {
        "section": "exchange", "person": person, "rows": selectors.person_history(county, person.pk)})
