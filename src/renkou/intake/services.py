"""Imports: read a file, check every row by the register's rules, write all or the valid rows, record the run.

``import_file`` is the one entry point of the CLI, the page and the API. The run record (ImportRun) is written
before and after the work in short transactions of its own; the register is written in one transaction, so an
import that is killed leaves the register as it was.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import User
from renkou.accounts.scope import scope_for
from renkou.core.bulk import gc_paused
from renkou.core.errors import PermissionDenied, RuleViolation
from renkou.intake import events, households, marriages, persons
from renkou.intake.models import ImportKind, ImportRun, ImportStatus
from renkou.intake.readers import read_table
from renkou.intake.report import column_header, write_report
from renkou.registry.idnumbers import mask_in_text

MAX_PROBLEMS_KEPT = 500
ENGINES = {ImportKind.PERSONS: persons, ImportKind.HOUSEHOLDS: households, ImportKind.MARRIAGES: marriages,
           ImportKind.EVENTS: events}


def imports_dir(run: ImportRun) -> Path:
    return Path(settings.DATA_DIR) / "imports" / (run.folder or str(run.pk))


def progress_path(run: ImportRun) -> Path:
    return imports_dir(run) / "progress.json"


def require_importer(by: User) -> None:
    if not scope_for(by).can_write:
        raise PermissionDenied


def import_run_create(*, by: User, kind: str, data: bytes, file_name: str, dry_run: bool = False,
                      partial: bool = False, channel: str = "web", keep_upload: bool = False) -> ImportRun:
    """Record an import about to run (status queued). ``keep_upload`` stores the file for a background job."""
    require_importer(by)
    if kind not in ImportKind.values:
        raise RuleViolation("kind", _("Unknown kind of import."), code="kind")
    run = ImportRun.objects.create(
        user=by, username=by.get_username(), unit_id=by.unit_id, kind=kind, file_name=Path(file_name).name[:255],
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), dry_run=dry_run, partial=partial, channel=channel,
        # a random part: a data folder restored from a backup, or shared by test workers, never mixes two runs' files
        folder=f"{timezone.now():%Y%m%d}-{secrets.token_hex(6)}")
    if keep_upload:
        path = imports_dir(run) / "upload"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        run.upload_file = str(path.relative_to(settings.DATA_DIR))
        run.save(update_fields=["upload_file"])
    return run


def _write_progress(run: ImportRun, done: int, total: int, phase: str) -> None:
    path = progress_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"done": done, "total": total, "phase": phase}), encoding="utf-8")
    tmp.replace(path)


def read_progress(run: ImportRun) -> dict:
    try:
        return json.loads(progress_path(run).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"done": 0, "total": run.total, "phase": run.status}


def import_run_execute(*, run: ImportRun, by: User, data: bytes | None = None, confirm_all: bool = False,
                       report_path: Path | None = None, progress: Callable[[int, int], None] | None = None,
                       ) -> tuple[ImportRun, persons.Outcome | None]:
    """Check and (unless a dry run, or a rejected row without --partial) write. Messages in Chinese."""
    require_importer(by)
    if data is None:
        data = (Path(settings.DATA_DIR) / run.upload_file).read_bytes()
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.RUNNING)

    def report_progress(done: int, total: int) -> None:
        _write_progress(run, done, total, "checking")
        if progress is not None:
            progress(done, total)

    outcome = None
    with translation.override("zh-hans"), gc_paused():
        try:
            table = read_table(data, run.file_name)
            run.encoding = table.encoding
            _write_progress(run, 0, len(table.rows), "checking")
            engine = ENGINES[run.kind]
            outcome = engine.check_rows(by=by, table=table, progress=report_progress, confirm_all=confirm_all)
        except RuleViolation as exc:
            run.status, run.message = ImportStatus.FAILED, str(exc.message)
        else:
            counts = outcome.counts
            for name, value in counts.items():
                setattr(run, name, value)
            if run.dry_run:
                run.status = ImportStatus.CHECKED
            elif counts["rejected"] and not run.partial:
                run.status = ImportStatus.REJECTED
            else:
                _write_progress(run, len(table.rows), len(table.rows), "writing")
                try:
                    engine.write(by=by, outcome=outcome, channel=run.channel)
                except RuleViolation as exc:  # the register changed between the check and the write
                    run.status, run.message = ImportStatus.FAILED, str(exc.message)
                else:
                    run.status = ImportStatus.DONE
            run.problems = [
                {"row": r.row, "status": r.status,
                 "messages": [{"column": column_header(run.kind, m.field), "code": m.code,
                               "message": mask_in_text(m.message),
                               "warning": m.warning} for m in r.messages]}
                for r in outcome.rows if r.messages][:MAX_PROBLEMS_KEPT]
            if counts["rejected"] or counts["warned"]:
                target = imports_dir(run) / "report.xlsx"
                write_report(kind=run.kind, headers=table.headers, outcome=outcome, path=target)
                run.report_file = str(target.relative_to(settings.DATA_DIR))
                if report_path is not None:
                    write_report(kind=run.kind, headers=table.headers, outcome=outcome, path=report_path)
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save()
    _write_progress(run, run.total, run.total, run.status)
    return run, outcome


def import_file(*, by: User, kind: str, data: bytes, file_name: str, dry_run: bool = False, partial: bool = False,
                confirm_all: bool = False, channel: str = "cli", report_path: Path | None = None,
                progress: Callable[[int, int], None] | None = None) -> tuple[ImportRun, persons.Outcome | None]:
    run = import_run_create(by=by, kind=kind, data=data, file_name=file_name, dry_run=dry_run, partial=partial,
                            channel=channel)
    return import_run_execute(run=run, by=by, data=data, confirm_all=confirm_all, report_path=report_path,
                              progress=progress)


def report_path_of(run: ImportRun) -> Path | None:
    if not run.report_file:
        return None
    path = Path(settings.DATA_DIR) / run.report_file
    return path if path.exists() else None
