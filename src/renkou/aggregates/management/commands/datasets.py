"""renkou datasets export|import|reporting — aggregate values in DHIS2 / ADX formats, from the command line.

    renkou datasets export --format dhis2|adx --unit CODE --start P [--end P] [--data-set DS] [--system S]
                           --user NAME [-o FILE]
    renkou datasets import FILE.json|FILE.xml --user NAME [--system S] [--dry-run] [--atomic]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from renkou.accounts.scope import scope_for
from renkou.accounts.selectors import user_get_by_username
from renkou.aggregates import services
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation, violations_of
from renkou.orgunits.periods import Period, PeriodError
from renkou.orgunits.selectors import unit_get_by_code


class Command(BaseCommand):
    help = "Export aggregate values as a DHIS2 dataValueSet or IHE ADX, or import a DHIS2 dataValueSet."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write values of a unit's area and a period range")
        export.add_argument("--format", choices=["dhis2", "adx"], default="dhis2")
        export.add_argument("--unit", required=True, help="12-digit unit code (its whole area is exported)")
        export.add_argument("--start", required=True, help="first period, e.g. 2025 or 202501")
        export.add_argument("--end", help="last period (default: --start)")
        export.add_argument("--data-set", help="only the elements of this data set")
        export.add_argument("--system", default="", help="apply this system's code mappings")
        export.add_argument("--elements", default="",
                            help="comma-separated element or indicator codes, the register's included (e.g. LIVE_BIRTHS)")
        export.add_argument("--user", required=True, help="the user the export is made and recorded as")
        export.add_argument("-o", "--output", help="file to write (default: standard output)")
        imp = sub.add_parser("import", help="read a DHIS2 dataValueSet (JSON) or an ADX document (XML)")
        imp.add_argument("file")
        imp.add_argument("--user", required=True)
        imp.add_argument("--system", default="")
        imp.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        imp.add_argument("--atomic", action="store_true", help="write nothing when any value conflicts")
        demo = sub.add_parser("demo", help="fill the shipped data sets with plausible synthetic figures")
        demo.add_argument("--user", required=True, help="a county user the figures are entered as")
        demo.add_argument("--months", type=int, default=12, help="months back from the last ended month")
        demo.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **opts):
        user = user_get_by_username(opts["user"])
        if user is None:
            raise CommandError(f"No user {opts['user']!r}.")
        try:
            if opts["action"] == "export":
                self._export(user, opts)
            elif opts["action"] == "demo":
                self._demo(user, opts)
            else:
                self._import(user, opts)
        except RuleViolation as exc:
            raise CommandError("; ".join(f"{v.field}: {v.message}" for v in violations_of(exc))) from exc
        except (NotFound, PermissionDenied) as exc:
            raise CommandError("Not found, or outside the user's area or role.") from exc

    def _export(self, user, opts) -> None:
        unit = unit_get_by_code(code=opts["unit"])
        if unit is None or not scope_for(user).covers(unit.pk):
            raise CommandError(f"No unit {opts['unit']!r} in the user's area.")
        try:
            start = Period.parse(opts["start"])
            end = Period.parse(opts["end"]) if opts["end"] else start
        except PeriodError as exc:
            raise CommandError(str(exc)) from exc
        export = services.values_export(by=user, unit=unit, start=start, end=end, fmt=opts["format"],
                                        data_set=opts["data_set"] or "", system=opts["system"], channel="cli",
                                        elements=[c for c in opts["elements"].split(",") if c])
        data = export.content
        if opts["output"]:
            Path(opts["output"]).write_bytes(data)
            self.stderr.write(f"{export.rows} values written to {opts['output']}.")
        else:
            sys.stdout.buffer.write(data)

    def _import(self, user, opts) -> None:
        from renkou.aggregates.formats import is_xml

        try:
            content = Path(opts["file"]).read_bytes()
            adx = is_xml(content)
            payload = None if adx else json.loads(content.decode("utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{opts['file']}: {exc}") from exc
        options = {"by": user, "system": opts["system"], "dry_run": opts["dry_run"], "atomic": opts["atomic"],
                   "channel": "cli"}
        if adx:
            summary = services.adx_import(data=content, **options)
        else:
            summary = services.dhis2_import(payload=payload, **options)
        self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=1))
        if summary["status"] == "ERROR":
            raise CommandError("Nothing was imported.")

    def _demo(self, user, opts) -> None:
        """Synthetic figures for every assigned unit, entered through the DHIS2 import (one dataValueSet per data
        set and period, completed a few days after the period's end; about one report in ten is missing)."""
        import random
        from datetime import timedelta

        from django.utils import timezone

        from renkou.aggregates import formats, selectors
        from renkou.orgunits.periods import PeriodType

        rng = random.Random(opts["seed"])
        last = Period.containing(PeriodType.MONTH, timezone.localdate()).previous()
        first = last
        for _ in range(max(opts["months"], 1) - 1):
            first = first.previous()
        written = 0
        for data_set in selectors.data_sets():
            allowed = selectors.data_set_element_cocs(data_set)
            units = [u for u in selectors.assigned_units(data_set) if scope_for(user).covers(u.pk)]
            for period in selectors.data_set_periods(data_set, first, last):
                for unit in units:
                    if rng.random() < 0.1:
                        continue
                    rows = []
                    for code, (_element, cocs) in sorted(allowed.items()):
                        base = {"REWARD_AMOUNT": 0, "SPECIAL_AMOUNT": 0}.get(code, rng.randint(2, 30))
                        spike = 8 if rng.random() < 0.02 else 1
                        for coc in sorted(cocs):
                            rows.append({"data_element": code, "category_option_combo": coc, "org_unit": unit.code,
                                         "period": period.code, "value": base * spike})
                    persons = {r["data_element"]: r["value"] for r in rows}
                    for r in rows:  # amounts follow the persons paid (reward ¥240 a quarter, special ¥450–¥600)
                        if r["data_element"] == "REWARD_AMOUNT":
                            r["value"] = persons.get("REWARD_PERSONS", 0) * 240
                        if r["data_element"] == "SPECIAL_AMOUNT":
                            r["value"] = persons.get("SPECIAL_PERSONS", 0) * 2 * rng.choice([450, 600])
                        if r["data_element"] == "PREPREG_HIGH_RISK":
                            r["value"] = persons.get("PREPREG_CHECKUPS", 0) // rng.randint(4, 10)
                    done = period.end + timedelta(days=rng.randint(1, 25))
                    payload = formats.dhis2_export(rows, data_set=data_set.code, complete_date=done.isoformat())
                    summary = services.dhis2_import(by=user, payload=payload, channel="cli")
                    written += summary["importCount"]["imported"] + summary["importCount"]["updated"]
        self.stderr.write(f"{written} values written ({first.code}–{last.code}).")
