"""Writes of the duplicate module: running a scan and storing its pairs, merging a pair, marking it as two people.

The register is read through ``registry.selectors_linkage`` and merged through ``registry.services.person_merge``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from renkou.accounts.models import AuditAction, User
from renkou.accounts.scope import scope_for
from renkou.accounts.services import audit_record
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation
from renkou.core.jobs import Heartbeat, run_in_background
from renkou.dedup import engine
from renkou.dedup.models import CandidatePair, PairStatus, Scan, ScanStatus
from renkou.orgunits.models import OrgUnit, UnitLevel
from renkou.orgunits.selectors import unit_subtree_ids
from renkou.registry.models import Person
from renkou.registry.selectors_linkage import persons_for_linkage
from renkou.registry.services import person_merge

log = logging.getLogger(__name__)

# Pairs at or above this match probability are stored for review (see docs/dedup.md for how it was chosen).
DEFAULT_THRESHOLD = 0.7


@dataclass
class ScanOutcome:
    scan: Scan
    pairs: list[tuple[int, int, float]]  # every pair found (id_a, id_b, score), also those reviewed before


def _scan_units(by: User | None, unit: OrgUnit | None) -> tuple[OrgUnit | None, list[int] | None]:
    """The units to scan: the given unit's subtree within the user's scope; None for the whole county."""
    if by is None:  # the command line without --user: the whole register
        if unit is None or unit.level == UnitLevel.COUNTY:
            return unit, None
        return unit, unit_subtree_ids(unit)
    scope = scope_for(by)
    if not scope.can_write:
        raise PermissionDenied
    target = unit or scope.unit
    if target is None or not scope.covers(target.pk):
        raise NotFound
    if target.level == UnitLevel.COUNTY:
        return target, None
    return target, sorted(set(unit_subtree_ids(target)) & scope.unit_ids)


# A running scan beats every HEARTBEAT_SECONDS; one silent for STALE_AFTER died with its process.
HEARTBEAT_SECONDS = 20
STALE_AFTER = timedelta(minutes=2)


def scans_mark_interrupted() -> int:
    """Mark the running scans whose heartbeat stopped (their process was killed) as failed; returns how many."""
    return Scan.objects.filter(status=ScanStatus.RUNNING, heartbeat_at__lt=timezone.now() - STALE_AFTER).update(
        status=ScanStatus.FAILED, finished_at=timezone.now(),
        message=str(_("Interrupted (the server stopped during the scan); no pairs were changed.")))


def scan_create(*, by: User | None, unit: OrgUnit | None = None, threshold: float = DEFAULT_THRESHOLD,
                channel: str = "web") -> Scan:
    """Record a scan about to run (status running) after checking the caller may scan ``unit``; one at a time."""
    if not 0 < threshold < 1:
        raise RuleViolation("threshold", _("The threshold is a probability between 0 and 1."))
    unit, _unit_ids = _scan_units(by, unit)
    scans_mark_interrupted()
    with transaction.atomic():
        if Scan.objects.select_for_update().filter(status=ScanStatus.RUNNING).exists():
            raise RuleViolation("scan", _("A duplicate scan is already running; wait for it to finish."),
                                code="scan_running")
        now = timezone.now()
        return Scan.objects.create(started_at=now, heartbeat_at=now, status=ScanStatus.RUNNING,
                                   by=by if by is not None and by.is_authenticated else None, unit=unit,
                                   threshold=threshold)


def scan_run(*, by: User | None, unit: OrgUnit | None = None, threshold: float = DEFAULT_THRESHOLD,
             channel: str = "web", seed: int = 1) -> ScanOutcome:
    """Find the likely duplicates among the persons of ``unit`` (default: the user's area) and store them, in
    the caller's thread (the command line, tests); the pages and the API start it in the background."""
    scan = scan_create(by=by, unit=unit, threshold=threshold, channel=channel)
    return scan_execute(scan_id=scan.pk, channel=channel, seed=seed)


def scan_start(*, by: User, unit: OrgUnit | None = None, threshold: float = DEFAULT_THRESHOLD,
               channel: str = "web") -> Scan:
    """Record a scan and run it in the background (a scan of a large county takes minutes); returns its record,
    which the page and the API poll."""
    scan = scan_create(by=by, unit=unit, threshold=threshold, channel=channel)
    run_in_background(_scan_job, scan.pk, channel, name=f"duplicate-scan-{scan.pk}")
    scan.refresh_from_db()
    return scan


def _scan_job(scan_id: int, channel: str) -> None:
    try:
        if connection.in_atomic_block:  # run in place (tests): no second connection can see the record
            scan_execute(scan_id=scan_id, channel=channel)
            return
        with Heartbeat(lambda: Scan.objects.filter(pk=scan_id, status=ScanStatus.RUNNING).update(
                heartbeat_at=timezone.now()), every=HEARTBEAT_SECONDS):
            scan_execute(scan_id=scan_id, channel=channel)
    except Exception:  # noqa: BLE001 - a background job records its failure instead of vanishing
        log.exception("duplicate scan %s failed", scan_id)


def scan_execute(*, scan_id: int, channel: str = "web", seed: int = 1) -> ScanOutcome:
    """Run a recorded scan. A pair reviewed before (merged, or marked as two people) keeps its status; a pending
    pair found again gets its new score; a pending pair of these persons that is no longer found is dropped (by a
    scan of the whole county). The pairs and the scan's outcome are written in one transaction; a scan that fails
    is recorded as failed and changes no pair."""
    scan = Scan.objects.select_related("by", "unit").get(pk=scan_id)
    t = time.perf_counter()
    try:
        unit, unit_ids = _scan_units(scan.by, scan.unit)
        persons = persons_for_linkage(unit_ids)
        result = engine.find_pairs(persons, threshold=scan.threshold, seed=seed)
    except Exception as exc:
        Scan.objects.filter(pk=scan_id).update(
            status=ScanStatus.FAILED, finished_at=timezone.now(), seconds=round(time.perf_counter() - t, 2),
            message=str(_("The scan failed: %(error)s; no pairs were changed.") % {"error": str(exc)[:200]}))
        raise
    rows = result.pairs.to_pylist()
    found = {(r["id_a"], r["id_b"]): r for r in rows}
    by = scan.by
    with transaction.atomic():
        existing = {(a, b): (pk, status) for pk, a, b, status in
                    CandidatePair.objects.values_list("pk", "person_a_id", "person_b_id", "status").iterator(chunk_size=5000)}
        new, update = [], []
        now = timezone.now()
        for key, r in found.items():
            explanation = engine.explain(r)
            if key not in existing:
                new.append(CandidatePair(person_a_id=key[0], person_b_id=key[1], score=r["score"],
                                         match_weight=r["match_weight"], explanation=explanation, scan=scan,
                                         found_at=now))
            elif existing[key][1] == PairStatus.PENDING:
                update.append(CandidatePair(pk=existing[key][0], score=r["score"], match_weight=r["match_weight"],
                                            explanation=explanation, scan=scan))
        CandidatePair.objects.bulk_create(new, batch_size=2000)
        CandidatePair.objects.bulk_update(update, ["score", "match_weight", "explanation", "scan"], batch_size=2000)
        # Only a scan of the whole county drops the pending pairs it no longer finds: a smaller scan trains its
        # model on fewer persons and must not undo the county's findings.
        if unit_ids is None:
            CandidatePair.objects.filter(status=PairStatus.PENDING).exclude(scan=scan).delete()
        scan.persons, scan.model = result.persons, result.model
        scan.pairs_found, scan.pairs_new = len(found), len(new)
        scan.status, scan.finished_at = ScanStatus.DONE, timezone.now()
        scan.seconds = round(time.perf_counter() - t, 2)
        scan.save(update_fields=["persons", "model", "pairs_found", "pairs_new", "status", "finished_at", "seconds"])
        audit_record(user=by, action=AuditAction.CREATE, object_type="duplicate_scan", object_id=str(scan.pk),
                     unit=unit, detail={"what": "duplicate_scan", "persons": result.persons,
                                        "pairs": len(found), "new": len(new)}, channel=channel)
    return ScanOutcome(scan=scan, pairs=[(a, b, r["score"]) for (a, b), r in found.items()])


def _pair_for_update(by: User, pair_id: int) -> CandidatePair:
    from renkou.dedup.selectors import pair_get_for_user

    pair_get_for_user(user=by, pair_id=pair_id)  # scope check: both persons in the user's area
    pair = CandidatePair.objects.select_for_update().get(pk=pair_id)
    if pair.status != PairStatus.PENDING:
        raise RuleViolation("pair", _("This pair was reviewed already."), code="reviewed")
    return pair


@transaction.atomic
def pair_merge(*, by: User, pair_id: int, survivor_id: int, purpose: str = "", channel: str = "web") -> Person:
    """Merge the pair into the chosen survivor (one of its two persons); the pair is marked merged and the
    duplicate's other pending pairs are handed to the survivor (or dropped when they would pair it with itself)."""
    if not scope_for(by).can_write:
        raise PermissionDenied
    pair = _pair_for_update(by, pair_id)
    if survivor_id not in (pair.person_a_id, pair.person_b_id):
        raise RuleViolation("survivor", _("Choose one of the two persons of the pair to keep."), code="survivor")
    duplicate_id = pair.person_b_id if survivor_id == pair.person_a_id else pair.person_a_id
    survivor = Person.objects.get(pk=survivor_id)
    duplicate = Person.objects.get(pk=duplicate_id)
    person_merge(by=by, survivor=survivor, duplicate=duplicate, purpose=purpose, channel=channel)
    now = timezone.now()
    pair.status, pair.reviewed_by, pair.reviewed_at, pair.survivor_id = PairStatus.MERGED, by, now, survivor_id
    pair.save(update_fields=["status", "reviewed_by", "reviewed_at", "survivor"])
    _hand_over_pairs(duplicate_id=duplicate_id, survivor_id=survivor_id, exclude=pair.pk)
    audit_record(user=by, action=AuditAction.UPDATE, object_type="duplicate_pair", object_id=str(pair.pk),
                 unit_id=survivor.residence_unit_id or survivor.registration_unit_id, purpose=purpose,
                 detail={"what": "pair_merge", "person": survivor_id, "merged": duplicate_id}, channel=channel)
    return Person.objects.get(pk=survivor_id)


def _hand_over_pairs(*, duplicate_id: int, survivor_id: int, exclude: int) -> None:
    others = list(CandidatePair.objects.filter(status=PairStatus.PENDING)
                  .filter(person_a_id=duplicate_id).exclude(pk=exclude)) + list(
        CandidatePair.objects.filter(status=PairStatus.PENDING).filter(person_b_id=duplicate_id).exclude(pk=exclude))
    for p in others:
        other = p.person_b_id if p.person_a_id == duplicate_id else p.person_a_id
        a, b = sorted((other, survivor_id))
        if a == b or CandidatePair.objects.filter(person_a_id=a, person_b_id=b).exists():
            p.delete()
            continue
        p.person_a_id, p.person_b_id = a, b
        p.save(update_fields=["person_a", "person_b"])


@transaction.atomic
def pair_mark_distinct(*, by: User, pair_id: int, channel: str = "web") -> CandidatePair:
    """Two different people: the pair is kept with this status and never offered again."""
    if not scope_for(by).can_write:
        raise PermissionDenied
    pair = _pair_for_update(by, pair_id)
    pair.status, pair.reviewed_by, pair.reviewed_at = PairStatus.DISTINCT, by, timezone.now()
    pair.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    unit_id = Person.objects.filter(pk=pair.person_a_id).values_list("residence_unit_id", flat=True).first()
    audit_record(user=by, action=AuditAction.UPDATE, object_type="duplicate_pair", object_id=str(pair.pk),
                 unit_id=unit_id, detail={"what": "pair_distinct", "persons": [pair.person_a_id, pair.person_b_id]},
                 channel=channel)
    return pair
