"""renkou export KIND --user NAME --format xlsx|csv -o FILE [filters…] [--reveal --purpose TEXT]

The lists of the pages, from the command line, through the same export as the pages and the API (the user's area,
ID numbers masked unless revealed with a purpose by a role that may, one EXPORT entry in the audit log).
KIND: persons, events, households (the register's lists) or quality (the records behind a data-quality check).

It lives in the quality app because it is the one app that knows every list (the register's and its own).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from renkou.accounts.selectors import user_get_by_username
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation
from renkou.quality.exports import quality_export_kind
from renkou.registry.exports import KINDS, export_write

ALL_KINDS = [*KINDS, "quality"]


class Command(BaseCommand):
    help = "Export a list (persons, events, households, quality) to XLSX or CSV, in the user's area, audited."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ALL_KINDS)
        parser.add_argument("--user", required=True, help="the user whose area and rights apply (and who is audited)")
        parser.add_argument("--format", choices=["xlsx", "csv"], default=None,
                            help="default: from the output file's extension")
        parser.add_argument("-o", "--output", required=True, help="the file to write")
        parser.add_argument("--unit", default="", help="a unit's statistical code: only its subtree")
        parser.add_argument("--q", default="", help="persons: a name or ID number (or its beginning); "
                                                   "households: a number prefix or part of the address")
        parser.add_argument("--household", default="", help="persons: one household's number")
        parser.add_argument("--include-dead", action="store_true", help="persons: include deceased persons")
        parser.add_argument("--event-kind", default="", help="events: birth, death, move_out or move_in")
        parser.add_argument("--period", default="", help="events: a period such as 2025, FP2025, 2025Q3, 202507")
        parser.add_argument("--date-from", default="", help="events: from this date (YYYY-MM-DD)")
        parser.add_argument("--date-to", default="", help="events: up to this date (YYYY-MM-DD)")
        parser.add_argument("--check", default="", help="quality: the check's key (e.g. no_household)")
        parser.add_argument("--reveal", action="store_true", help="full ID numbers (needs --purpose and the right)")
        parser.add_argument("--purpose", default="", help="why the full ID numbers are needed (audited)")

    def handle(self, *args, **opts):
        user = user_get_by_username(opts["user"])
        if user is None or not user.is_active:
            raise CommandError(f"No active user {opts['user']!r}.")
        output = Path(opts["output"])
        fmt = opts["format"] or output.suffix.lstrip(".").lower()
        if fmt not in ("xlsx", "csv"):
            raise CommandError("Give --format xlsx or csv (or an output file ending in .xlsx or .csv).")
        kind_name = opts["kind"]
        filters = {
            "persons": {"q": opts["q"], "unit": opts["unit"], "household": opts["household"],
                        "include_dead": "1" if opts["include_dead"] else ""},
            "events": {"kind": opts["event_kind"], "unit": opts["unit"], "period": opts["period"],
                       "date_from": opts["date_from"], "date_to": opts["date_to"]},
            "households": {"unit": opts["unit"], "q": opts["q"]},
            "quality": {"check": opts["check"], "unit": opts["unit"]},
        }[kind_name]
        if opts["purpose"] and not opts["reveal"]:
            raise CommandError("--purpose is for --reveal: add --reveal to export full ID numbers.")
        output.parent.mkdir(parents=True, exist_ok=True)
        # written beside the target and renamed at the end: an error leaves no half-written file
        fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=f".{fmt}", dir=output.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                kind = quality_export_kind(opts["check"]) if kind_name == "quality" else kind_name
                outcome = export_write(user=user, kind=kind, filters=filters, fmt=fmt, out=out,
                                       purpose=opts["purpose"], reveal=opts["reveal"], channel="cli")
            os.replace(tmp, output)
        except RuleViolation as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from exc
        except PermissionDenied as exc:
            what = "reveal full ID numbers" if opts["reveal"] else "export personal data"
            raise CommandError(f"The role of {user.username} may not {what}.") from exc
        except NotFound as exc:
            raise CommandError(f"No unit {opts['unit']!r} in the area of {user.username}.") from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        ids = "full ID numbers (audited with the purpose)" if outcome.revealed else "ID numbers masked"
        self.stderr.write(f"Wrote {outcome.rows} rows to {output} ({fmt}, {ids}).")
