"""Pages of the import: choose the kind, download the template, upload, follow the progress, read the outcome,
download the report; the list of past imports. Thin: each calls one service or selector."""

from __future__ import annotations

from django import forms
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from renkou.core.errors import NotFound, RuleViolation
from renkou.core.views import page
from renkou.intake import selectors
from renkou.intake.jobs import import_start, imports_mark_interrupted
from renkou.intake.models import ImportKind
from renkou.intake.report import header_examples, write_template
from renkou.intake.services import import_run_create, read_progress, report_path_of, require_importer

MAX_UPLOAD = 200 * 1024 * 1024
ROW_STATUS = {"created": _("created"), "updated": _("updated"), "unchanged": _("unchanged"),
              "rejected": _("rejected")}


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of records"), choices=ImportKind.choices)
    file = forms.FileField(label=_("File (XLSX or CSV)"))
    dry_run = forms.BooleanField(label=_("Check only (dry run): write nothing"), required=False)
    partial = forms.BooleanField(label=_("Import the valid rows and reject the others"), required=False,
                                 help_text=_("Without this, one rejected row stops the whole file."))
    confirm = forms.BooleanField(label=_("Confirm every warning (e.g. a wrong check character)"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 200 MB."))
        return upload


@page
def import_home(request: HttpRequest) -> HttpResponse:
    require_importer(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            run = import_run_create(by=request.user, kind=form.cleaned_data["kind"], data=upload.read(),
                                    file_name=upload.name, dry_run=form.cleaned_data["dry_run"],
                                    partial=form.cleaned_data["partial"], channel="web", keep_upload=True)
        except RuleViolation as v:
            form.add_error(None, v.message)
        else:
            import_start(run=run, by=request.user, confirm_all=form.cleaned_data["confirm"])
            return redirect("import_detail", run_id=run.pk)
    imports_mark_interrupted()
    runs = selectors.imports_for_user(request.user)[:50]
    return render(request, "intake/home.html", {
        "section": "intake", "form": form, "runs": runs, "kinds": ImportKind.choices,
        "columns": [(label, header_examples(kind)) for kind, label in ImportKind.choices]})


def _detail_context(request: HttpRequest, run_id: int) -> dict:
    imports_mark_interrupted()
    run = selectors.import_get_for_user(user=request.user, run_id=run_id)
    progress = read_progress(run)
    percent = int(100 * progress["done"] / progress["total"]) if progress.get("total") else 0
    for problem in run.problems:
        problem["label"] = ROW_STATUS.get(problem["status"], problem["status"])
    return {"section": "intake", "run": run, "progress": progress, "percent": percent,
            "finished": run.finished_at is not None, "has_report": report_path_of(run) is not None}


@page
def import_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    return render(request, "intake/detail.html", _detail_context(request, run_id))


@page
def import_status(request: HttpRequest, run_id: int) -> HttpResponse:
    """The htmx fragment polled while the job runs (it stops polling once the import has finished)."""
    return render(request, "intake/_status.html", _detail_context(request, run_id))


@page
def import_report(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.import_get_for_user(user=request.user, run_id=run_id)
    path = report_path_of(run)
    if path is None:
        raise NotFound
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"导入报告-{run.pk}.xlsx")


@page
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    require_importer(request.user)
    if kind not in ImportKind.values:
        raise NotFound
    return template_response(kind)


def template_response(kind: str) -> FileResponse:
    import io
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.xlsx"
        write_template(kind, path)
        data = path.read_bytes()
    label = dict(ImportKind.choices)[kind]
    return FileResponse(io.BytesIO(data), as_attachment=True, filename=f"导入模板-{label}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
