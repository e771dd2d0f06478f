"""Writes of aggregate data: values of a form, completion, and the DHIS2 dataValueSet import. Each is one
transaction with its audit entry."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from renkou.accounts.models import AuditAction, Role
from renkou.accounts.scope import scope_for
from renkou.accounts.services import audit_record
from renkou.aggregates import selectors
from renkou.aggregates.formats import dhis2_parse
from renkou.aggregates.models import (
    CodeMapping,
    CompleteRegistration,
    DataElement,
    DataSet,
    DataValue,
    MappingKind,
    ValueType,
)
from renkou.core.errors import NotFound, PermissionDenied, Problems, RuleViolation
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.periods import Period, PeriodError

MAX_TEXT = 255
_INT_RE = re.compile(r"^[+-]?\d+$")


def value_clean(element: DataElement, raw, *, field: str) -> str:
    """The value as stored text, or RuleViolation naming the field. "" means: no value."""
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return ""
    vt = element.value_type
    if vt in (ValueType.INTEGER, ValueType.NON_NEGATIVE_INTEGER):
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            text = text.split(".")[0]
        if not _INT_RE.match(text):
            raise RuleViolation(field, _("“%(value)s” is not a whole number.") % {"value": text}, code="value.type")
        number = int(text)
        if vt == ValueType.NON_NEGATIVE_INTEGER and number < 0:
            raise RuleViolation(field, _("The value may not be negative."), code="value.negative")
        return str(number)
    if vt in (ValueType.NUMBER, ValueType.NON_NEGATIVE_NUMBER):
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
        if number != number or number in (float("inf"), float("-inf")):
            raise RuleViolation(field, _("“%(value)s” is not a number.") % {"value": text}, code="value.type")
        if vt == ValueType.NON_NEGATIVE_NUMBER and number < 0:
            raise RuleViolation(field, _("The value may not be negative."), code="value.negative")
        return str(int(number)) if number.is_integer() else repr(number)
    if len(text) > MAX_TEXT:
        raise RuleViolation(field, _("The text is longer than %(max)s characters.") % {"max": MAX_TEXT},
                            code="value.length")
    return text


def _check_entry(by, data_set: DataSet, unit: OrgUnit) -> None:
    """The user may enter for this unit (role and area), and the data set is assigned to it."""
    if not selectors.may_enter(by) or not scope_for(by).covers(unit.pk):
        raise PermissionDenied
    if not selectors.assigned_units(data_set).filter(pk=unit.pk).exists():
        raise RuleViolation("unit", _("Data set %(ds)s is not assigned to unit %(code)s.")
                            % {"ds": data_set.code, "code": unit.code}, code="unit.not_assigned")


def _check_period(data_set: DataSet, period_code: str, field: str = "period") -> Period:
    try:
        period = selectors.period_of(data_set, period_code)
    except PeriodError as exc:
        raise RuleViolation(field, str(exc), code="period") from None
    if period.start > timezone.localdate():
        raise RuleViolation(field, _("%(period)s has not begun; values cannot be entered for future periods.")
                            % {"period": period.code}, code="period.future")
    return period


@dataclass
class SaveResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    changes: list[dict] = field(default_factory=list)


def values_save(*, by, data_set: DataSet, unit: OrgUnit, period: str, entries: Mapping[str, object],
                channel: str = "web") -> SaveResult:
    """Store a form's values. ``entries`` maps a field (``CODE`` for a total, ``CODE.COC`` for a
    disaggregation) to its value; "" or None removes a value. Every entry is checked first; nothing is written
    when one is wrong (RuleViolations naming each field)."""
    _check_entry(by, data_set, unit)
    p = _check_period(data_set, period)
    allowed = selectors.data_set_element_cocs(data_set)
    problems = Problems()
    cleaned: dict[tuple[str, str], str] = {}
    for key, raw in entries.items():
        code, _dot, coc = str(key).partition(".")
        if code not in allowed or coc not in allowed[code][1]:
            problems.add(RuleViolation(str(key), _("“%(field)s” is not a field of data set %(ds)s.")
                                       % {"field": key, "ds": data_set.code}, code="field.unknown"))
            continue
        try:
            cleaned[(code, coc)] = value_clean(allowed[code][0], raw, field=str(key))
        except RuleViolation as exc:
            problems.add(exc)
    problems.raise_if_any()
    result = SaveResult()
    with transaction.atomic():
        stored = {(v.element.code, v.category_option_combo): v for v in DataValue.objects.select_related(
            "element").filter(element__in=[e for e, _c in allowed.values()], unit=unit, period=p.code)}
        creates, updates, deletes = [], [], []
        for (code, coc), text in cleaned.items():
            old = stored.get((code, coc))
            if old is None and text == "":
                continue
            if old is not None and old.value == text:
                result.unchanged += 1
                continue
            result.changes.append({"field": f"{code}.{coc}" if coc else code,
                                   "old": old.value if old else "", "new": text})
            if old is None:
                creates.append(DataValue(element=allowed[code][0], category_option_combo=coc, unit=unit,
                                         period=p.code, value=text, stored_by=by))
            elif text == "":
                deletes.append(old.pk)
            else:
                old.value, old.stored_by, old.updated_at = text, by, timezone.now()
                updates.append(old)
        DataValue.objects.bulk_create(creates)
        DataValue.objects.bulk_update(updates, ["value", "stored_by", "updated_at"])
        DataValue.objects.filter(pk__in=deletes).delete()
        result.created, result.updated, result.deleted = len(creates), len(updates), len(deletes)
        if result.changes:
            audit_record(user=by, action=AuditAction.UPDATE, object_type="datavalues",
                         object_id=f"{data_set.code}/{unit.code}/{p.code}", unit=unit, channel=channel,
                         detail={"changes": result.changes[:200]})
    return result


def complete_register(*, by, data_set: DataSet, unit: OrgUnit, period: str, channel: str = "web"
                      ) -> CompleteRegistration:
    """Mark a form complete (idempotent: a second mark keeps the first time)."""
    _check_entry(by, data_set, unit)
    p = _check_period(data_set, period)
    with transaction.atomic():
        reg, created = CompleteRegistration.objects.get_or_create(
            data_set=data_set, unit=unit, period=p.code,
            defaults={"completed_at": timezone.now(), "completed_by": by})
        if created:
            audit_record(user=by, action=AuditAction.CREATE, object_type="completion",
                         object_id=f"{data_set.code}/{unit.code}/{p.code}", unit=unit, channel=channel)
    return reg


def complete_undo(*, by, data_set: DataSet, unit: OrgUnit, period: str, channel: str = "web") -> bool:
    _check_entry(by, data_set, unit)
    p = _check_period(data_set, period)
    with transaction.atomic():
        deleted, _n = CompleteRegistration.objects.filter(data_set=data_set, unit=unit, period=p.code).delete()
        if deleted:
            audit_record(user=by, action=AuditAction.UPDATE, object_type="completion",
                         object_id=f"{data_set.code}/{unit.code}/{p.code}", unit=unit, channel=channel,
                         detail={"uncompleted": True})
    return bool(deleted)


# ---------------------------------------------------------------- DHIS2 import


def import_summary(*, dry_run: bool, imported: int, updated: int, ignored: int, conflicts: list[dict]) -> dict:
    """The summary in DHIS2's shape (``importCount``, ``conflicts``), with renkou's ``dryRun``."""
    status = "SUCCESS" if not conflicts else ("ERROR" if imported + updated == 0 else "WARNING")
    return {"status": status, "dryRun": dry_run,
            "importCount": {"imported": imported, "updated": updated, "ignored": ignored, "deleted": 0},
            "conflicts": conflicts}


def dhis2_import(*, by, payload: Mapping, system: str = "", dry_run: bool = False, atomic: bool = False,
                 channel: str = "api") -> dict:
    """Import a DHIS2 dataValueSet. Entries with a conflict (unknown element, option combo or unit, a period
    that does not exist or is not the data set's, a unit outside the user's area, a wrong value) are ignored and
    listed; the others are imported (new) or updated (changed); an unchanged value is ignored. With ``atomic``
    nothing is written when any entry conflicts; with ``dry_run`` nothing is written at all."""
    if not selectors.may_enter(by):
        raise PermissionDenied
    mapper = selectors.mapper_for(system)
    try:
        ds_code, complete_date, entries = dhis2_parse(payload, mapper=mapper)
    except ValueError as exc:
        raise RuleViolation("dataValues", str(exc), code="payload") from None
    return _import_entries(by=by, ds_code=ds_code, complete_date=complete_date, entries=entries, system=system,
                           dry_run=dry_run, atomic=atomic, channel=channel, source="dhis2-import")


def adx_import(*, by, data: bytes | str, system: str = "", dry_run: bool = False, atomic: bool = False,
               channel: str = "api") -> dict:
    """Import an IHE ADX document: the same checks, counts and summary as :func:`dhis2_import` (conflicts are
    numbered by the dataValue's position in the document, from 0). A ``dataSet`` on the groups checks the entries
    against it; a ``completeDate`` on the groups marks the forms written complete."""
    from renkou.aggregates.formats import adx_parse_incoming

    if not selectors.may_enter(by):
        raise PermissionDenied
    mapper = selectors.mapper_for(system)
    try:
        ds_code, complete_date, entries = adx_parse_incoming(data, mapper=mapper)
    except ValueError as exc:
        raise RuleViolation("file", str(exc), code="payload") from None
    return _import_entries(by=by, ds_code=ds_code, complete_date=complete_date, entries=entries, system=system,
                           dry_run=dry_run, atomic=atomic, channel=channel, source="adx-import")


def _import_entries(*, by, ds_code: str, complete_date: str, entries, system: str, dry_run: bool, atomic: bool,
                    channel: str, source: str) -> dict:
    conflicts: list[dict] = []

    def conflict(entry, message: str) -> None:
        conflicts.append({"object": entry.data_element or str(entry.index), "value": message,
                          "index": entry.index})

    data_set = None
    if ds_code:
        data_set = DataSet.objects.filter(code=ds_code).first()
        if data_set is None:
            raise RuleViolation("dataSet", _("Unknown data set “%(code)s”.") % {"code": ds_code}, code="data_set")
    elements = {e.code: e for e in DataElement.objects.filter(code__in={e.data_element for e in entries})}
    allowed = selectors.element_cocs(elements.values())
    ds_elements = set(selectors.data_set_element_cocs(data_set)) if data_set else None
    ds_units = set(selectors.assigned_units(data_set).values_list("code", flat=True)) if data_set else None
    units = {u.code: u for u in OrgUnit.objects.filter(code__in={e.org_unit for e in entries})}
    scope = scope_for(by)
    stored = {}
    if entries:
        for v in DataValue.objects.filter(element__in=list(elements.values()), unit__in=list(units.values()),
                                          period__in={e.period for e in entries}).select_related("element", "unit"):
            stored[(v.element.code, v.category_option_combo, v.unit.code, v.period)] = v
    creates: dict[tuple, DataValue] = {}
    updates: dict[tuple, DataValue] = {}
    ignored = 0
    today = timezone.localdate()
    for entry in entries:
        if entry.problem:
            conflict(entry, entry.problem)
            continue
        element = elements.get(entry.data_element)
        if element is None:
            conflict(entry, _("Unknown data element “%(code)s”.") % {"code": entry.data_element})
            continue
        if entry.category_option_combo not in allowed[element.code][1]:
            conflict(entry, _("Option combo “%(coc)s” does not belong to data element %(code)s.")
                     % {"coc": entry.category_option_combo, "code": element.code})
            continue
        unit = units.get(entry.org_unit)
        if unit is None:
            conflict(entry, _("Unknown organisation unit “%(code)s”.") % {"code": entry.org_unit})
            continue
        if not scope.covers(unit.pk):
            conflict(entry, _("Unit %(code)s is outside your area.") % {"code": unit.code})
            continue
        period = Period.parse(entry.period)
        if period.start > today:
            conflict(entry, _("%(period)s has not begun.") % {"period": period.code})
            continue
        if data_set is not None:
            if element.code not in ds_elements:
                conflict(entry, _("Data element %(code)s is not in data set %(ds)s.")
                         % {"code": element.code, "ds": data_set.code})
                continue
            if unit.code not in ds_units:
                conflict(entry, _("Data set %(ds)s is not assigned to unit %(code)s.")
                         % {"ds": data_set.code, "code": unit.code})
                continue
            if period.type != data_set.period_type:
                conflict(entry, _("%(period)s is not a period of the data set's type.") % {"period": period.code})
                continue
        try:
            text = value_clean(element, entry.value, field="value")
        except RuleViolation as exc:
            conflict(entry, str(exc.message))
            continue
        key = (element.code, entry.category_option_combo, unit.code, period.code)
        old = stored.get(key)
        if text == "" or (old is not None and old.value == text):
            ignored += 1
            continue
        if old is None:
            creates[key] = DataValue(element=element, category_option_combo=entry.category_option_combo, unit=unit,
                                     period=period.code, value=text, stored_by=by)
        else:
            old.value, old.stored_by, old.updated_at = text, by, timezone.now()
            updates[key] = old
    ignored += len(conflicts)
    write = not dry_run and not (atomic and conflicts)
    summary = import_summary(dry_run=not write, imported=len(creates), updated=len(updates), ignored=ignored,
                             conflicts=conflicts)
    if atomic and conflicts:
        summary["status"] = "ERROR"
    if not write:
        return summary
    with transaction.atomic():
        DataValue.objects.bulk_create(creates.values())
        DataValue.objects.bulk_update(updates.values(), ["value", "stored_by", "updated_at"])
        if data_set is not None and complete_date:
            try:
                done_at = date.fromisoformat(complete_date[:10])
            except ValueError:
                done_at = None
            pairs = {(k[2], k[3]) for k in [*creates, *updates]}
            for unit_code, period_code in sorted(pairs):
                if done_at is not None:
                    CompleteRegistration.objects.get_or_create(
                        data_set=data_set, unit=units[unit_code], period=period_code,
                        defaults={"completed_at": datetime(
                            done_at.year, done_at.month, done_at.day, 12, tzinfo=timezone.get_current_timezone()), "completed_by": by})
        audit_record(user=by, action=AuditAction.UPDATE, object_type="datavalues", object_id=source,
                     channel=channel, detail={"system": system, "imported": len(creates), "updated": len(updates),
                                              "ignored": ignored})
    return summary


# ---------------------------------------------------------------- export


@dataclass
class Export:
    content: bytes
    content_type: str
    rows: int
    body: dict | None = None  # the DHIS2 dataValueSet as a dict


def values_export(*, by, unit: OrgUnit, start: Period, end: Period, fmt: str, data_set: str = "",
                  system: str = "", channel: str = "web", elements: list[str] | None = None) -> Export:
    """The values of the unit's area in the range (stored, and the register's for ``elements`` it names) as a DHIS2
    dataValueSet (``fmt="dhis2"``) or ADX XML (``"adx"``), with the system's code mappings; audited."""
    import json

    from renkou.aggregates import formats

    if not scope_for(by).covers(unit.pk):
        raise PermissionDenied
    if data_set:
        elements = [*selectors.data_set_element_cocs(selectors.data_set_get(code=data_set)), *(elements or [])]
    rows = selectors.value_rows_for(unit, start, end, elements or None)
    mapper = selectors.mapper_for(system)
    if fmt == "adx":
        out = Export(formats.adx_export(rows, mapper=mapper, data_set=data_set,
                                        exported=timezone.now().isoformat(timespec="seconds")),
                     "application/xml", len(rows))
    else:
        body = formats.dhis2_export(rows, mapper=mapper, data_set=data_set)
        out = Export(json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8"), "application/json", len(rows),
                     body)
    audit_record(user=by, action=AuditAction.EXPORT, object_type="datavalues", object_id=data_set, unit=unit,
                 channel=channel, detail={"rows": len(rows), "format": fmt, "system": system, "start": start.code,
                                          "end": end.code})
    return out


# ---------------------------------------------------------------- code mappings

MAPPING_ROLES = frozenset({Role.COUNTY_ADMIN, Role.STATISTICIAN})
MAPPING_FIELDS = ("system", "kind", "renkou_code", "external_id")
MAPPING_HEADERS = ["system", "kind", "renkou_code", "external_id"]
_SYSTEM_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,50}$")
_COC_RE = re.compile(r"^[A-Za-z0-9_.]{0,50}$")


def require_mapping_admin(by) -> None:
    """Code mappings are the county's reference data: the county administrator and statistician keep them."""
    if not (by.is_authenticated and by.is_active and by.role in MAPPING_ROLES and by.unit_id is not None
            and by.unit.level == 1):
        raise PermissionDenied(_("Only the county administrator or statistician may change code mappings."))


def _mapping_problems(data: Mapping, *, prefix: str = "", known: dict[str, set[str]]) -> list[RuleViolation]:
    """Violations of one mapping (fields named ``prefix + field``); ``known`` holds the renkou codes by kind."""
    out = []
    system = str(data.get("system") or "").strip()
    kind = str(data.get("kind") or "").strip()
    code = str(data.get("renkou_code") or "").strip()
    external = str(data.get("external_id") or "").strip()
    if not _SYSTEM_RE.match(system):
        out.append(RuleViolation(prefix + "system", _("The system is 1–50 Latin letters, digits, “-”, “_” or “.”.")))
    if kind not in MappingKind.values:
        out.append(RuleViolation(prefix + "kind", _("Unknown kind “%(kind)s”: element, coc, unit or data_set.")
                                 % {"kind": kind}))
    elif kind == MappingKind.COC:
        if not _COC_RE.match(code):
            out.append(RuleViolation(prefix + "renkou_code", _("An option combo code is Latin letters, digits, "
                                                               "“_” and “.” (empty: the total).")))
    elif code not in known[kind]:
        out.append(RuleViolation(prefix + "renkou_code", _("No %(kind)s has the code “%(code)s”.")
                                 % {"kind": MappingKind(kind).label, "code": code}))
    if not external or len(external) > 100:
        out.append(RuleViolation(prefix + "external_id", _("The external id is 1–100 characters.")))
    return out


def _known_codes(data: list[Mapping]) -> dict[str, set[str]]:
    """The renkou codes the mappings name that exist, by kind (a few queries for any number of rows)."""
    from renkou.stats import selectors as stats_selectors

    wanted: dict[str, set[str]] = {k: set() for k in MappingKind.values}
    for d in data:
        k = str(d.get("kind") or "").strip()
        if k in wanted:
            wanted[k].add(str(d.get("renkou_code") or "").strip())
    elements = set(DataElement.objects.filter(code__in=wanted["element"]).values_list("code", flat=True))
    elements |= stats_selectors.register_codes(wanted["element"] - elements)
    return {
        MappingKind.ELEMENT: elements,
        MappingKind.UNIT: set(OrgUnit.objects.filter(code__in=wanted["unit"]).values_list("code", flat=True)),
        MappingKind.DATA_SET: set(DataSet.objects.filter(code__in=wanted["data_set"]).values_list("code",
                                                                                                  flat=True)),
        MappingKind.COC: wanted["coc"],
    }


def _clean_mapping(data: Mapping) -> dict:
    return {k: str(data.get(k) or "").strip() for k in MAPPING_FIELDS}


def _duplicates(clean: dict, *, exclude_pk: int | None, prefix: str = "") -> list[RuleViolation]:
    qs = CodeMapping.objects.filter(system=clean["system"], kind=clean["kind"])
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    out = []
    if qs.filter(renkou_code=clean["renkou_code"]).exists():
        out.append(RuleViolation(prefix + "renkou_code", _("This system maps “%(code)s” already.")
                                 % {"code": clean["renkou_code"]}))
    if qs.filter(external_id=clean["external_id"]).exists():
        out.append(RuleViolation(prefix + "external_id", _("This system uses the external id “%(id)s” already.")
                                 % {"id": clean["external_id"]}))
    return out


@transaction.atomic
def mapping_save(*, by, data: Mapping, mapping_id: int | None = None, channel: str = "web") -> CodeMapping:
    """Add a code mapping (``mapping_id`` None) or change one; checked first (kind, renkou code exists, both
    sides unique within the system and kind), errors name the field; audited."""
    require_mapping_admin(by)
    mapping = None
    if mapping_id is not None:
        mapping = CodeMapping.objects.select_for_update().filter(pk=mapping_id).first()
        if mapping is None:
            raise NotFound
    clean = _clean_mapping(data)
    problems = Problems()
    for v in _mapping_problems(clean, known=_known_codes([clean])):
        problems.add(v)
    if not problems.items:
        for v in _duplicates(clean, exclude_pk=mapping.pk if mapping else None):
            problems.add(v)
    problems.raise_if_any()
    old = {k: getattr(mapping, k) for k in MAPPING_FIELDS} if mapping else {}
    mapping = mapping or CodeMapping()
    for k, v in clean.items():
        setattr(mapping, k, v)
    mapping.save()
    audit_record(user=by, action=AuditAction.UPDATE if old else AuditAction.CREATE, object_type="code_mapping",
                 object_id=str(mapping.pk), channel=channel, detail={"old": old, "new": clean} if old else clean)
    return mapping


@transaction.atomic
def mapping_delete(*, by, mapping_id: int, channel: str = "web") -> None:
    require_mapping_admin(by)
    mapping = CodeMapping.objects.filter(pk=mapping_id).first()
    if mapping is None:
        raise NotFound
    detail = {k: getattr(mapping, k) for k in MAPPING_FIELDS}
    mapping.delete()
    audit_record(user=by, action="delete", object_type="code_mapping", object_id=str(mapping_id),
                 channel=channel, detail=detail)


def mappings_xlsx(system: str = "") -> bytes:
    """The mappings (of one system, or all) as an XLSX sheet with the columns MAPPING_HEADERS."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "code mappings"
    ws.append(MAPPING_HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in selectors.mappings(system).values_list(*MAPPING_FIELDS):
        ws.append(list(row))
    for col, width in zip("ABCD", (20, 10, 24, 30), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class MappingImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False


def mappings_import_xlsx(*, by, content: bytes, dry_run: bool = False, channel: str = "web") -> MappingImport:
    """Add or change mappings from an XLSX sheet (first row: MAPPING_HEADERS, in any order); a row is matched
    by system, kind and renkou code. Every row is checked first; when one is wrong nothing is written and each
    error names the row (``row 3: external_id``). Audited as one entry."""
    import io

    from openpyxl import load_workbook

    require_mapping_admin(by)
    try:
        ws = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise RuleViolation("file", _("The file is not an XLSX workbook: %(error)s") % {"error": exc}) from None
    if not rows:
        raise RuleViolation("file", _("The sheet is empty."))
    header = [str(c or "").strip() for c in rows[0]]
    missing = [h for h in MAPPING_HEADERS if h not in header]
    if missing:
        raise RuleViolation("file", _("The first row lacks the column(s) %(cols)s.") % {"cols": ", ".join(missing)})
    index = {h: header.index(h) for h in MAPPING_HEADERS}
    data = []
    for n, row in enumerate(rows[1:], start=2):
        if all(c in (None, "") for c in row):
            continue
        data.append((n, _clean_mapping({h: row[i] if i < len(row) else "" for h, i in index.items()})))
    known = _known_codes([d for _n, d in data])
    problems = Problems()
    seen: dict[tuple, int] = {}
    seen_ext: dict[tuple, int] = {}
    for n, d in data:
        prefix = _("row %(n)s: ") % {"n": n}
        for v in _mapping_problems(d, prefix=prefix, known=known):
            problems.add(v)
        key, ext = (d["system"], d["kind"], d["renkou_code"]), (d["system"], d["kind"], d["external_id"])
        if key in seen:
            problems.add(RuleViolation(prefix + "renkou_code", _("Row %(m)s maps the same code.") % {"m": seen[key]}))
        if ext in seen_ext:
            problems.add(RuleViolation(prefix + "external_id",
                                       _("Row %(m)s uses the same external id.") % {"m": seen_ext[ext]}))
        seen.setdefault(key, n)
        seen_ext.setdefault(ext, n)
    problems.raise_if_any()
    existing = {(m.system, m.kind, m.renkou_code): m for m in CodeMapping.objects.filter(
        system__in={d["system"] for _n, d in data})}
    by_ext = {(m.system, m.kind, m.external_id): m for m in existing.values()}
    result = MappingImport(dry_run=dry_run)
    creates, updates = [], []
    for n, d in data:
        key = (d["system"], d["kind"], d["renkou_code"])
        old = existing.get(key)
        other = by_ext.get((d["system"], d["kind"], d["external_id"]))
        if other is not None and other is not old and (other.system, other.kind, other.renkou_code) not in seen:
            problems.add(RuleViolation(_("row %(n)s: ") % {"n": n} + "external_id",
                                       _("The external id “%(id)s” is mapped to “%(code)s” already.")
                                       % {"id": d["external_id"], "code": other.renkou_code}))
            continue
        if old is None:
            creates.append(CodeMapping(**d))
        elif old.external_id != d["external_id"]:
            old.external_id = d["external_id"]
            updates.append(old)
        else:
            result.unchanged += 1
    problems.raise_if_any()
    result.created, result.updated = len(creates), len(updates)
    if dry_run:
        return result
    with transaction.atomic():
        if updates:  # free the external ids first: two rows may swap theirs
            CodeMapping.objects.filter(pk__in=[m.pk for m in updates]).update(external_id=Concat(
                Value("~tmp-"), Cast("pk", output_field=CharField())))
            CodeMapping.objects.bulk_update(updates, ["external_id"])
        CodeMapping.objects.bulk_create(creates)
        audit_record(user=by, action=AuditAction.UPDATE, object_type="code_mapping", object_id="xlsx-import",
                     channel=channel, detail={"created": result.created, "updated": result.updated,
                                              "unchanged": result.unchanged})
    return result
