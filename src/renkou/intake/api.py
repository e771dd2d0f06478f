"""Import routes (mounted at /api/v1/imports): upload a file (multipart), follow its status, list past imports,
download the report and the template. The import itself runs in the background (see intake.jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.params import Path
from pydantic import Field

from renkou.core.errors import NotFound, RuleViolation
from renkou.intake import selectors
from renkou.intake.jobs import import_start, imports_mark_interrupted
from renkou.intake.models import ImportKind, ImportRun
from renkou.intake.services import import_run_create, read_progress, report_path_of, require_importer
from renkou.intake.views import MAX_UPLOAD, template_response
from renkou.registry.schemas import MAX_ID, answers

router = Router(tags=["intake"])

# A form flag: exactly "true" or "false" (a loose bool would take "0", "off", "no" … as well).
Flag = Literal["true", "false"]

READ_ERRORS = (401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 422)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_ANSWER = {"responses": {200: {"description": "an XLSX workbook", "content": {
    XLSX: {"schema": {"type": "string", "format": "binary"}}}}}}


class ProgressOut(Schema):
    done: int
    total: int
    phase: str = Field(description="checking, writing, or the final status")


class ImportMessageOut(Schema):
    column: str = Field(description="the Chinese column header at fault, empty for the whole row")
    code: str
    message: str = Field(description="in Chinese; ID numbers masked")
    warning: bool = Field(description="a warning the officer may confirm (write 是 in 确认, or confirm=true)")


class RowProblemOut(Schema):
    row: int = Field(description="the spreadsheet's row number (the header is row 1)")
    status: str = Field(description="rejected, or created/updated with a confirmed warning")
    messages: list[ImportMessageOut]


class ImportOut(Schema):
    id: int
    kind: str
    file_name: str
    sha256: str
    size: int
    username: str
    dry_run: bool
    partial: bool
    status: str = Field(description="queued, running, done, checked (dry run), rejected (nothing written), failed")
    started_at: datetime
    finished_at: datetime | None
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    warned: int
    message: str = Field(description="a message about the whole file (unreadable, a missing column …)")
    has_report: bool


class ImportDetailOut(ImportOut):
    progress: ProgressOut
    problems: list[RowProblemOut] = Field(description="the first 500 rows with messages")


def _out(run: ImportRun) -> dict:
    data = {f: getattr(run, f) for f in ImportOut.model_fields if hasattr(run, f)}
    data["has_report"] = report_path_of(run) is not None
    return data


@router.post("", response=answers(202, ImportDetailOut, *WRITE_ERRORS), summary="Upload a file to import")
def import_upload(request: HttpRequest, file: File[UploadedFile], kind: Form[ImportKind] = ImportKind.PERSONS,
                  dry_run: Form[Flag] = "false", partial: Form[Flag] = "false", confirm: Form[Flag] = "false"):
    """Multipart form: ``file`` (XLSX or CSV, any of UTF-8, UTF-8 with BOM, GBK/GB18030), ``kind``, and the flags
    ``dry_run`` (check only), ``partial`` (write the valid rows, reject the others; default all or nothing) and
    ``confirm`` (confirm every warning). Answers 202 at once; poll ``GET /imports/{id}`` until ``finished_at``."""
    user = request.auth
    require_importer(user)
    # A field sent empty, or sent as a file part, is not the field left out: django-ninja would give it its default.
    for name in ("kind", "dry_run", "partial", "confirm"):
        if name in request.FILES or (name in request.POST and request.POST[name] == ""):
            raise RuleViolation(name, _("This field may not be empty."), code="invalid")
    if file.size > MAX_UPLOAD:
        raise RuleViolation("file", _("The file is larger than 200 MB."), code="too_large")
    run = import_run_create(by=user, kind=kind, data=file.read(), file_name=file.name or "upload",
                            dry_run=dry_run == "true", partial=partial == "true", channel="api", keep_upload=True)
    import_start(run=run, by=user, confirm_all=confirm == "true")
    run.refresh_from_db()
    return Status(202, {**_out(run), "progress": read_progress(run), "problems": run.problems})


@router.get("", response=answers(200, list[ImportOut], *READ_ERRORS), summary="List imports")
def imports_list(request: HttpRequest, limit: int = 50):
    """The latest imports made in the caller's area (newest first; ``limit`` 1–500)."""
    limit = max(1, min(limit, 500))
    imports_mark_interrupted()
    return [_out(r) for r in selectors.imports_for_user(request.auth)[:limit]]


@router.get("/templates/{kind}", response=answers(200, None, *READ_ERRORS), openapi_extra=XLSX_ANSWER,
            summary="Download the template of a kind")
def import_template(request: HttpRequest, kind: ImportKind):
    require_importer(request.auth)
    return template_response(kind)


@router.get("/{run_id}", response=answers(200, ImportDetailOut, *READ_ERRORS), summary="An import and its outcome")
def import_get(request: HttpRequest, run_id: int = Path(..., ge=1, le=MAX_ID)):
    imports_mark_interrupted()
    run = selectors.import_get_for_user(user=request.auth, run_id=run_id)
    return {**_out(run), "progress": read_progress(run), "problems": run.problems}


@router.get("/{run_id}/report", response=answers(200, None, *READ_ERRORS), openapi_extra=XLSX_ANSWER,
            summary="Download the report of rejected and warned rows")
def import_report(request: HttpRequest, run_id: int = Path(..., ge=1, le=MAX_ID)):
    run = selectors.import_get_for_user(user=request.auth, run_id=run_id)
    path = report_path_of(run)
    if path is None:
        raise NotFound
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"report-{run.pk}.xlsx", content_type=XLSX)
