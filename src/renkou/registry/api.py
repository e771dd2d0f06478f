"""The register's JSON routes: persons, households, events and marriages (mounted at /api/v1/).

Each route parses its input, calls one selector or service and answers; the scope rules live in the selectors
(``person_get_for_user`` and its siblings: missing and out of scope are both 404) and the rules of the register
in the services. Every answer that shows personal data leaves an audit entry (see docs/api.md, "Audit"):
reading a person's record (VIEW, written by ``person_view``), revealing an ID number (REVEAL, with the purpose),
reading a household (VIEW_HOUSEHOLD) and every page of a list or an event (SEARCH, with the ids shown).
"""

from __future__ import annotations

import tempfile
from typing import Literal

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.params import Path

from renkou.accounts.models import AuditAction, User
from renkou.accounts.services import audit_record
from renkou.core import sheets
from renkou.core.errors import NotFound, RuleViolation
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.selectors import unit_get, unit_get_by_code
from renkou.registry import exports, services
from renkou.registry.idnumbers import mask_search_text
from renkou.registry.models import Household, Person
from renkou.registry.schemas import (
    MAX_ID,
    BirthIn,
    DeathIn,
    EventOut,
    EventPageOut,
    EventSearchIn,
    ExportFileIn,
    ExportIn,
    HouseholdDetailOut,
    HouseholdIn,
    HouseholdOut,
    HouseholdPageOut,
    HouseholdSearchIn,
    MarriageDetailOut,
    MarriageEndIn,
    MarriageIn,
    MoveInIn,
    MoveOutIn,
    PersonDetailOut,
    PersonIn,
    PersonOut,
    PersonPageOut,
    PersonSearchIn,
    PersonUpdateIn,
    RevealIn,
    RevealOut,
    answers,
)
from renkou.registry.selectors import (
    COUNT_CAP,
    PersonQuery,
    event_get_for_user,
    events_for_user,
    household_detail,
    household_get_for_user,
    households_for_user,
    marriage_get_for_user,
    person_get_for_user,
    person_search,
)

router = Router(tags=["register"])

CHANNEL = "api"
# Statuses a route may answer besides its success: 401 no or bad credentials, 403 a role without personal data
# (or without write access), 404 missing or outside the caller's area, 422 invalid input or a broken rule,
# 400 a body that is not JSON.
READ_ERRORS = (401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 422)

# --------------------------------------------------------------------------------------------------------------
# helpers: who asks, and turning references in the input into objects through the scoped selectors


def _caller(request: HttpRequest) -> User:
    return request.auth  # set by the authenticator of api.py (bearer token or session)


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _unit(code: str | None, field: str) -> OrgUnit | None:
    if code is None:
        return None
    unit = unit_get_by_code(code=code)
    if unit is None:
        raise RuleViolation(field, _("No unit has this code."), code="not_found")
    return unit


def _unit_filter(ref: str | None) -> OrgUnit | None:
    """A unit named in a query string, by code or id; an unknown one is 404 like an out-of-scope one."""
    if not ref:
        return None
    unit = unit_get_by_code(code=ref) if len(ref) >= 12 else unit_get(unit_id=int(ref))
    if unit is None:
        raise NotFound
    return unit


def _person(user: User, person_id: int | None, field: str) -> Person | None:
    if person_id is None:
        return None
    try:
        return person_get_for_user(user=user, person_id=person_id)
    except NotFound as exc:
        raise RuleViolation(field, _("No person with this id in your area."), code="not_found") from exc


def _household(user: User, household_id: int | None, field: str) -> Household | None:
    if household_id is None:
        return None
    try:
        return household_get_for_user(user=user, household_id=household_id)
    except NotFound as exc:
        raise RuleViolation(field, _("No household with this id in your area."), code="not_found") from exc


def _page(qs: QuerySet, page: int, page_size: int) -> dict:
    """One page of a queryset, counting at most COUNT_CAP matches (as person_search does)."""
    count = qs.order_by()[: COUNT_CAP + 1].count()
    start = (page - 1) * page_size
    rows = list(qs[start : start + page_size + 1])
    return {"items": rows[:page_size], "count": min(count, COUNT_CAP), "count_capped": count > COUNT_CAP,
            "page": page, "page_size": page_size, "num_pages": max(1, -(-min(count, COUNT_CAP) // page_size)),
            "has_next": len(rows) > page_size}


def _record_list(request: HttpRequest, *, object_type: str, query: dict, shown: list[int],
                 object_id: str = "", unit: OrgUnit | None = None) -> None:
    audit_record(user=_caller(request), action=AuditAction.SEARCH, object_type=object_type, object_id=object_id,
                 unit=unit, detail={"query": query, "shown": shown}, channel=CHANNEL, ip_address=_ip(request))


# --------------------------------------------------------------------------------------------------------------
# persons


@router.get("/persons", response=answers(200, PersonPageOut, *READ_ERRORS), summary="Search persons")
def persons_search(request, filters: Query[PersonSearchIn]):
    """Persons in the caller's area whose name or ID number begins with ``q`` (an 18-character ID number is
    matched exactly), living or registered in ``unit``'s subtree. ID numbers are masked. Each page is recorded
    in the audit log with the ids it showed."""
    user = _caller(request)
    unit = _unit_filter(filters.unit)
    result = person_search(
        user=user,
        query=PersonQuery(text=filters.q, unit_id=unit.pk if unit else None, household_number=filters.household,
                          include_dead=filters.include_dead),
        page=filters.page, page_size=filters.page_size,
    )
    _record_list(request, object_type="person", unit=unit, shown=[p.pk for p in result.rows],
                 query={"q": mask_search_text(filters.q), "household": filters.household,
                        "include_dead": filters.include_dead, "page": filters.page})
    return {"items": result.rows, "count": result.count, "count_capped": result.count_capped,
            "page": result.number, "page_size": result.page_size, "num_pages": result.num_pages,
            "has_next": result.has_next}


@router.get("/persons/{person_id}", response=answers(200, PersonDetailOut, *READ_ERRORS),
            summary="A person's record")
def person_get(request, person_id: int = Path(..., ge=1, le=MAX_ID)):
    """The person's record with household members, children, marriages and events. Writes a VIEW entry to the
    audit log."""
    user = _caller(request)
    detail = services.person_view(user=user, person_id=person_id, channel=CHANNEL, ip_address=_ip(request))
    return detail


@router.post("/persons", response=answers(201, PersonOut, *WRITE_ERRORS), summary="Register a person")
def person_create(request, payload: PersonIn):
    """Add a person. A wrong check character in the ID number answers 422 with code ``id_number.checksum``;
    resend with ``"confirm": ["id_number.checksum"]`` once the card has been checked."""
    user = _caller(request)
    person = services.person_create(
        by=user, name=payload.name, sex=payload.sex, birth_date=payload.birth_date, id_number=payload.id_number,
        ethnicity=payload.ethnicity, education=payload.education, marital_status=payload.marital_status,
        registration_type=payload.registration_type,
        household=_household(user, payload.household, "household"), relation_to_head=payload.relation_to_head,
        registration_unit=_unit(payload.registration_unit, "registration_unit"),
        residence_unit=_unit(payload.residence_unit, "residence_unit"), residence_status=payload.residence_status,
        other_county_code=payload.other_county_code, mother=_person(user, payload.mother, "mother"),
        father=_person(user, payload.father, "father"), confirm=payload.confirm, channel=CHANNEL,
    )
    return Status(201, person)


@router.patch("/persons/{person_id}", response=answers(200, PersonOut, *WRITE_ERRORS), summary="Correct a person")
def person_update(request, payload: PersonUpdateIn, person_id: int = Path(..., ge=1, le=MAX_ID)):
    """Change the fields sent (the others stay). ``version`` must be the one read: if someone changed the person
    meanwhile the answer is 422 with code ``conflict``."""
    user = _caller(request)
    person = person_get_for_user(user=user, person_id=person_id)
    sent = payload.dict(exclude_unset=True)
    version = sent.pop("version")
    confirm = sent.pop("confirm", [])
    changes = {}
    for field, value in sent.items():
        if field in ("registration_unit", "residence_unit"):
            value = _unit(value, field)
        elif field == "household":
            value = _household(user, value, field)
        changes[field] = value
    return services.person_update(by=user, person=person, changes=changes, confirm=confirm,
                                  expected_version=version, channel=CHANNEL)


@router.post("/persons/{person_id}/reveal-id-number", response=answers(200, RevealOut, *WRITE_ERRORS),
             summary="Reveal a person's full ID number")
def person_reveal_id_number(request, payload: RevealIn, person_id: int = Path(..., ge=1, le=MAX_ID)):
    """The full ID number, for a stated purpose; the purpose is written to the audit log."""
    number = services.person_reveal_id_number(user=_caller(request), person_id=person_id, purpose=payload.purpose,
                                              channel=CHANNEL, ip_address=_ip(request))
    return {"id_number": number or None}


# --------------------------------------------------------------------------------------------------------------
# households


@router.get("/households", response=answers(200, HouseholdPageOut, *READ_ERRORS), summary="List households")
def households_list(request, filters: Query[HouseholdSearchIn]):
    unit = _unit_filter(filters.unit)
    page = _page(households_for_user(user=_caller(request), unit=unit, text=filters.q), filters.page,
                 filters.page_size)
    _record_list(request, object_type="household", unit=unit, shown=[h.pk for h in page["items"]],
                 query={"q": filters.q, "page": filters.page})
    return page


@router.get("/households/{household_id}", response=answers(200, HouseholdDetailOut, *READ_ERRORS),
            summary="A household and its members")
def household_get(request, household_id: int = Path(..., ge=1, le=MAX_ID)):
    detail = household_detail(user=_caller(request), household_id=household_id)
    audit_record(user=_caller(request), action=AuditAction.VIEW_HOUSEHOLD, object_type="household",
                 object_id=str(detail.household.pk), unit_id=detail.household.unit_id,
                 detail={"shown": [m.pk for m in detail.members]}, channel=CHANNEL, ip_address=_ip(request))
    return detail


@router.post("/households", response=answers(201, HouseholdOut, *WRITE_ERRORS), summary="Register a household")
def household_create(request, payload: HouseholdIn):
    household = services.household_create(
        by=_caller(request), unit=_unit(payload.unit, "unit"), address=payload.address,
        registration_type=payload.registration_type, number=payload.number or None, channel=CHANNEL,
    )
    return Status(201, household)


# --------------------------------------------------------------------------------------------------------------
# events


@router.get("/events", response=answers(200, EventPageOut, *READ_ERRORS), summary="List events")
def events_list(request, filters: Query[EventSearchIn]):
    """Births, deaths and moves counted in the caller's area, newest first."""
    unit = _unit_filter(filters.unit)
    qs = events_for_user(user=_caller(request), kind=filters.kind or "", unit_id=unit.pk if unit else None,
                         date_from=filters.date_from, date_to=filters.date_to)
    page = _page(qs, filters.page, filters.page_size)
    shown = sorted({pid for e in page["items"] for pid in (e.person_id, e.mother_id, e.father_id) if pid})
    _record_list(request, object_type="event", unit=unit, shown=shown,
                 query={"kind": filters.kind or "", "page": filters.page,
                        "date_from": filters.date_from.isoformat() if filters.date_from else "",
                        "date_to": filters.date_to.isoformat() if filters.date_to else ""})
    return page


@router.post("/events/births", response=answers(201, EventOut, *WRITE_ERRORS), summary="Register a birth")
def birth_register(request, payload: BirthIn):
    """A live birth also creates the child's record (``person`` in the answer)."""
    user = _caller(request)
    event = services.birth_register(
        by=user, mother=_person(user, payload.mother, "mother"), born_on=payload.born_on, sex=payload.sex,
        live_born=payload.live_born, name=payload.name, father=_person(user, payload.father, "father"),
        id_number=payload.id_number, place=payload.place, unit=_unit(payload.unit, "unit"),
        ethnicity=payload.ethnicity, household=_household(user, payload.household, "household"),
        confirm=payload.confirm, channel=CHANNEL,
    )
    return Status(201, event)


@router.post("/events/deaths", response=answers(201, EventOut, *WRITE_ERRORS), summary="Register a death")
def death_register(request, payload: DeathIn):
    user = _caller(request)
    event = services.death_register(by=user, person=_person(user, payload.person, "person"),
                                    died_on=payload.died_on, unit=_unit(payload.unit, "unit"), note=payload.note,
                                    channel=CHANNEL)
    return Status(201, event)


@router.post("/events/moves-out", response=answers(201, EventOut, *WRITE_ERRORS), summary="Register a move away")
def move_out_register(request, payload: MoveOutIn):
    """To another village of the county (``to_unit``) or to another county (``to_county``)."""
    user = _caller(request)
    event = services.move_out_register(
        by=user, person=_person(user, payload.person, "person"), moved_on=payload.moved_on,
        to_unit=_unit(payload.to_unit, "to_unit"), to_county=payload.to_county,
        registration_moved=payload.registration_moved, note=payload.note, channel=CHANNEL,
    )
    return Status(201, event)


@router.post("/events/moves-in", response=answers(201, EventOut, *WRITE_ERRORS),
             summary="Register an arrival from another county")
def move_in_register(request, payload: MoveInIn):
    """A returning person (``person``) or a newcomer (``new_person``), living here from ``from_county``."""
    user = _caller(request)
    event = services.move_in_register(
        by=user, moved_on=payload.moved_on, to_unit=_unit(payload.to_unit, "to_unit"),
        from_county=payload.from_county, person=_person(user, payload.person, "person"),
        household=_household(user, payload.household, "household"),
        new_person=payload.new_person.dict() if payload.new_person is not None else None,
        confirm=payload.confirm, note=payload.note, channel=CHANNEL,
    )
    return Status(201, event)


# After the literal /events/... paths: the first pattern that matches takes the request.
@router.get("/events/{event_id}", response=answers(200, EventOut, *READ_ERRORS), summary="An event")
def event_get(request, event_id: int = Path(..., ge=1, le=MAX_ID)):
    event = event_get_for_user(user=_caller(request), event_id=event_id)
    _record_list(request, object_type="event", object_id=str(event.pk), query={},
                 shown=[pid for pid in (event.person_id, event.mother_id, event.father_id) if pid])
    return event


# --------------------------------------------------------------------------------------------------------------
# marriages


@router.post("/marriages", response=answers(201, MarriageDetailOut, *WRITE_ERRORS), summary="Register a marriage")
def marriage_register(request, payload: MarriageIn):
    user = _caller(request)
    marriage = services.marriage_register(
        by=user, husband=_person(user, payload.husband, "husband"), wife=_person(user, payload.wife, "wife"),
        married_on=payload.married_on, unit=_unit(payload.unit, "unit"), channel=CHANNEL,
    )
    return Status(201, marriage)


@router.post("/marriages/{marriage_id}/end", response=answers(200, MarriageDetailOut, *WRITE_ERRORS),
             summary="End a marriage by divorce or annulment")
def marriage_end(request, payload: MarriageEndIn, marriage_id: int = Path(..., ge=1, le=MAX_ID)):
    """A marriage ended by a death is ended by registering the death."""
    user = _caller(request)
    marriage = marriage_get_for_user(user=user, marriage_id=marriage_id)
    return services.marriage_end(by=user, marriage=marriage, ended_on=payload.ended_on, reason=payload.reason,
                                 channel=CHANNEL)


# --------------------------------------------------------------------------------------------------------------
# exports


FILE_ANSWER = {
    "responses": {200: {"description": "The file (XLSX or CSV, UTF-8 with BOM), as an attachment",
                          "content": {sheets.CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
                                      "text/csv": {"schema": {"type": "string", "format": "binary"}}}}},
}


def file_answer(request: HttpRequest, *, kind, filters: dict[str, str], filters_in: ExportFileIn) -> HttpResponse:
    """Write the export to a temporary file and stream it (shared with the quality router)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FileResponse
    try:
        outcome = exports.export_write(user=_caller(request), kind=kind, filters=filters, fmt=filters_in.format,
                                       out=out, purpose=filters_in.purpose, reveal=filters_in.reveal,
                                       channel=CHANNEL, ip_address=_ip(request))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    response = FileResponse(out, as_attachment=True, filename=outcome.filename, content_type=outcome.content_type)
    response["X-Export-Rows"] = str(outcome.rows)
    response["Cache-Control"] = "no-store"
    return response


@router.get("/exports/{kind}", response=answers(200, None, *READ_ERRORS), summary="Export a list to XLSX or CSV",
            openapi_extra=FILE_ANSWER)
def list_export(request, filters: Query[ExportIn], kind: Literal["persons", "events", "households"] = Path(...)):
    """The list ``kind`` with the filters of its page (persons: q, unit, household, include_dead; events:
    event_kind, unit, period, date_from, date_to; households: unit, q), every match, as an XLSX or CSV attachment.
    ID numbers masked unless ``reveal`` is true with a ``purpose`` and the caller's role may reveal; each export is
    recorded in the audit log (filters, format, row count, masked or revealed)."""
    values = {"q": filters.q, "unit": filters.unit or "", "household": filters.household,
              "include_dead": "1" if filters.include_dead else "", "kind": filters.event_kind or "",
              "period": filters.period, "date_from": filters.date_from.isoformat() if filters.date_from else "",
              "date_to": filters.date_to.isoformat() if filters.date_to else ""}
    wanted = {"persons": ("q", "unit", "household", "include_dead"),
              "events": ("kind", "unit", "period", "date_from", "date_to"), "households": ("unit", "q")}[kind]
    return file_answer(request, kind=kind, filters={k: values[k] for k in wanted}, filters_in=filters)
