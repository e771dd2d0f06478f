"""Work too long for a web request (an import, a duplicate scan) runs in a thread of the web process with its own
database connection; the page polls the job's record for its progress.

A caller inside a transaction (a test case, a command that wraps its work) runs the job in place: another
connection could not see the uncommitted record the job starts from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection


def run_in_background(target: Callable[..., None], *args, name: str) -> bool:
    """Run ``target(*args)`` in a daemon thread with its own connection; in place when that cannot work.

    Returns True when the job was started in the background, False when it ran in place."""
    if connection.in_atomic_block or getattr(settings, "RENKOU_JOBS_INLINE", False):
        target(*args)
        return False

    def work() -> None:
        close_old_connections()
        try:
            target(*args)
        finally:
            connection.close()

    threading.Thread(target=work, args=(), name=name, daemon=True).start()
    return True


class Heartbeat:
    """Calls ``beat()`` every ``every`` seconds in a thread of its own while the job's own thread works in one long
    call (a scan inside DuckDB cannot report progress): a job whose record has not beaten for a while is known to
    have died with its process."""

    def __init__(self, beat: Callable[[], None], every: float = 20.0):
        self._beat, self._every = beat, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._beat()
            finally:
                connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
