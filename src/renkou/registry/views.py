"""Pages of the register: home counts, person search, person and household pages, and the forms that
register births, deaths, moves and marriages.

Views stay thin: parse a form, call one selector or service, render or redirect. Personal data comes only
through ``registry.selectors`` and ``registry.services`` (which check the user's area and write the audit log);
``renkou.core.views.page`` turns NotFound into 404 and PermissionDenied into 403.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkou.accounts.models import AuditAction
from renkou.accounts.scope import scope_for
from renkou.accounts.services import audit_record
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation
from renkou.core.forms import NON_FIELD, add_violations
from renkou.core.views import client_ip, is_htmx, page
from renkou.orgunits.selectors import unit_county, unit_get, unit_tree, units_by_ids
from renkou.registry import exports, selectors, services
from renkou.registry.codes import code_name
from renkou.registry.forms import (
    BirthForm,
    DeathForm,
    EventListForm,
    HouseholdListForm,
    MarriageEndForm,
    MarriageForm,
    MoveInReturnForm,
    MoveOutForm,
    NewcomerForm,
    PersonEditForm,
    PersonSearchForm,
    RevealForm,
    unit_choices,
    village_choices,
)
from renkou.registry.idnumbers import mask, mask_search_text
from renkou.registry.models import Person, ResidenceStatus
from renkou.registry.selectors_charts import population_pyramid

HISTORY_ACTIONS = {
    "create": gettext_lazy("Registered"),
    "birth": gettext_lazy("Born (registered)"),
    "birth_given": gettext_lazy("Gave birth"),
    "death": gettext_lazy("Death registered"),
    "widowed": gettext_lazy("Widowed"),
    "move_out": gettext_lazy("Moved out"),
    "move_in": gettext_lazy("Moved in"),
    "marriage": gettext_lazy("Married"),
    "marriage_end": gettext_lazy("Marriage ended"),
    "update": gettext_lazy("Corrected"),
}
# Code list of each person field whose history shows codes.
HISTORY_CODE_LISTS = {"sex": "sex", "ethnicity": "ethnicity", "education": "education",
                      "marital_status": "marital_status", "relation_to_head": "relation"}
HISTORY_UNIT_FIELDS = {"residence_unit", "registration_unit"}


# ---------------------------------------------------------------------------------------------- helpers

def _require_writer(request: HttpRequest) -> None:
    if not scope_for(request.user).can_write:
        raise PermissionDenied


def _age(birth: date, on: date | None = None) -> int:
    on = on or timezone.localdate()
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _current_spouse(detail: selectors.PersonDetail) -> Person | None:
    for m in detail.marriages:
        if m.ended_on is None:
            return m.wife if m.husband_id == detail.person.pk else m.husband
    return None


def _villages_in_scope(request: HttpRequest) -> list:
    root = scope_for(request.user).unit
    return village_choices(unit_tree(root)) if root is not None else []


def _villages_of_county() -> list:
    county = unit_county()
    return village_choices(unit_tree(county)) if county is not None else []


def _done(request: HttpRequest, person_id: int, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("person_detail", person_id=person_id)


# ---------------------------------------------------------------------------------------------- home

@page
def home(request):
    """The counts of the user's area (or of one unit in it): aggregates only, for every role."""
    scope = scope_for(request.user)
    unit = _unit_param(request)
    counts = selectors.scope_counts(user=request.user, unit=unit)
    return render(request, "registry/home.html", {
        "section": "home", "counts": counts, "area": unit or scope.unit, "unit": unit,
        "year": timezone.localdate().year,
    })


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
def home_chart(request):
    """Fragment: the population pyramid of the area, loaded after the page (it is the slowest figure)."""
    unit = _unit_param(request)
    pyramid = population_pyramid(user=request.user, unit=unit)
    data = {
        "labels": pyramid.labels, "men": pyramid.men, "women": pyramid.women,
        "menLabel": _("Men"), "womenLabel": _("Women"),
    }
    template = "registry/_population_chart.html" if is_htmx(request) else "registry/population_chart_page.html"
    return render(request, template, {"section": "home", "pyramid": pyramid, "chart_data": data})


# ---------------------------------------------------------------------------------------------- search

def _search(request: HttpRequest) -> dict:
    if not scope_for(request.user).personal_data:
        raise PermissionDenied  # as the selector would: aggregate viewers search nobody, not even an empty form
    form = PersonSearchForm(request.GET or None)
    result = None
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        query = selectors.PersonQuery(text=d["q"], unit_id=d["unit"], household_number=d["household"],
                                      include_dead=d["include_dead"])
        if query.text.strip() or query.unit_id or query.household_number.strip():
            try:
                number = max(1, int(request.GET.get("page", "1")))
            except ValueError:
                number = 1
            result = selectors.person_search(user=request.user, query=query, page=number)
            # A page of persons is personal data shown: recorded like the API's searches.
            audit_record(user=request.user, action=AuditAction.SEARCH, object_type="person", unit_id=query.unit_id,
                         detail={"query": {"q": mask_search_text(query.text), "household": query.household_number,
                                           "include_dead": query.include_dead, "page": number},
                                 "shown": [p.pk for p in result.rows]},
                         channel="web", ip_address=client_ip(request))
    # a person of the area may belong to a household of another one: its number is shown, not linked
    return {"form": form, "result": result, "area_ids": scope_for(request.user).unit_ids,
            "export_query": export_query(request, "persons"), "can_reveal": exports.may_reveal(request.user)}


@page
def person_search(request):
    context = _search(request)
    root = scope_for(request.user).unit
    context["form"].set_units(unit_choices(unit_tree(root) if root else None))
    context["section"] = "persons"
    return render(request, "registry/person_search.html", context)


@page
def person_search_results(request):
    """Fragment for htmx: only the results, from the same selector; the address bar follows the search."""
    response = render(request, "registry/_person_results.html", _search(request))
    query = request.GET.urlencode()
    response["HX-Push-Url"] = reverse("person_search") + (f"?{query}" if query else "")
    return response


# ---------------------------------------------------------------------------------------------- person

def _history_rows(detail: selectors.PersonDetail) -> list[dict]:
    unit_ids = {v for h in detail.history for f, pair in h.changes.items() if f in HISTORY_UNIT_FIELDS
                for v in pair if isinstance(v, int)}
    units = units_by_ids(sorted(unit_ids)) if unit_ids else {}

    def show(field: str, value):
        if value is None or value == "":
            return "—"
        if field in HISTORY_CODE_LISTS:
            return code_name(HISTORY_CODE_LISTS[field], str(value))
        if field in HISTORY_UNIT_FIELDS and value in units:
            return units[value].name
        if field == "residence_status" and value in ResidenceStatus.values:
            return ResidenceStatus(value).label
        if field == "id_number":
            # history_record masks it; a row written any other way (an import, an older version) must not
            # show the number either
            return mask(str(value))
        return value

    rows = []
    for h in detail.history:
        changes = []
        for f, pair in h.changes.items():
            before, after = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
            try:
                label = Person._meta.get_field(f).verbose_name
            except Exception:  # noqa: BLE001 - a key that is no model field (e.g. "birth")
                label = {"birth": _("Birth")}.get(f, f)
            changes.append({"label": label, "before": show(f, before), "after": show(f, after)})
        rows.append({"entry": h, "action": HISTORY_ACTIONS.get(h.action, h.action), "changes": changes})
    return rows


def _visible_ids(request: HttpRequest, persons) -> set[int]:
    """Which of the persons named on a page the user may open: the others are named without a link."""
    return {p.pk for p in selectors.persons_visible_to(request.user, [p for p in persons if p is not None])}


def _person_context(request: HttpRequest, detail: selectors.PersonDetail) -> dict:
    p = detail.person
    scope = scope_for(request.user)
    related = [p.mother, p.father, *detail.household_members, *detail.children,
               *(m.husband for m in detail.marriages), *(m.wife for m in detail.marriages),
               *(e.person for e in detail.events)]
    current_marriage = next((m for m in detail.marriages if m.ended_on is None), None)
    lives_here = p.residence_status in {ResidenceStatus.RESIDENT, ResidenceStatus.IN}
    return {
        "section": "persons",
        "detail": detail,
        "person": p,
        "age": _age(p.birth_date, p.death_date),
        "current_marriage": current_marriage,
        "history_rows": _history_rows(detail),
        "can_write": scope.can_write,
        "can_register_birth": scope.can_write and p.sex == "2" and p.alive,
        "can_register_death": scope.can_write and p.alive,
        "can_move_out": scope.can_write and p.alive and lives_here,
        "can_move_in": scope.can_write and p.alive and not lives_here,
        "can_marry": scope.can_write and p.alive and current_marriage is None and p.sex in {"1", "2"},
        "reveal_form": RevealForm(),
        "visible_ids": _visible_ids(request, related),
        "household_visible": p.household is not None and scope.covers(p.household.unit_id),
    }


@page
def person_detail(request, person_id: int):
    """The person's record; opening it writes a VIEW entry to the audit log (person_view)."""
    detail = services.person_view(user=request.user, person_id=person_id, channel="web",
                                  ip_address=client_ip(request))
    return render(request, "registry/person_detail.html", _person_context(request, detail))


@page
def person_reveal(request, person_id: int):
    """Show the full ID number once, for a stated purpose (recorded in the audit log)."""
    person = selectors.person_get_for_user(user=request.user, person_id=person_id)
    form = RevealForm(request.POST or None)
    revealed = None
    if request.method == "POST" and form.is_valid():
        try:
            revealed = services.person_reveal_id_number(
                user=request.user, person_id=person.pk, purpose=form.cleaned_data["purpose"], channel="web",
                ip_address=client_ip(request))
        except RuleViolation as exc:
            add_violations(form, exc)
    context = {"section": "persons", "person": person, "reveal_form": form, "revealed": revealed}
    template = "registry/_id_number.html" if is_htmx(request) else "registry/person_reveal.html"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


@page
def person_edit(request, person_id: int):
    _require_writer(request)
    person = selectors.person_get_for_user(user=request.user, person_id=person_id)
    initial = {f: getattr(person, f) for f in PersonEditForm.record_fields} | {"version": person.version}
    form = PersonEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = form.changes_from(person)
        if not changes:
            messages.info(request, _("Nothing was changed."))
            return redirect("person_detail", person_id=person.pk)
        try:
            services.person_update(by=request.user, person=person, changes=changes, confirm=form.confirmed,
                                   expected_version=form.cleaned_data["version"], channel="web")
        except RuleViolation as exc:
            add_violations(form, exc, {"version": NON_FIELD})
        else:
            return _done(request, person.pk, _("The record of %(name)s was corrected.") % {"name": person.name})
    return render(request, "registry/person_edit.html", {"section": "persons", "person": person, "form": form})


# ---------------------------------------------------------------------------------------------- household

@page
def household_detail(request, household_id: int):
    detail = services.household_view(user=request.user, household_id=household_id, channel="web",
                                     ip_address=client_ip(request))
    h = detail.household
    return render(request, "registry/household_detail.html", {
        "section": "persons", "detail": detail, "household": h, "visible_ids": _visible_ids(request, [h.head]),
        # the members as the search for this household finds them (the living and the dead)
        "export_query": urlencode({"household": h.number, "include_dead": "on"}),
        "can_reveal": exports.may_reveal(request.user),
    })


# ---------------------------------------------------------------------------------------------- events

@page
def birth_register(request, person_id: int):
    """Register a birth from the mother's page."""
    _require_writer(request)
    detail = selectors.person_detail(user=request.user, person_id=person_id)
    mother = detail.person
    husband = _current_spouse(detail) if mother.sex == "2" else None
    form = BirthForm(request.POST or None, husband=husband)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        father_field = "father_id_number" if d["father_choice"] == "id_number" else "father_choice"
        try:
            father = None
            if d["father_choice"] == "husband":
                father = husband
            elif d["father_choice"] == "id_number":
                father = _person_by_id_number(request, d["father_id_number"], "father")
            event = services.birth_register(
                by=request.user, mother=mother, born_on=d["born_on"], sex=d["sex"], live_born=d["live_born"],
                name=d["name"], father=father, id_number=d["id_number"] or None, place=d["place"],
                confirm=form.confirmed, channel="web")
        except RuleViolation as exc:
            add_violations(form, exc, {"father": father_field})
        else:
            if event.person_id:
                text = _("The birth of %(child)s was registered.") % {"child": event.person.name}
            else:
                text = _("The stillbirth was registered.")
            return _done(request, mother.pk, text)
    return render(request, "registry/event_form.html", {
        "section": "persons", "person": mother, "form": form, "title": _("Register a birth"),
        "submit": _("Register the birth"), "form_id": "birth-form",
    })


def _person_by_id_number(request: HttpRequest, id_number: str, field: str) -> Person:
    try:
        return selectors.person_get_by_id_number_for_user(user=request.user, id_number=id_number)
    except NotFound as exc:
        raise RuleViolation(field, _("No person with this ID number is on the register of your area.")) from exc


@page
def death_register(request, person_id: int):
    _require_writer(request)
    person = selectors.person_get_for_user(user=request.user, person_id=person_id)
    form = DeathForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.death_register(by=request.user, person=person, died_on=form.cleaned_data["died_on"],
                                    note=form.cleaned_data["note"], channel="web")
        except RuleViolation as exc:
            add_violations(form, exc)
        else:
            return _done(request, person.pk, _("The death of %(name)s was registered.") % {"name": person.name})
    return render(request, "registry/event_form.html", {
        "section": "persons", "person": person, "form": form, "title": _("Register a death"),
        "submit": _("Register the death"), "form_id": "death-form",
    })


@page
def move_out_register(request, person_id: int):
    _require_writer(request)
    person = selectors.person_get_for_user(user=request.user, person_id=person_id)
    form = MoveOutForm(request.POST or None, villages=_villages_of_county())
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        within = d["destination"] == "unit"
        try:
            to_unit = None
            if within:
                to_unit = unit_get(unit_id=d["to_unit"])
                if to_unit is None:
                    raise RuleViolation("to_unit", _("Choose the village or community."))
            services.move_out_register(
                by=request.user, person=person, moved_on=d["moved_on"], to_unit=to_unit,
                to_county="" if within else d["to_county"], registration_moved=d["registration_moved"],
                note=d["note"], channel="web")
        except RuleViolation as exc:
            add_violations(form, exc)
        else:
            return _done(request, person.pk, _("The move of %(name)s was registered.") % {"name": person.name})
    return render(request, "registry/event_form.html", {
        "section": "persons", "person": person, "form": form, "title": _("Register a move out"),
        "submit": _("Register the move"), "form_id": "move-out-form",
    })


@page
def move_in_return(request, person_id: int):
    """A person of the register who lived in another county comes back (or a departed one returns)."""
    _require_writer(request)
    person = selectors.person_get_for_user(user=request.user, person_id=person_id)
    form = MoveInReturnForm(request.POST or None, villages=_villages_in_scope(request),
                            initial={"from_county": person.other_county_code})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.move_in_register(by=request.user, person=person, moved_on=d["moved_on"],
                                      to_unit=_unit_in_scope(request, d["to_unit"], "to_unit"),
                                      from_county=d["from_county"], note=d["note"], channel="web")
        except RuleViolation as exc:
            add_violations(form, exc)
        else:
            return _done(request, person.pk, _("The return of %(name)s was registered.") % {"name": person.name})
    return render(request, "registry/event_form.html", {
        "section": "persons", "person": person, "form": form, "title": _("Register a move in"),
        "submit": _("Register the move"), "form_id": "move-in-form",
    })


def _unit_in_scope(request: HttpRequest, unit_id: int | None, field: str):
    unit = unit_get(unit_id=unit_id) if unit_id else None
    if unit is None or not scope_for(request.user).covers(unit.pk):
        raise RuleViolation(field, _("This unit is outside your area."))
    return unit


@page
def move_in_newcomer(request):
    """Someone new to the register arrives from another county."""
    _require_writer(request)
    form = NewcomerForm(request.POST or None, villages=_villages_in_scope(request))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            household = None
            if d["household_number"].strip():
                try:
                    household = selectors.household_get_by_number_for_user(user=request.user,
                                                                           number=d["household_number"])
                except NotFound as exc:
                    raise RuleViolation("household_number",
                                        _("No household with this number is on the register of your area.")) from exc
            new_person = {k: d[k] for k in ("name", "sex", "birth_date", "ethnicity", "marital_status", "education")}
            new_person.update(id_number=d["id_number"] or None, relation_to_head=d["relation_to_head"] if household else "")
            event = services.move_in_register(
                by=request.user, moved_on=d["moved_on"], to_unit=_unit_in_scope(request, d["to_unit"], "to_unit"),
                from_county=d["from_county"], household=household, new_person=new_person, confirm=form.confirmed,
                note=d["note"], channel="web")
        except RuleViolation as exc:
            add_violations(form, exc, {"residence_unit": "to_unit", "other_county_code": "from_county",
                                       "household": "household_number"})
        else:
            return _done(request, event.person_id, _("%(name)s was registered as moving in.") % {"name": d["name"]})
    return render(request, "registry/event_form.html", {
        "section": "persons", "person": None, "form": form, "title": _("Register a newcomer"),
        "submit": _("Register the move"), "form_id": "newcomer-form",
    })


# ---------------------------------------------------------------------------------------------- marriages

@page
def marriage_register(request, person_id: int):
    _require_writer(request)
    person = selectors.person_get_for_user(user=request.user, person_id=person_id)
    form = MarriageForm(request.POST or None)
    person_is_husband = person.sex == "1"
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            spouse = _person_by_id_number(request, d["spouse_id_number"], "spouse_id_number")
            husband, wife = (person, spouse) if person_is_husband else (spouse, person)
            services.marriage_register(by=request.user, husband=husband, wife=wife, married_on=d["married_on"],
                                       channel="web")
        except RuleViolation as exc:
            spouse_role = "wife" if person_is_husband else "husband"
            add_violations(form, exc, {spouse_role: "spouse_id_number"})
        else:
            return _done(request, person.pk, _("The marriage of %(name)s was registered.") % {"name": person.name})
    return render(request, "registry/event_form.html", {
        "section": "persons", "person": person, "form": form, "title": _("Register a marriage"),
        "submit": _("Register the marriage"), "form_id": "marriage-form",
    })


@page
def marriage_end(request, marriage_id: int):
    _require_writer(request)
    marriage = selectors.marriage_get_for_user(user=request.user, marriage_id=marriage_id)
    # Back to the spouse whose page the officer came from, if it is one of the two the officer may open
    # (one of them may live in another township: marriage_get_for_user needs only one in the area).
    spouses = [s.pk for s in selectors.persons_visible_to(request.user, [marriage.wife, marriage.husband])]
    back = request.GET.get("person") or request.POST.get("person") or ""
    back_id = int(back) if back.isdigit() and int(back) in spouses else None
    back_id = back_id or spouses[0]
    form = MarriageEndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.marriage_end(by=request.user, marriage=marriage, ended_on=form.cleaned_data["ended_on"],
                                  reason=form.cleaned_data["reason"], channel="web")
        except RuleViolation as exc:
            add_violations(form, exc)
        else:
            return _done(request, back_id, _("The end of the marriage was registered."))
    return render(request, "registry/event_form.html", {
        "section": "persons", "person": None, "marriage": marriage, "back_id": back_id, "form": form,
        "title": _("End a marriage"), "submit": _("Register the end"), "form_id": "marriage-end-form",
    })



# ---------------------------------------------------------------------------------------------- lists and exports

# The filters each exportable list takes from the query string: the same names as its page's form.
EXPORT_FILTERS = {
    "persons": ("q", "unit", "household", "include_dead"),
    "events": ("kind", "unit", "period", "date_from", "date_to"),
    "households": ("unit", "q"),
}


def export_query(request: HttpRequest, kind: str) -> str:
    """The page's filters as a query string for its export buttons (without the page number)."""
    params = request.GET.copy()
    for key in list(params):
        if key not in EXPORT_FILTERS[kind]:
            del params[key]
    return params.urlencode()


def _page_of(request: HttpRequest, qs) -> tuple[list, bool, int]:
    """The rows of the page asked for (``?page=``, 50 a page), whether a next page exists, and its number."""
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    start = (number - 1) * selectors.PAGE_SIZE
    page_rows = list(qs[start : start + selectors.PAGE_SIZE + 1])
    return page_rows[: selectors.PAGE_SIZE], len(page_rows) > selectors.PAGE_SIZE, number


@page
def household_list(request):
    """The households of the area (or of a unit), by number or address, 50 a page, with their head and the
    number of members living in them; exported with the same filters."""
    scope = scope_for(request.user)
    if not scope.personal_data:
        raise PermissionDenied
    form = HouseholdListForm(request.GET)
    form.set_units(unit_choices(unit_tree(scope.unit) if scope.unit else None))
    rows, has_next, number = [], False, 1
    if form.is_valid():
        d = form.cleaned_data
        unit = unit_get(unit_id=d["unit"]) if d["unit"] else None
        if d["unit"] and unit is None:
            raise NotFound
        qs = selectors.households_with_members(selectors.households_for_user(
            user=request.user, unit=unit, text=d["q"] or ""))
        rows, has_next, number = _page_of(request, qs)
        audit_record(user=request.user, action=AuditAction.SEARCH, object_type="household", unit_id=d["unit"],
                     detail={"query": {"q": d["q"] or "", "page": number}, "shown": [h.pk for h in rows]},
                     channel="web", ip_address=client_ip(request))
    return render(request, "registry/household_list.html", {
        "section": "households", "form": form, "rows": rows, "has_next": has_next, "number": number,
        "export_query": export_query(request, "households"), "can_reveal": exports.may_reveal(request.user),
        "visible_ids": _visible_ids(request, [h.head for h in rows if h.head]),
    })


@page
def export_list(request, kind: str):
    """XLSX or CSV of a list, with the page's filters (GET: masked; POST with a purpose: revealed)."""
    if kind not in EXPORT_FILTERS:
        raise NotFound
    filters = {k: request.GET.get(k, "") for k in EXPORT_FILTERS[kind]}
    return exports.export_http_response(request, kind=kind, filters=filters)


@page
def event_list(request):
    """The events of the area, by kind, unit and period (a period's births, deaths and moves), 50 a page."""
    if not scope_for(request.user).personal_data:
        raise PermissionDenied
    root = scope_for(request.user).unit
    form = EventListForm(request.GET)  # no filter: every event of the area, newest first
    form.set_units(unit_choices(unit_tree(root) if root else None))
    rows, has_next, number, period = [], False, 1, None
    if form.is_valid():
        d = form.cleaned_data
        period = d["period"]
        qs = selectors.events_for_user(user=request.user, kind=d["kind"], unit_id=d["unit"],
                                       date_from=period.start if period else None,
                                       date_to=period.end if period else None)
        rows, has_next, number = _page_of(request, qs)
        audit_record(user=request.user, action=AuditAction.SEARCH, object_type="event", unit_id=d["unit"],
                     detail={"query": {"kind": d["kind"], "period": period.code if period else "", "page": number},
                             "shown": sorted({pid for e in rows for pid in (e.person_id, e.mother_id) if pid})},
                     channel="web", ip_address=client_ip(request))
    return render(request, "registry/event_list.html", {
        "section": "events", "form": form, "rows": rows, "has_next": has_next, "number": number, "period": period,
        "export_query": export_query(request, "events"), "can_reveal": exports.may_reveal(request.user),
        "visible_ids": _visible_ids(request, [p for e in rows for p in (e.person, e.mother)]),
    })
