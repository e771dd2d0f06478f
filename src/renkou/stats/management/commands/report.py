"""renkou report FORM --unit CODE --period P --format xlsx|json|csv -o FILE: write a statistical report form."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from renkou.orgunits.periods import Period, PeriodError
from renkou.orgunits.selectors import unit_county, unit_get_by_code
from renkou.stats.reports import FORMS, report_build, to_csv, to_xlsx


class Command(BaseCommand):
    help = "Write a statistical report form for a unit and period: " + ", ".join(FORMS)

    def add_arguments(self, parser):
        parser.add_argument("form", choices=sorted(FORMS))
        parser.add_argument("--unit", default=None, help="12-digit unit code (default: the county)")
        parser.add_argument("--period", required=True, help="renkou period code, e.g. 2025, FP2025, 2025Q3")
        parser.add_argument("--format", choices=["xlsx", "json", "csv"], default=None,
                            help="default: from the output file's extension")
        parser.add_argument("-o", "--output", required=True)

    def handle(self, *args, **opts):
        unit = unit_get_by_code(code=opts["unit"]) if opts["unit"] else unit_county()
        if unit is None:
            raise CommandError(f"no unit with code {opts['unit']!r}")
        try:
            period = Period.parse(opts["period"])
        except PeriodError as exc:
            raise CommandError(str(exc)) from exc
        out = Path(opts["output"])
        fmt = opts["format"] or out.suffix.lstrip(".").lower()
        if fmt not in {"xlsx", "json", "csv"}:
            raise CommandError("give --format xlsx|json|csv or an output file ending in one of them")
        table = report_build(opts["form"], unit, period)
        if fmt == "xlsx":
            out.write_bytes(to_xlsx(table))
        elif fmt == "csv":
            out.write_bytes(to_csv(table))
        else:
            out.write_text(json.dumps(table.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
        self.stdout.write(f"{table.title}: {unit.name} {period.code} → {out}")
