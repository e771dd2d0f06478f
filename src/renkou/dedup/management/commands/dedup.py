"""renkou dedup [--unit CODE] [--user NAME] [--threshold P] [--list N]: find persons registered twice."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from renkou.accounts.selectors import user_get_by_username
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation
from renkou.dedup.models import CandidatePair, PairStatus
from renkou.dedup.services import DEFAULT_THRESHOLD, scan_run
from renkou.orgunits.selectors import unit_get_by_code


class Command(BaseCommand):
    help = ("Find persons registered twice (a Splink model trained on the register, on DuckDB) and store the "
            "pairs for review in the duplicates queue. Pairs marked as two people are never offered again.")

    def add_arguments(self, parser):
        parser.add_argument("--unit", help="statistical code of the unit to scan (default: the user's unit, or "
                                           "the whole county)")
        parser.add_argument("--user", help="scan as this user (within their area; recorded in the audit log)")
        parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                            help=f"match probability from which a pair is stored (default {DEFAULT_THRESHOLD})")
        parser.add_argument("--list", type=int, default=0, metavar="N",
                            help="print the N best pending pairs afterwards (ID numbers masked)")

    def handle(self, *args, **opts):
        user = None
        if opts["user"]:
            user = user_get_by_username(opts["user"])
            if user is None:
                raise CommandError(f"No user {opts['user']!r}.")
        unit = None
        if opts["unit"]:
            unit = unit_get_by_code(code=opts["unit"])
            if unit is None:
                raise CommandError(f"No unit with code {opts['unit']!r}.")
        try:
            outcome = scan_run(by=user, unit=unit, threshold=opts["threshold"], channel="cli")
        except RuleViolation as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from exc
        except (NotFound, PermissionDenied) as exc:
            raise CommandError("This user may not scan that unit.") from exc
        scan = outcome.scan
        pending = CandidatePair.objects.filter(status=PairStatus.PENDING).count()
        self.stdout.write(f"Scanned {scan.persons:,} persons in {scan.seconds:.1f} s: {scan.pairs_found:,} pairs at "
                          f"probability ≥ {scan.threshold}, {scan.pairs_new:,} new; {pending:,} pending review.")
        if opts["list"]:
            from renkou.registry.idnumbers import mask

            for pair in (CandidatePair.objects.filter(status=PairStatus.PENDING)
                         .select_related("person_a", "person_b").order_by("-score", "id")[: opts["list"]]):
                a, b = pair.person_a, pair.person_b
                self.stdout.write(f"  {pair.pk:>7} {pair.score:.3f}  {a.name} {a.birth_date} {mask(a.id_number or '')}"
                                  f"  |  {b.name} {b.birth_date} {mask(b.id_number or '')}")
