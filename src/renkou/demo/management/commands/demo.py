"""renkou demo: generate the synthetic county (see docs/demo.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from renkou.demo.services import DemoError, default_years, demo_generate, demo_logins


def _years(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{4})\s*[-–]\s*(\d{4})\s*", text)
    if not m:
        raise CommandError(f"--years takes two years like 2014-2025, not {text!r}.")
    return int(m.group(1)), int(m.group(2))


class Command(BaseCommand):
    help = ("Generate a synthetic (fictitious) county into an empty database: 24 townships, 300 villages, households, "
            "persons and their dated births, deaths, marriages and migrations, and truth.json with the true counts.")

    def add_arguments(self, parser):
        first, last = default_years()
        parser.add_argument("--persons", type=int, default=100_000,
                            help="residents at the end (default 100000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same county")
        parser.add_argument("--tfr", type=float, default=1.3, help="total fertility rate of the recorded years (1.3)")
        parser.add_argument("--srb", type=float, default=111.0,
                            help="sex ratio at birth, boys per 100 girls, of the recorded years (111)")
        parser.add_argument("--years", default=f"{first}-{last}",
                            help=f"recorded years A-B, full years up to last year (default {first}-{last}); "
                                 "when B is last year, this year's events up to yesterday are added")
        parser.add_argument("--no-current-year", action="store_true",
                            help="stop at the end of year B (no events of the current year)")
        parser.add_argument("--replace", action="store_true",
                            help="remove the previous demo county, its units and the demo users first")
        parser.add_argument("--duplicates", type=float, default=0.0, metavar="RATE",
                            help="register this share of the living persons a second time, with realistic errors "
                                 "(e.g. 0.01); the true pairs go into truth.json (default 0)")
        parser.add_argument("--truth", default=None,
                            help=f"where to write truth.json (default {settings.DEMO_TRUTH_PATH})")

        parser.add_argument("--second-county", metavar="CODE",
                            help="instead: build a second county CODE for the two-county exchange demo into this "
                                 "(empty) database, from the file `renkou exchange demo-partner` wrote on the first")
        parser.add_argument("--partner-file", help="with --second-county: that file")
        parser.add_argument("--second-county-name", default="垫江县", help="with --second-county: its name")

    def handle(self, *args, **opts):
        if opts["second_county"]:
            self._second_county(opts)
            return
        started = time.perf_counter()
        try:
            truth = demo_generate(
                persons=opts["persons"], seed=opts["seed"], tfr=opts["tfr"], srb=opts["srb"],
                years=_years(opts["years"]), replace=opts["replace"], out=self.stdout,
                current_year=not opts["no_current_year"],
                truth_path=Path(opts["truth"]) if opts["truth"] else None,
                duplicates=opts["duplicates"],
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        final = truth["final"]
        rows = truth["register"]["persons"]
        self.stdout.write(
            f"Done in {elapsed:.1f} s: {final['residents']:,} residents, {rows:,} person records "
            f"({final['residents'] / elapsed:,.0f} residents/s, {rows / elapsed:,.0f} person records/s).")
        self.stdout.write("This is synthetic data: every person in it is fictitious. Logins:")
        for login in demo_logins():
            self.stdout.write(f"  {login.username:<12} {login.password:<14} {login.description}")

    def _second_county(self, opts) -> None:
        import json

        from renkou.demo.second_county import second_county_build

        code = opts["second_county"]
        if not opts["partner_file"]:
            raise CommandError("--second-county needs --partner-file (written by `renkou exchange demo-partner`).")
        export = json.loads(Path(opts["partner_file"]).read_text(encoding="utf-8"))
        try:
            counts = second_county_build(code=code, name=opts["second_county_name"], export=export,
                                         residents=max(100, min(opts["persons"], 5000)), seed=opts["seed"])
        except (ValueError, DemoError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"county {code} ({opts['second_county_name']}): {counts['persons']} persons on its register, "
            f"{counts['records']} migrants from {export['county']} recorded, {counts['requests']} verification "
            f"requests and {counts['birth_notices']} birth notices queued. Run both nodes: "
            f"RENKOU_COUNTY_CODE={code} renkou exchange run (here) and renkou exchange run (first county).")
