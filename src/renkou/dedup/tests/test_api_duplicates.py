"""The duplicate queue's JSON routes: scan, list, detail, merge, mark as two people — with scope and audit."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from renkou.accounts.models import AuditEntry
from renkou.dedup.models import CandidatePair, PairStatus
from renkou.dedup.services import scan_run
from renkou.registry.models import Event, Person
from renkou.registry.services import birth_register
from renkou.testing import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(register):
    scan_run(by=None)
    return register


def _pair_of(register, kind) -> CandidatePair:
    a, b = register.by_kind[kind]
    return CandidatePair.objects.get(person_a_id=min(a, b), person_b_id=max(a, b))


def test_an_officer_scans_their_township_through_the_api(personas, register):
    response = client_for(personas.dongcheng).post("/api/v1/duplicates/scan", {"threshold": 0.8},
                                                   content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    in_dongcheng = Person.objects.filter(residence_unit__path__contains=f"/{personas.dongcheng.unit_id}/").count()
    assert body["persons"] == in_dongcheng and body["pairs_found"] >= 30 and body["pairs_new"] == body["pairs_found"]
    assert CandidatePair.objects.filter(status=PairStatus.PENDING).count() == body["pairs_found"]
    assert AuditEntry.objects.filter(object_type="duplicate_scan", username="dongcheng").count() == 1


def test_a_scan_outside_the_callers_area_or_by_a_viewer_is_refused(personas, register, county):
    c = client_for(personas.xicheng)
    assert c.post("/api/v1/duplicates/scan", {"unit": county.dongcheng.code},
                  content_type="application/json").status_code == 404
    assert client_for(personas.viewer).post("/api/v1/duplicates/scan", {},
                                            content_type="application/json").status_code == 403
    assert client_for().post("/api/v1/duplicates/scan", {}, content_type="application/json").status_code == 401
    assert c.post("/api/v1/duplicates/scan", {"threshold": 1.5}, content_type="application/json").status_code == 422
    assert not CandidatePair.objects.exists()


def test_the_list_shows_pairs_in_the_callers_area_masked_and_audited(personas, scanned):
    c = client_for(personas.dongcheng)
    response = c.get("/api/v1/duplicates/pairs?page_size=10")
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
    assert client_for(personas.xicheng).get("/api/v1/duplicates/pairs").json()["count"] == 0
    assert client_for(personas.viewer).get("/api/v1/duplicates/pairs").status_code == 403


def test_the_list_costs_the_same_queries_for_10_and_50_pairs(personas, scanned):
    c = client_for(personas.admin)
    counts = []
    for size in (10, 30):
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(f"/api/v1/duplicates/pairs?page_size={size}").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_the_detail_of_a_pair_explains_each_field(personas, scanned):
    pair = _pair_of(scanned, "name_changed")
    response = client_for(personas.dongcheng).get(f"/api/v1/duplicates/pairs/{pair.pk}")
    assert response.status_code == 200
    fields = {f["field"]: f for f in response.json()["fields"]}
    assert fields["name"]["level"] == "one_character" and fields["birth_date"]["agree"] == "exact"
    assert client_for(personas.xicheng).get(f"/api/v1/duplicates/pairs/{pair.pk}").status_code == 404
    assert client_for(personas.dongcheng).get("/api/v1/duplicates/pairs/999999").status_code == 404


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
    c = client_for(personas.dongcheng)
    response = c.post(f"/api/v1/duplicates/pairs/{pair.pk}/merge", {"survivor": original.pk, "purpose": "同一人"},
                      content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["survivor"] == original.pk and body["merged"] == duplicate.pk and body["pair"]["status"] == "merged"
    assert Event.objects.get(pk=event.pk).mother_id == original.pk
    assert Person.objects.get(pk=duplicate.pk).merged_into_id == original.pk
    pair.refresh_from_db()
    assert pair.reviewed_by == personas.dongcheng and pair.survivor_id == original.pk
    again = c.post(f"/api/v1/duplicates/pairs/{pair.pk}/merge", {"survivor": original.pk},
                   content_type="application/json")
    assert again.status_code == 422 and again.json()["errors"][0]["code"] == "reviewed"


def test_a_survivor_outside_the_pair_and_an_officer_outside_the_area_are_refused(personas, scanned):
    pair = _pair_of(scanned, "fifteen_digits")
    other = Person.objects.exclude(pk__in=[pair.person_a_id, pair.person_b_id]).first()
    c = client_for(personas.dongcheng)
    response = c.post(f"/api/v1/duplicates/pairs/{pair.pk}/merge", {"survivor": other.pk},
                      content_type="application/json")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "survivor"
    assert client_for(personas.xicheng).post(f"/api/v1/duplicates/pairs/{pair.pk}/merge",
                                             {"survivor": pair.person_a_id},
                                             content_type="application/json").status_code == 404
    assert client_for(personas.viewer).post(f"/api/v1/duplicates/pairs/{pair.pk}/distinct").status_code == 403
    assert CandidatePair.objects.get(pk=pair.pk).status == PairStatus.PENDING


def test_a_pair_marked_as_two_people_is_never_offered_again(personas, scanned):
    pair = _pair_of(scanned, "date_swapped")
    c = client_for(personas.dongcheng)
    response = c.post(f"/api/v1/duplicates/pairs/{pair.pk}/distinct")
    assert response.status_code == 200 and response.json()["status"] == "distinct"
    assert client_for(personas.xicheng).post(f"/api/v1/duplicates/pairs/{pair.pk}/distinct").status_code == 404
    scan_run(by=None)  # found again by the next scan, it stays as the officer marked it
    pair.refresh_from_db()
    assert pair.status == PairStatus.DISTINCT and pair.reviewed_by == personas.dongcheng
    pending = c.get("/api/v1/duplicates/pairs?page_size=200").json()["items"]
    assert pair.pk not in {p["id"] for p in pending}
    distinct = c.get("/api/v1/duplicates/pairs?status=distinct").json()["items"]
    assert [p["id"] for p in distinct] == [pair.pk]
