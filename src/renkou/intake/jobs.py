"""Running an import in the background so that a large file does not hold a web request (or a worker) for its
length: a thread of the web process, its own database connection, progress written to a file the page polls.

The register is written in one transaction at the end of the job; a job killed with the process leaves the
register as it was. Its record would stay at "running": ``imports_mark_interrupted`` (called whenever the imports
are listed) marks failed a run that no thread of this process runs and whose progress file has not been touched
for ``STALE_AFTER`` (progress is written every 2,000 rows). A caller inside a transaction (a test case) runs the job in place:
another connection could not see the uncommitted run.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from renkou.accounts.models import User
from renkou.core.jobs import run_in_background
from renkou.intake.models import ImportRun, ImportStatus
from renkou.intake.services import import_run_execute, progress_path

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=15)
INTERRUPTED = "导入中断（处理它的进程已停止），登记库未作任何修改；请重新导入该文件。"


def _thread_name(run_id: int) -> str:
    return f"import-{run_id}"


def imports_mark_interrupted(*, stale_after: timedelta = STALE_AFTER) -> int:
    """Mark failed the runs left at "queued" or "running" by a process that died: none of this process's threads
    runs them and their progress file (or, without one, their start) is older than ``stale_after``. Returns how
    many were marked. The register needs no repair: an import writes it in one transaction."""
    now = timezone.now()
    alive = {t.name for t in threading.enumerate()}
    stale = []
    for run in ImportRun.objects.filter(status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING],
                                        started_at__lt=now - stale_after):
        if _thread_name(run.pk) in alive:
            continue
        try:
            touched = datetime.fromtimestamp(progress_path(run).stat().st_mtime, tz=UTC)
        except OSError:
            touched = run.started_at
        if now - touched > stale_after:
            stale.append(run.pk)
    if not stale:
        return 0
    return ImportRun.objects.filter(pk__in=stale, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]).update(
        status=ImportStatus.FAILED, finished_at=now, message=INTERRUPTED)


def import_start(*, run: ImportRun, by: User, confirm_all: bool = False) -> None:
    """Run the import in a thread of this process (core.jobs), named after the run so that
    ``imports_mark_interrupted`` knows it is alive; in place inside a transaction."""
    run_in_background(_execute, run.pk, by.pk, confirm_all, name=_thread_name(run.pk))


def _execute(run_id: int, user_id: int, confirm_all: bool) -> None:
    run = ImportRun.objects.get(pk=run_id)
    user = User.objects.select_related("unit").get(pk=user_id)
    try:
        import_run_execute(run=run, by=user, confirm_all=confirm_all)
    except Exception:  # noqa: BLE001 - a background job must record its failure, not vanish
        log.exception("import %s failed", run_id)
        ImportRun.objects.filter(pk=run_id).update(status=ImportStatus.FAILED, finished_at=timezone.now(),
                                                   message="导入时发生内部错误，登记库未作任何修改。")
