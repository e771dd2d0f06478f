"""Scanning again, the count for the data-quality page, and the command line."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from renkou.dedup.models import CandidatePair, PairStatus, Scan
from renkou.dedup.selectors import pending_pairs_count
from renkou.dedup.services import pair_merge, scan_run
from renkou.orgunits.selectors import unit_subtree_ids

pytestmark = pytest.mark.django_db


def test_a_second_scan_updates_pending_pairs_and_never_pairs_a_retired_record(personas, register):
    first = scan_run(by=None)
    count = CandidatePair.objects.count()
    a, b = register.by_kind["exact_copy_no_id"]
    pair = CandidatePair.objects.get(person_a_id=a, person_b_id=b)
    pair_merge(by=personas.admin, pair_id=pair.pk, survivor_id=a, purpose="同一人")
    second = scan_run(by=None)
    assert second.scan.pairs_new == 0
    # the merged pair stays as the trace of the merge; the retired record is in no pending pair
    assert CandidatePair.objects.get(pk=pair.pk).status == PairStatus.MERGED
    assert not CandidatePair.objects.filter(status=PairStatus.PENDING, person_b_id=b).exists()
    assert not CandidatePair.objects.filter(status=PairStatus.PENDING, person_a_id=b).exists()
    assert CandidatePair.objects.count() == count
    assert second.scan.persons == first.scan.persons - 1
    assert Scan.objects.count() == 2


def test_pending_pairs_count_counts_the_pairs_touching_the_units(county, register):
    scan_run(by=None)
    dongcheng = unit_subtree_ids(county.dongcheng)
    pending = CandidatePair.objects.filter(status=PairStatus.PENDING).select_related("person_a", "person_b")
    expected = sum(1 for p in pending if p.person_a.residence_unit_id in dongcheng
                   or p.person_b.residence_unit_id in dongcheng)
    assert pending_pairs_count(dongcheng) == expected >= 30
    assert pending_pairs_count([county.dc_village1.pk]) < expected
    assert pending_pairs_count([]) == 0
    CandidatePair.objects.update(status=PairStatus.DISTINCT)
    assert pending_pairs_count(dongcheng) == 0


def test_the_command_scans_and_lists_the_best_pairs_masked(register):
    out = StringIO()
    call_command("dedup", "--list", "3", stdout=out)
    text = out.getvalue()
    assert text.startswith(f"Scanned {len(register.persons) + len(register.truth):,} persons")
    lines = [line for line in text.splitlines() if "|" in line]
    assert len(lines) == 3
    assert all(p.id_number[6:14] not in text for p in register.persons[:5] if p.id_number)


def test_the_command_refuses_an_unknown_unit_or_user(register):
    with pytest.raises(CommandError, match="No unit"):
        call_command("dedup", "--unit", "999999999999")
    with pytest.raises(CommandError, match="No user"):
        call_command("dedup", "--user", "nobody")
    with pytest.raises(CommandError, match="threshold"):
        call_command("dedup", "--threshold", "2")


def test_a_scan_that_fails_is_recorded_and_changes_no_pair(personas, register, monkeypatch):
    scan_run(by=None)
    before = sorted(CandidatePair.objects.values_list("person_a_id", "person_b_id", "score", "status"))

    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr("renkou.dedup.engine.find_pairs", broken)
    with pytest.raises(MemoryError):
        scan_run(by=None)
    failed = Scan.objects.first()
    assert failed.status == "failed" and "out of memory" in failed.message and failed.finished_at
    assert sorted(CandidatePair.objects.values_list("person_a_id", "person_b_id", "score", "status")) == before
