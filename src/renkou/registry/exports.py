"""Exports of the register's lists (persons, events, households) to XLSX or CSV: in scope, masked, audited.

One function, ``export_write``, serves the pages, the API and ``renkou export``: it reads the rows through the
same selectors as the on-screen lists (``persons_for_export`` takes the search's own query, uncapped;
``events_for_user``; ``households_for_user``), so the scope rules are the ones of the pages; it masks ID numbers
unless the caller's role may reveal them in bulk (``REVEAL_ROLES``) and states a purpose; it writes the file with
``renkou.core.sheets``; and it records one EXPORT entry in the audit log (kind, filters, format, row count, masked or
revealed, purpose) in the same transaction. Aggregate viewers export nothing (PermissionDenied).

Rows are read with ``values_list`` and ``iterator(chunk_size=…)``: one query per export, no model instances, and
memory that does not grow with the list. Other modules (quality) pass their own ``ExportKind``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkou.accounts.models import AuditAction, Role, User
from renkou.accounts.scope import scope_for
from renkou.accounts.services import audit_record
from renkou.core import sheets
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.periods import Period, PeriodError
from renkou.orgunits.selectors import unit_get, unit_get_by_code
from renkou.registry import selectors
from renkou.registry.codes import code_lists
from renkou.registry.idnumbers import mask, mask_search_text
from renkou.registry.models import EventKind, RegistrationType, ResidenceStatus

# Roles that may take full ID numbers away in a file (with a purpose). A village reporter sees single numbers
# on a person's page for a purpose, but a bulk list of full numbers leaves only with township or county staff.
REVEAL_ROLES = frozenset({Role.COUNTY_ADMIN, Role.STATISTICIAN, Role.TOWNSHIP_OFFICER})
MIN_PURPOSE_LENGTH = 2
CHUNK_SIZE = 2000

IdShow = Callable[[str | None], str]


def may_reveal(user: User) -> bool:
    return bool(user.is_authenticated and user.sees_personal_data and user.role in REVEAL_ROLES)


@dataclass(frozen=True)
class ExportKind:
    """One exportable list: how its filters are read, its columns, and its rows (values in column order)."""

    name: str
    title: Any  # lazy text: the sheet's title
    parse: Callable[[User, Mapping[str, str]], dict[str, Any]]
    columns: Callable[[], list[sheets.Column]]
    rows: Callable[[User, dict[str, Any], IdShow], Iterable[tuple]]


@dataclass(frozen=True)
class ExportOutcome:
    rows: int
    revealed: bool
    filename: str
    content_type: str
    audit_id: int


# ------------------------------------------------------------------------------------------------- filters


def unit_filter(user: User, value: str | None, field: str = "unit") -> OrgUnit | None:
    """A unit by id or statistical code; unknown or outside the user's area is NotFound, as on the pages."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit() and len(value) < 12:
        unit = unit_get(unit_id=int(value))
    else:
        unit = unit_get_by_code(code=value)
    if unit is None or not scope_for(user).covers(unit.pk):
        raise NotFound
    return unit


def _bool(value: Any) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on", "y"}


def _date(value: str | None, field: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise RuleViolation(field, _("Write the date as YYYY-MM-DD.")) from exc


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


# ------------------------------------------------------------------------------------------------- persons


def _persons_parse(user: User, filters: Mapping[str, str]) -> dict[str, Any]:
    unit = unit_filter(user, filters.get("unit"))
    return {"query": selectors.PersonQuery(text=(filters.get("q") or "").strip(), unit_id=unit.pk if unit else None,
                                           household_number=(filters.get("household") or "").strip(),
                                           include_dead=_bool(filters.get("include_dead"))),
            "unit": unit}


def person_columns() -> list[sheets.Column]:
    C = sheets.Column
    return [
        C(_("Name"), width=10), C(_("Sex"), width=6), C(_("Date of birth"), sheets.DATE, 12),
        C(_("ID number"), sheets.ID_NUMBER, 21), C(_("Ethnicity"), width=8), C(_("Marital status"), width=10),
        C(_("Household number"), width=16), C(_("Relation to head"), width=10),
        C(_("Registered in"), width=14), C(_("Lives in"), width=14), C(_("Residence status"), width=14),
        C(_("Date of death"), sheets.DATE, 12),
    ]


PERSON_FIELDS = ("name", "sex", "birth_date", "id_number", "ethnicity", "marital_status", "household__number",
                 "relation_to_head", "registration_unit__name", "residence_unit__name", "residence_status",
                 "death_date")


def person_rows(values: Iterable[tuple], show_id: IdShow) -> Iterable[tuple]:
    """Rows of ``PERSON_FIELDS`` values turned into what the officer reads (code names, masked numbers)."""
    codes = code_lists()
    sex, ethnicity = codes.get("sex", {}), codes.get("ethnicity", {})
    marital, relation = codes.get("marital_status", {}), codes.get("relation", {})
    status = _labels(ResidenceStatus.choices)
    for (name, sx, born, number, eth, ms, household, rel, reg_unit, res_unit, st, died) in values:
        yield (name, sex.get(sx, sx), born, show_id(number), ethnicity.get(eth, eth), marital.get(ms, ms),
               household or "", relation.get(rel, rel), reg_unit or "", res_unit or "", status.get(st, st), died)


def _persons_rows(user: User, parsed: dict[str, Any], show_id: IdShow) -> Iterable[tuple]:
    qs = selectors.persons_for_export(user=user, query=parsed["query"])
    return person_rows(qs.values_list(*PERSON_FIELDS).iterator(chunk_size=CHUNK_SIZE), show_id)


# ------------------------------------------------------------------------------------------------- events


def _events_parse(user: User, filters: Mapping[str, str]) -> dict[str, Any]:
    unit = unit_filter(user, filters.get("unit"))
    kind = (filters.get("kind") or "").strip()
    if kind and kind not in EventKind.values:
        raise RuleViolation("kind", _("Unknown kind of event; choose one of %(kinds)s.")
                            % {"kinds": ", ".join(EventKind.values)})
    date_from, date_to = _date(filters.get("date_from"), "date_from"), _date(filters.get("date_to"), "date_to")
    period = (filters.get("period") or "").strip()
    if period:
        try:
            p = Period.parse(period)
        except PeriodError as exc:
            raise RuleViolation("period", str(exc)) from exc
        date_from, date_to = max(filter(None, [date_from, p.start])), min(filter(None, [date_to, p.end]))
    return {"unit": unit, "kind": kind, "date_from": date_from, "date_to": date_to, "period": period}


def event_columns() -> list[sheets.Column]:
    C = sheets.Column
    return [
        C(_("Date"), sheets.DATE, 12), C(_("Kind"), width=8), C(_("Name"), width=10),
        C(_("ID number"), sheets.ID_NUMBER, 21), C(_("Sex"), width=6), C(_("Mother"), width=10),
        C(_("Father"), width=10), C(_("Live born"), width=8), C(_("Birth order"), sheets.INTEGER, 8),
        C(_("Unit"), width=14), C(_("From"), width=14), C(_("To"), width=14), C(_("Note"), width=24),
    ]


EVENT_FIELDS = ("date", "kind", "person__name", "person__id_number", "sex", "person__sex", "mother__name",
                "father__name", "live_born", "birth_order", "unit__name", "from_unit__name", "from_county",
                "to_unit__name", "to_county", "note")


def _events_rows(user: User, parsed: dict[str, Any], show_id: IdShow) -> Iterable[tuple]:
    qs = selectors.events_for_user(user=user, kind=parsed["kind"], unit_id=parsed["unit"].pk if parsed["unit"] else None,
                                   date_from=parsed["date_from"], date_to=parsed["date_to"])
    sex = code_lists().get("sex", {})
    kinds = _labels(EventKind.choices)
    yes, no = _("yes"), _("no")
    for (day, kind, name, number, ev_sex, person_sex, mother, father, live, order, unit, from_unit, from_county,
         to_unit, to_county, note) in qs.values_list(*EVENT_FIELDS).iterator(chunk_size=CHUNK_SIZE):
        s = ev_sex or person_sex or ""
        yield (day, kinds.get(kind, kind), name or "", show_id(number), sex.get(s, s), mother or "", father or "",
               "" if live is None else (yes if live else no), order, unit or "", from_unit or from_county or "",
               to_unit or to_county or "", note)


# ------------------------------------------------------------------------------------------------- households


def _households_parse(user: User, filters: Mapping[str, str]) -> dict[str, Any]:
    return {"unit": unit_filter(user, filters.get("unit")), "q": (filters.get("q") or "").strip()}


def household_columns() -> list[sheets.Column]:
    C = sheets.Column
    return [C(_("Household number"), width=16), C(_("Address"), width=28), C(_("Unit"), width=14),
            C(_("Registration type"), width=12), C(_("Head of household"), width=10)]


def _households_rows(user: User, parsed: dict[str, Any], show_id: IdShow) -> Iterable[tuple]:
    qs = selectors.households_for_user(user=user, unit=parsed["unit"], text=parsed["q"])
    types = _labels(RegistrationType.choices)
    for number, address, unit, rtype, head in qs.values_list(
            "number", "address", "unit__name", "registration_type", "head__name").iterator(chunk_size=CHUNK_SIZE):
        yield number, address, unit or "", types.get(rtype, rtype), head or ""


KINDS: dict[str, ExportKind] = {
    "persons": ExportKind("persons", gettext_lazy("Persons"), _persons_parse, person_columns, _persons_rows),
    "events": ExportKind("events", gettext_lazy("Events"), _events_parse, event_columns, _events_rows),
    "households": ExportKind("households", gettext_lazy("Households"), _households_parse, household_columns,
                             _households_rows),
}


# ------------------------------------------------------------------------------------------------- the export


def _audit_filters(filters: Mapping[str, str]) -> dict[str, str]:
    # typed text may hold an ID number: kept masked in the log, like the searches
    return {k: mask_search_text(str(v)) if k == "q" else str(v) for k, v in filters.items() if v not in (None, "")}


def export_filename(kind: ExportKind, parsed: dict[str, Any], fmt: str) -> str:
    unit = parsed.get("unit")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"{kind.name}-{unit.code if unit else 'all'}-{stamp}.{fmt}"


def export_write(
    *, user: User, kind: str | ExportKind, filters: Mapping[str, str], fmt: str, out: BinaryIO,
    purpose: str = "", reveal: bool = False, channel: str = "web", ip_address: str | None = None,
) -> ExportOutcome:
    """Write the list to ``out`` (a binary file) and record the export. Raises PermissionDenied for a role
    without personal data (or asking to reveal without the right), NotFound for a unit outside the area and
    RuleViolation for a bad filter, a missing purpose or an unknown format — before anything is written."""
    spec = KINDS.get(kind) if isinstance(kind, str) else kind
    if spec is None:
        raise RuleViolation("kind", _("Unknown list; choose one of %(kinds)s.") % {"kinds": ", ".join(KINDS)})
    if fmt not in sheets.FORMATS:
        raise RuleViolation("format", _("Choose the format xlsx or csv."))
    if not scope_for(user).personal_data:
        raise PermissionDenied
    purpose = (purpose or "").strip()
    if reveal:
        if not may_reveal(user):
            raise PermissionDenied
        if len(purpose) < MIN_PURPOSE_LENGTH:
            raise RuleViolation("purpose", _("State why the full ID numbers are needed."))
    parsed = spec.parse(user, filters)
    show_id: IdShow = (lambda n: n or "") if reveal else mask
    with transaction.atomic():
        count = sheets.write(fmt, out, title=str(spec.title), columns=spec.columns(),
                             rows=spec.rows(user, parsed, show_id))
        unit = parsed.get("unit")
        entry = audit_record(
            user=user, action=AuditAction.EXPORT, object_type=spec.name, unit=unit,
            purpose=purpose[:200] if reveal else "",
            detail={"filters": _audit_filters(filters), "format": fmt, "rows": count,
                    "id_numbers": "revealed" if reveal else "masked"},
            channel=channel, ip_address=ip_address)
    return ExportOutcome(rows=count, revealed=reveal, filename=export_filename(spec, parsed, fmt),
                         content_type=sheets.content_type(fmt), audit_id=entry.pk)


# ------------------------------------------------------------------------------------------------- the pages' edge


def export_http_response(request, *, kind: str | ExportKind, filters: Mapping[str, str]):
    """The file download of a page's export button: GET gives the masked list; POST with ``reveal=1`` and a
    ``purpose`` gives full ID numbers to a role that may reveal. The file is written to a temporary file first
    (rows counted, audit row written), then streamed from it: memory stays flat for any length.

    A missing purpose or a bad filter comes back to the page it was asked from, with the message."""
    import tempfile

    from django.contrib import messages
    from django.http import FileResponse
    from django.shortcuts import redirect
    from django.utils.http import url_has_allowed_host_and_scheme

    from renkou.core.views import client_ip

    data = request.POST if request.method == "POST" else request.GET
    fmt = (data.get("format") or "xlsx").strip()
    reveal = request.method == "POST" and data.get("reveal") == "1"
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FileResponse (or below on error)
    try:
        outcome = export_write(user=request.user, kind=kind, filters=filters, fmt=fmt, out=out,
                               purpose=data.get("purpose", ""), reveal=reveal, channel="web",
                               ip_address=client_ip(request))
    except RuleViolation as exc:
        out.close()
        messages.error(request, str(exc.message))
        back = data.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            back = "/"
        return redirect(back)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    response = FileResponse(out, as_attachment=True, filename=outcome.filename, content_type=outcome.content_type)
    response["Cache-Control"] = "no-store"
    response["X-Export-Rows"] = str(outcome.rows)
    return response
