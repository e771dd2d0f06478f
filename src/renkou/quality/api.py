"""JSON routes of data quality (mounted at /api/v1/quality): the figures of a unit and its child units (every role
in its area, aggregate viewers included), the persons behind a figure (personal data: masked, audited) and their
export."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.params import Path

from renkou.accounts.models import AuditAction
from renkou.accounts.services import audit_record
from renkou.core.errors import NotFound
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.selectors import unit_get, unit_get_by_code
from renkou.quality import selectors
from renkou.quality.checks import CHECKS
from renkou.quality.exports import quality_export_kind
from renkou.registry.api import FILE_ANSWER, READ_ERRORS, file_answer
from renkou.registry.schemas import ExportFileIn, PageIn, PageInfoOut, PersonListItemOut, UnitQuery, answers

router = Router(tags=["quality"])

class UnitIn(Schema):
    unit: UnitQuery | None = Field(None, description="the unit (code or id); default: the caller's unit")


class RecordsIn(PageIn):
    unit: UnitQuery | None = Field(None, description="the unit (code or id); default: the caller's unit")


class QualityExportIn(ExportFileIn):
    unit: UnitQuery | None = Field(None, description="the unit (code or id); default: the caller's unit")


class CheckOut(Schema):
    key: str
    label: str
    group: str
    description: str
    count: int
    lists_persons: bool = Field(description="true when /checks/{key}/records lists the persons behind the count")


class QualityUnitOut(Schema):
    id: int
    code: str
    name: str
    level: int


class ChildFiguresOut(Schema):
    unit: QualityUnitOut
    counts: dict[str, int]


class QualityOut(Schema):
    unit: QualityUnitOut
    checks: list[CheckOut]
    children: list[ChildFiguresOut]
    direct: dict[str, int] | None = Field(description="persons recorded at the unit itself, not in a child unit")


class RecordPageOut(PageInfoOut):
    check: str
    items: list[PersonListItemOut]


def _unit(user, ref: str | None) -> OrgUnit | None:
    if not ref:
        return None
    unit = unit_get_by_code(code=ref) if len(ref) >= 12 else unit_get(unit_id=int(ref))
    if unit is None:
        raise NotFound
    return unit


def _ref(u: OrgUnit) -> dict:
    return {"id": u.pk, "code": u.code, "name": u.name, "level": u.level}


@router.get("/figures", response=answers(200, QualityOut, *READ_ERRORS), summary="Data-quality figures of a unit")
def quality_figures(request: HttpRequest, filters: Query[UnitIn]):
    """Every check's count for the unit, and for each child unit (drill down by calling again with a child)."""
    report = selectors.quality_report(user=request.auth, unit=_unit(request.auth, filters.unit))
    return {
        "unit": _ref(report.unit),
        "checks": [{"key": c.key, "label": str(c.label), "group": str(c.group), "description": str(c.description),
                    "count": report.totals[c.key], "lists_persons": c.lists_persons} for c in report.checks],
        "children": [{"unit": _ref(f.unit), "counts": f.counts} for f in report.children],
        "direct": report.direct.counts if report.direct else None,
    }


@router.get("/checks/{check}/records", response=answers(200, RecordPageOut, *READ_ERRORS),
            summary="The persons behind a data-quality figure")
def quality_records(request: HttpRequest, filters: Query[RecordsIn], check: str = Path(..., pattern=r"^[a-z_]{1,40}$")):
    """One page of the persons the check finds in the unit's subtree (ID numbers masked); recorded in the audit
    log with the ids shown. Aggregate viewers: 403."""
    unit = _unit(request.auth, filters.unit)
    qs = selectors.check_records(user=request.auth, key=check, unit=unit).select_related(
        "residence_unit", "registration_unit", "household")
    count = qs.count()
    start = (filters.page - 1) * filters.page_size
    rows = list(qs[start : start + filters.page_size])
    audit_record(user=request.auth, action=AuditAction.SEARCH, object_type="person", unit=unit,
                 detail={"query": {"quality_check": check, "page": filters.page}, "shown": [p.pk for p in rows]},
                 channel="api", ip_address=request.META.get("REMOTE_ADDR") or None)
    return {"check": check, "items": rows, "count": count, "count_capped": False, "page": filters.page,
            "page_size": filters.page_size, "num_pages": max(1, -(-count // filters.page_size)),
            "has_next": start + len(rows) < count}


@router.get("/checks/{check}/export", response=answers(200, None, *READ_ERRORS),
            summary="Export the persons behind a data-quality figure", openapi_extra=FILE_ANSWER)
def quality_export(request: HttpRequest, how: Query[QualityExportIn], check: str = Path(..., pattern=r"^[a-z_]{1,40}$")):
    """Every person the check finds in the unit's subtree, as XLSX or CSV (format, reveal, purpose as for
    /exports/persons); recorded in the audit log."""
    if check not in CHECKS or not CHECKS[check].lists_persons:
        raise NotFound
    return file_answer(request, kind=quality_export_kind(check), filters={"check": check, "unit": how.unit or ""},
                       filters_in=how)
