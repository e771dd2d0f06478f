"""renkou import KIND FILE [--dry-run] [--report REPORT.xlsx] [--partial] [--user NAME]; renkou import KIND
--template FILE.xlsx. (Django loads commands with importlib, so the module may be called ``import``.)"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from renkou.accounts.models import Role, User
from renkou.core.errors import PermissionDenied
from renkou.intake.models import ImportKind, ImportStatus
from renkou.intake.report import messages_text, write_template
from renkou.intake.services import import_file


class Command(BaseCommand):
    help = "Import persons, households, marriages or events from an XLSX or CSV file (or write the template of a kind)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=ImportKind.values)
        parser.add_argument("file", nargs="?", help="the XLSX or CSV file to import")
        parser.add_argument("--template", metavar="FILE.xlsx", help="write the template of KIND and stop")
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument("--partial", action="store_true", help="write the valid rows, reject the others")
        parser.add_argument("--report", metavar="REPORT.xlsx", help="write the rejected and warned rows here")
        parser.add_argument("--confirm-warnings", action="store_true",
                            help="confirm every warning (checksum …) as if each row had 是 in 确认")
        parser.add_argument("--user", help="act as this user (default: the first active county administrator)")
        parser.add_argument("--show", type=int, default=20, help="messages shown on the screen (default 20)")

    def handle(self, *args, **opts) -> None:
        if opts["template"]:
            write_template(opts["kind"], Path(opts["template"]))
            self.stdout.write(f"template written: {opts['template']}")
            return
        if not opts["file"]:
            raise CommandError("give the FILE to import, or --template FILE.xlsx")
        user = self._user(opts["user"])
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            run, outcome = import_file(
                by=user, kind=opts["kind"], data=path.read_bytes(), file_name=path.name, dry_run=opts["dry_run"],
                partial=opts["partial"], confirm_all=opts["confirm_warnings"], channel="cli",
                report_path=Path(opts["report"]) if opts["report"] else None)
        except PermissionDenied as exc:
            raise CommandError(f"user {user.username} may not write the register") from exc
        w = self.stdout.write
        if run.status == ImportStatus.FAILED:
            raise CommandError(f"{path.name}: {run.message}")
        w(f"{path.name}: {run.total} rows — created {run.created}, updated {run.updated}, unchanged {run.unchanged}, "
          f"rejected {run.rejected}, warned {run.warned}")
        shown = 0
        for row in outcome.rows if outcome else []:
            if row.messages and shown < opts["show"]:
                w(f"  row {row.row} ({row.status}): {messages_text(run.kind, row)}")
                shown += 1
        if run.rejected + run.warned > shown:
            w(f"  … {run.rejected + run.warned - shown} more rows with messages (see --report)")
        if opts["report"] and run.report_file:
            w(f"report: {opts['report']}")
        status = {ImportStatus.CHECKED: "dry run: nothing written",
                  ImportStatus.REJECTED: "nothing written: fix the rejected rows (or use --partial)",
                  ImportStatus.DONE: "written"}.get(run.status, run.status)
        w(f"import #{run.pk}: {status}")
        if run.status == ImportStatus.REJECTED:
            sys.exit(1)

    def _user(self, name: str | None) -> User:
        if name:
            user = User.objects.filter(username=name, is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {name!r}")
            return user
        user = User.objects.filter(role=Role.COUNTY_ADMIN, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError("no county administrator: create one (renkou createuser) or give --user")
        return user
