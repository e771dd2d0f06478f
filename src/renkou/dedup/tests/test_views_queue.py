"""The queue pages: list, pair side by side, merge, two people, scan — with scope, masking and audit."""

import pytest
from django.utils import timezone

from renkou.accounts.models import AuditEntry
from renkou.dedup.models import CandidatePair, PairStatus, Scan, ScanStatus
from renkou.dedup.services import scan_run
from renkou.registry.models import Person
from renkou.testing import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(register):
    scan_run(by=None)
    return register


def _pair(register, kind):
    a, b = register.by_kind[kind]
    return CandidatePair.objects.get(person_a_id=min(a, b), person_b_id=max(a, b))


def test_the_queue_lists_pending_pairs_with_masked_numbers(personas, scanned):
    response = client_for(personas.dongcheng).get("/duplicates/")
    assert response.status_code == 200
    html = response.content.decode()
    pair = _pair(scanned, "mistyped_id")
    original = Person.objects.get(pk=pair.person_a_id)
    assert f"/duplicates/{pair.pk}/" in html and original.name in html
    assert original.id_number not in html and original.id_number[:4] + "*" in html
    assert AuditEntry.objects.filter(object_type="duplicate_pair", detail__what="duplicate_queue").count() == 1
    assert "Scan for duplicates" in html


def test_the_queue_is_empty_for_another_township_and_refused_to_a_viewer(personas, scanned):
    html = client_for(personas.xicheng).get("/duplicates/").content.decode()
    assert "No pairs are waiting for review in your area." in html
    assert client_for(personas.viewer).get("/duplicates/").status_code == 403
    assert client_for().get("/duplicates/").status_code == 302


def test_a_pair_is_shown_side_by_side_with_the_agreement_of_each_field(personas, scanned):
    pair = _pair(scanned, "name_changed")
    response = client_for(personas.dongcheng).get(f"/duplicates/{pair.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "one character differs" in html and 'class="agree-close"' in html and 'class="agree-exact"' in html
    assert pair.person_a.name in html and pair.person_b.name in html
    assert client_for(personas.xicheng).get(f"/duplicates/{pair.pk}/").status_code == 404


def test_merging_and_marking_from_the_pages(personas, scanned):
    c = client_for(personas.dongcheng)
    pair = _pair(scanned, "missing_id")
    response = c.post(f"/duplicates/{pair.pk}/merge/", {"survivor": pair.person_a_id, "purpose": "同一人"})
    assert response.status_code == 302 and response["Location"] == "/duplicates/"
    assert Person.objects.get(pk=pair.person_b_id).merged_into_id == pair.person_a_id
    other = _pair(scanned, "date_swapped")
    bad = c.post(f"/duplicates/{other.pk}/merge/", {"survivor": "x"})
    assert bad.status_code == 422 and "Choose the record to keep." in bad.content.decode()
    assert c.post(f"/duplicates/{other.pk}/distinct/").status_code == 302
    assert CandidatePair.objects.get(pk=other.pk).status == PairStatus.DISTINCT
    assert client_for(personas.xicheng).post(f"/duplicates/{other.pk}/distinct/").status_code == 404


def test_the_scan_button_runs_a_scan_of_the_officers_area(personas, register):
    response = client_for(personas.dongcheng).post("/duplicates/scan/", follow=True)
    assert response.status_code == 200
    assert CandidatePair.objects.filter(status=PairStatus.PENDING).count() >= 30
    scan = Scan.objects.get()
    assert scan.status == "done" and scan.by == personas.dongcheng
    status = client_for(personas.dongcheng).get(f"/duplicates/scan/{scan.pk}/").content.decode()
    assert 'data-status="done"' in status and "hx-get" not in status
    assert client_for(personas.viewer).post("/duplicates/scan/").status_code == 403
    assert client_for(personas.viewer).get(f"/duplicates/scan/{scan.pk}/").status_code == 403


def test_the_queue_shows_a_running_scan_polling_and_refuses_a_second(personas, register):
    running = Scan.objects.create(started_at=timezone.now(), heartbeat_at=timezone.now(), status=ScanStatus.RUNNING,
                                  threshold=0.7)
    c = client_for(personas.dongcheng)
    page = c.get("/duplicates/").content.decode()
    assert f'hx-get="/duplicates/scan/{running.pk}/"' in page and "A duplicate scan is running" in page
    again = c.post("/duplicates/scan/", follow=True).content.decode()
    assert "A duplicate scan is already running" in again
    assert Scan.objects.count() == 1
