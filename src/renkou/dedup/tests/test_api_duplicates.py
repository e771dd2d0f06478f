"""The duplicate queue's JSON routes: scan, list, detail, merge, mark as two people — with scope and audit."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from renkou.accounts.models import AuditEntry
from renkou.dedup.models import CandidatePair, PairStatus, Scan, ScanStatus
from renkou.dedup.services import scan_run
from renkou.registry.models import Event, Person
from renkou.registry.services import birth_register
from renkou.testing import client_for

PREFIX = "/api/v1"


class _Api:
    """The JSON API as a caller sees it (paths below /api/v1, JSON bodies)."""

    def __init__(self, client):
        self.client = client

    def get(self, path: str):
        return self.client.get(PREFIX + path)

    def post(self, path: str, body: dict | None = None):
        return self.client.post(PREFIX + path, body or {}, content_type="application/json")


def api(user=None) -> _Api:
    return _Api(client_for(user))

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(register):
    scan_run(by=None)
    return register


def _pair_of(register, kind) -> CandidatePair:
    a, b = register.by_kind[kind]
    return CandidatePair.objects.get(person_a_id=min(a, b), person_b_id=max(a, b))


def test_an_officer_scans_their_township_through_the_api(personas, register):
    response = api(personas.dongcheng).post("/duplicates/scan", {"threshold": 0.8})
    assert response.status_code == 202, response.content
    body = response.json()
    # in a test transaction the job runs in place: done when the answer comes
    assert body["status"] == "done" and body["finished_at"] and body["message"] == ""
    assert api(personas.dongcheng).get(f"/duplicates/scans/{body['id']}").json() == body
    in_dongcheng = Person.objects.filter(residence_unit__path__contains=f"/{personas.dongcheng.unit_id}/").count()
    assert body["persons"] == in_dongcheng and body["pairs_found"] >= 30 and body["pairs_new"] == body["pairs_found"]
    assert CandidatePair.objects.filter(status=PairStatus.PENDING).count() == body["pairs_found"]
    assert AuditEntry.objects.filter(object_type="duplicate_scan", username="dongcheng").count() == 1


def test_a_scan_outside_the_callers_area_or_by_a_viewer_is_refused(personas, register, county):
    c = api(personas.xicheng)
    assert c.post("/duplicates/scan", {"unit": county.dongcheng.code}).status_code == 404
    assert api(personas.viewer).post("/duplicates/scan", {}).status_code == 403
    assert api().post("/duplicates/scan", {}).status_code == 401
    assert c.post("/duplicates/scan", {"threshold": 1.5}).status_code == 422
    not_an_object = client_for(personas.xicheng).post(PREFIX + "/duplicates/scan", "[null, null]",
                                                      content_type="application/json")
    assert not_an_object.status_code == 422
    assert not CandidatePair.objects.exists()


def test_a_scan_is_read_by_writers_only_and_a_second_scan_waits_for_the_first(personas, register):
    running = Scan.objects.create(started_at=timezone.now(), heartbeat_at=timezone.now(), status=ScanStatus.RUNNING,
                                  threshold=0.7)
    c = api(personas.dongcheng)
    refused = c.post("/duplicates/scan", {})
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "scan_running"
    assert c.get(f"/duplicates/scans/{running.pk}").json()["status"] == "running"
    assert api(personas.viewer).get(f"/duplicates/scans/{running.pk}").status_code == 403
    assert c.get("/duplicates/scans/99999").status_code == 404
    # the process running it died: its heartbeat stopped; the scan is reported interrupted and a new one may run
    Scan.objects.filter(pk=running.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    body = c.get(f"/duplicates/scans/{running.pk}").json()
    assert body["status"] == "failed" and body["message"].startswith("Interrupted")
    assert c.post("/duplicates/scan", {}).json()["status"] == "done"


def test_the_list_shows_pairs_in_the_callers_area_masked_and_audited(personas, scanned):
    c = api(personas.dongcheng)
    response = c.get("/duplicates/pairs?page_size=10")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] >= 30 and len(body["items"]) == 10 and body["has_next"]
    scores = [p["score"] for p in body["items"]]
    assert scores == sorted(scores, reverse=True)
    first = body["items"][0]
    assert "*" in first["a"]["id_number_masked"] or first["a"]["id_number_masked"] == ""
    assert {f["field"] for f in first["fields"]} == {"name", "birth_date", "id_number", "sex", "unit"}
    entry = AuditEntry.objects.get(object_type="duplicate_pair", username="dongcheng")
    assert entry.detail["pairs"] == [p["id"] for p in body["items"]]
    # 西城's officer sees none of 东城's pairs; the aggregate viewer sees none at all
    assert api(personas.xicheng).get("/duplicates/pairs").json()["count"] == 0
    assert api(personas.viewer).get("/duplicates/pairs").status_code == 403


def test_the_list_costs_the_same_queries_for_10_and_50_pairs(personas, scanned):
    c = api(personas.admin)
    counts = []
    for size in (10, 30):
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(f"/duplicates/pairs?page_size={size}").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_the_detail_of_a_pair_explains_each_field(personas, scanned):
    pair = _pair_of(scanned, "name_changed")
    response = api(personas.dongcheng).get(f"/duplicates/pairs/{pair.pk}")
    assert response.status_code == 200
    fields = {f["field"]: f for f in response.json()["fields"]}
    assert fields["name"]["level"] in {"one_character", "sounds_alike"} and fields["name"]["agree"] == "close"
    assert fields["birth_date"]["agree"] == "exact"
    assert api(personas.xicheng).get(f"/duplicates/pairs/{pair.pk}").status_code == 404
    assert api(personas.dongcheng).get("/duplicates/pairs/999999").status_code == 404


def test_merging_from_the_queue_keeps_the_events_and_retires_the_other_record(personas, scanned):
    pair = _pair_of(scanned, "missing_id")
    original, duplicate = Person.objects.get(pk=pair.person_a_id), Person.objects.get(pk=pair.person_b_id)
    if original.sex != "2":  # give the record that goes a birth, so that the merge has an event to move
        Person.objects.filter(pk__in=[original.pk, duplicate.pk]).update(sex="2")
        duplicate.refresh_from_db()
    duplicate.birth_date = min(duplicate.birth_date, date(1990, 1, 1))
    Person.objects.filter(pk__in=[original.pk, duplicate.pk]).update(birth_date=duplicate.birth_date)
    duplicate.refresh_from_db()
    event = birth_register(by=personas.dongcheng, mother=duplicate, born_on=date(2015, 5, 5), sex="1", name="王小")
    c = api(personas.dongcheng)
    response = c.post(f"/duplicates/pairs/{pair.pk}/merge", {"survivor": original.pk, "purpose": "同一人"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["survivor"] == original.pk and body["merged"] == duplicate.pk and body["pair"]["status"] == "merged"
    assert Event.objects.get(pk=event.pk).mother_id == original.pk
    assert Person.objects.get(pk=duplicate.pk).merged_into_id == original.pk
    pair.refresh_from_db()
    assert pair.reviewed_by == personas.dongcheng and pair.survivor_id == original.pk
    again = c.post(f"/duplicates/pairs/{pair.pk}/merge", {"survivor": original.pk})
    assert again.status_code == 422 and again.json()["errors"][0]["code"] == "reviewed"


def test_a_survivor_outside_the_pair_and_an_officer_outside_the_area_are_refused(personas, scanned):
    pair = _pair_of(scanned, "fifteen_digits")
    other = Person.objects.exclude(pk__in=[pair.person_a_id, pair.person_b_id]).first()
    c = api(personas.dongcheng)
    response = c.post(f"/duplicates/pairs/{pair.pk}/merge", {"survivor": other.pk})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "survivor"
    assert api(personas.xicheng).post(f"/duplicates/pairs/{pair.pk}/merge",
                                             {"survivor": pair.person_a_id}).status_code == 404
    assert api(personas.viewer).post(f"/duplicates/pairs/{pair.pk}/distinct").status_code == 403
    assert CandidatePair.objects.get(pk=pair.pk).status == PairStatus.PENDING


def test_a_pair_marked_as_two_people_is_never_offered_again(personas, scanned):
    pair = _pair_of(scanned, "date_swapped")
    c = api(personas.dongcheng)
    response = c.post(f"/duplicates/pairs/{pair.pk}/distinct")
    assert response.status_code == 200 and response.json()["status"] == "distinct"
    assert api(personas.xicheng).post(f"/duplicates/pairs/{pair.pk}/distinct").status_code == 404
    scan_run(by=None)  # found again by the next scan, it stays as the officer marked it
    pair.refresh_from_db()
    assert pair.status == PairStatus.DISTINCT and pair.reviewed_by == personas.dongcheng
    pending = c.get("/duplicates/pairs?page_size=200").json()["items"]
    assert pair.pk not in {p["id"] for p in pending}
    distinct = c.get("/duplicates/pairs?status=distinct").json()["items"]
    assert [p["id"] for p in distinct] == [pair.pk]
