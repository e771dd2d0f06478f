"""The exchange's API routes, as the county administrator, and refused to the wrong personas."""

from __future__ import annotations

from datetime import date

import pytest

from renkou.accounts.models import AuditEntry
from renkou.migrants import services
from renkou.migrants.models import OutboxMessage
from renkou.migrants.tests.conftest import A, B, person_in
from renkou.registry.tests.test_api_base import Api, assert_error


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.fixture
def received(county, second_county):
    """A request from B that A could not match, and one it matched (answered automatically)."""
    mei = person_in(county.dc_village1, name="李梅", marital_status="20")
    for name, number in (("无名氏", ""), ("李梅", mei.id_number)):
        services.verify_request_send(county_code=B, to_county=A, name=name, sex="2", birth_date=mei.birth_date,
                                     id_number=number, sender_role="destination", pregnant=True, by=None)
    for row in OutboxMessage.objects.filter(county_code=B):
        services.message_receive(county_code=A, raw=bytes(row.body), sender=B)
    return mei


def test_status_inbox_outbox_and_unmatched(api, personas, received):
    admin = api.as_(personas.admin)
    status = admin.get("/exchange/status").json()
    assert (status["county_code"], status["unmatched"], status["requests_open"]) == (A, 1, 1)
    assert status["inbox"]["applied"] == 1 and status["outbox_pending"] == 1  # the automatic feedback
    inbox = admin.get("/exchange/inbox").json()
    assert sorted(m["status"] for m in inbox) == ["applied", "unmatched"]
    assert [m["status"] for m in admin.get("/exchange/inbox", status="unmatched").json()] == ["unmatched"]
    outbox = admin.get("/exchange/outbox", pending="true").json()
    assert [(m["kind"], m["other_county"], m["status"]) for m in outbox] == [("feedback", B, "pending")]
    unmatched = admin.get("/exchange/unmatched").json()
    assert [m["kind"] for m in unmatched] == ["verify_request"]


def test_requests_due_and_answer(api, personas, received):
    admin = api.as_(personas.admin)
    due = admin.get("/exchange/requests/due").json()
    rid = due[0]["id"]
    assert [(r["name"], r["days_left"], r["pregnant"]) for r in due] == [("无名氏", 15, True)]
    assert admin.get("/exchange/requests/due", overdue="true").json() == []
    answered = admin.post(f"/exchange/requests/{rid}/answer",
                          {"matched": False, "verified": {}, "note": "查无此人"}).json()
    assert (answered["matched"], answered["note"], answered["days_left"]) == (False, "查无此人", None)
    assert admin.get("/exchange/requests/due").json() == []
    assert_error(admin.post(f"/exchange/requests/{rid}/answer", {"matched": False}), 422, "request")
    listed = admin.get("/exchange/requests", role="received").json()
    assert {r["name"] for r in listed} == {"无名氏", "李梅"}
    assert all("*" in r["id_number_masked"] or r["id_number_masked"] == "" for r in listed)
    assert AuditEntry.objects.filter(action="exchange.answer").count() == 1


def test_answer_refuses_a_field_the_exchange_does_not_carry(api, personas, received):
    admin = api.as_(personas.admin)
    rid = admin.get("/exchange/requests/due").json()[0]["id"]
    r = admin.post(f"/exchange/requests/{rid}/answer", {"matched": True, "verified": {"phone": "138"}})
    assert_error(r, 422, "verified")


def test_send_a_request_and_record_a_migrant(api, personas, county):
    admin = api.as_(personas.admin)
    r = admin.post("/exchange/requests", {"to_county": B, "name": "王芳", "sex": "2", "birth_date": "1990-01-01",
                                          "sender_role": "origin"})
    assert r.status_code == 201, r.content
    assert (r.json()["role"], r.json()["other_county"], r.json()["days_left"]) == ("sent", B, 30)
    assert_error(admin.post("/exchange/requests", {"to_county": "050000", "name": "王芳", "sex": "2",
                                                   "birth_date": "1990-01-01", "sender_role": "origin"}),
                 422, "to_county")
    m = admin.post("/exchange/migrants", {"direction": "in", "other_county_code": B, "name": "外来者", "sex": "1",
                                          "birth_date": "1985-02-02", "since": "2025-01-01",
                                          "address_here": "东城路9号", "occupation": "厨师"})
    assert m.status_code == 201, m.content
    assert m.json()["submitted_at"] is not None
    assert OutboxMessage.objects.filter(county_code=A, kind="case_record", to_county=B).count() == 1
    assert [x["name"] for x in admin.get("/exchange/migrants", direction="in").json()] == ["外来者"]
    out = admin.post("/exchange/migrants", {"direction": "out", "other_county_code": B, "name": "不在册",
                                            "sex": "1", "birth_date": "1985-02-02", "since": "2025-01-01"})
    assert_error(out, 422, "id_number")
    bad = admin.post("/exchange/migrants", {"direction": "in", "other_county_code": B, "name": "外来者", "sex": "1",
                                            "birth_date": "1985-02-02", "since": "2025-01-01", "marital_status": "U"})
    assert_error(bad, 422, "marital_status")
    assert_error(admin.post("/exchange/migrants", {
        "direction": "in", "other_county_code": B, "name": "外来者", "sex": "1", "birth_date": "1985-02-02",
        "since": "2025-01-01", "id_number": "110105194913310021"}), 422, "id_number")


def test_person_history(api, personas, received):
    admin = api.as_(personas.admin)
    history = admin.get(f"/exchange/persons/{received.pk}/history").json()
    assert sorted((h["what"], h["kind"], h["other_county"]) for h in history) == [
        ("received", "verify_request", B), ("sent", "feedback", B)]
    assert admin.get("/exchange/persons/999999/history").status_code == 404


def test_rates_and_two_way(api, personas, received):
    admin = api.as_(personas.admin)
    year = str(date.today().year)
    rates = admin.get("/exchange/rates", period=year).json()
    assert rates["figures"]["requests_received"] == 2 and rates["figures"]["requests_answered"] == 1
    assert rates["figures"]["feedback_rate"] == 50.0
    assert rates["targets"] == {"submission_rate": 70.0, "feedback_rate": 80.0, "timeliness": 90.0}
    assert_error(admin.get("/exchange/rates", period="20X5"), 422, "period")
    (row,) = admin.get("/exchange/two-way", period=year).json()
    assert row["partner"] == B and row["as_origin"]["feedback_rate"] == 50.0


def test_unmatched_resolve(api, personas, county, second_county):
    services.migrant_record_create(county_code=B, by=None, data=services.MigrantIn(
        direction="in", other_county_code=A, name="查无", sex="1", birth_date=date(1970, 1, 1),
        since=date(2024, 1, 1)))
    row = OutboxMessage.objects.get(county_code=B)
    assert services.message_receive(county_code=A, raw=bytes(row.body), sender=B) == "unmatched"
    admin = api.as_(personas.admin)
    (item,) = admin.get("/exchange/unmatched").json()
    iid = item["id"]
    assert admin.post(f"/exchange/unmatched/{iid}/resolve").json() == {"id": item["id"], "status": "resolved"}
    assert admin.get("/exchange/unmatched").json() == []
    assert admin.post(f"/exchange/unmatched/{iid}/resolve").status_code == 422


@pytest.mark.parametrize("persona", ["dongcheng", "reporter", "viewer"])
def test_the_exchange_is_refused_below_the_county_and_without_personal_data(api, personas, persona, received):
    caller = api.as_(getattr(personas, persona))
    assert caller.get("/exchange/status").status_code == 403
    assert caller.get("/exchange/requests/due").status_code == 403
    assert api.as_(None).get("/exchange/status").status_code == 401


def test_the_statistician_reads_but_may_not_answer(api, personas, received):
    stat = api.as_(personas.statistician)
    due = stat.get("/exchange/requests/due").json()
    assert len(due) == 1
    rid = due[0]["id"]
    assert stat.post(f"/exchange/requests/{rid}/answer", {"matched": False}).status_code == 403


def test_dead_letters_listed_and_retried(api, personas, county, second_county):
    """A dead letter (a message whose processing failed on every delivery) is listed and applied again on retry;
    the statistician reads but may not retry (the whole path from the consumer: test_exchange_batches.py)."""
    from renkou.migrants.models import InboxMessage

    mei = person_in(county.dc_village1, name="李梅")
    services.verify_request_send(county_code=B, to_county=A, name=mei.name, sex="2", birth_date=mei.birth_date,
                                 id_number=mei.id_number, sender_role="destination", by=None)
    row = OutboxMessage.objects.get(county_code=B)
    (item,) = services.unpack(bytes(row.body), county_code=A, sender=B)
    dead = services.dead_letter_record(county_code=A, item=item, error="RuntimeError: boom", deliveries=5)
    admin = api.as_(personas.admin)
    assert admin.get("/exchange/status").json()["dead"] == 1
    (listed,) = admin.get("/exchange/dead").json()
    assert (listed["id"], listed["status"], listed["reason"]) == (dead.pk, "dead", "failed 5 times: RuntimeError: boom")
    assert [m["id"] for m in admin.get("/exchange/inbox", status="dead").json()] == [dead.pk]
    assert api.as_(personas.statistician).post(f"/exchange/dead/{dead.pk}/retry").status_code == 403
    answer = admin.post(f"/exchange/dead/{dead.pk}/retry").json()
    assert answer["status"] == "applied"
    assert InboxMessage.objects.get(pk=answer["id"]).message_id == row.message_id
    assert OutboxMessage.objects.filter(county_code=A, kind="feedback").count() == 1  # answered once
    assert admin.get("/exchange/dead").json() == []
    assert admin.post(f"/exchange/dead/{dead.pk}/retry").status_code == 404
