"""Running an import in the background so that a large file does not hold a web request (or a worker) for its
length: a thread of the web process, its own database connection, progress written to a file the page polls.

The register is written in one transaction at the end of the job; a job killed with the process leaves the
register as it was and its record at "running". A caller inside a transaction (a test case) runs the job in place:
another connection could not see the uncommitted run.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from renkou.accounts.models import User
from renkou.intake.models import ImportRun, ImportStatus
from renkou.intake.services import import_run_execute

log = logging.getLogger(__name__)


def import_start(*, run: ImportRun, by: User, confirm_all: bool = False) -> None:
    if connection.in_atomic_block or getattr(settings, "RENKOU_IMPORT_INLINE", False):
        _execute(run.pk, by.pk, confirm_all)
        return
    thread = threading.Thread(target=_work, args=(run.pk, by.pk, confirm_all), name=f"import-{run.pk}", daemon=True)
    thread.start()


def _execute(run_id: int, user_id: int, confirm_all: bool) -> None:
    run = ImportRun.objects.get(pk=run_id)
    user = User.objects.select_related("unit").get(pk=user_id)
    try:
        import_run_execute(run=run, by=user, confirm_all=confirm_all)
    except Exception:  # noqa: BLE001 - a background job must record its failure, not vanish
        log.exception("import %s failed", run_id)
        ImportRun.objects.filter(pk=run_id).update(status=ImportStatus.FAILED, finished_at=timezone.now(),
                                                   message="导入时发生内部错误，登记库未作任何修改。")


def _work(run_id: int, user_id: int, confirm_all: bool) -> None:
    close_old_connections()
    try:
        _execute(run_id, user_id, confirm_all)
    finally:
        connection.close()
