"""The officer's pages (Chinese UI through the translation machinery; assertions read the English msgids)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from renkou.migrants import services
from renkou.migrants.models import ExchangeRequest, OutboxMessage
from renkou.migrants.tests.conftest import A, B, person_in
from renkou.testing import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def exchange(county, second_county):
    mei = person_in(county.dc_village1, name="李梅")
    # One request arrived 40 days ago (overdue), one today about a pregnant woman (15 days left).
    for name, days_ago, pregnant in (("旧请求", 40, False), ("新请求", 0, True)):
        at = timezone.now() - timedelta(days=days_ago)
        services.verify_request_send(county_code=B, to_county=A, name=name, sex="2", birth_date=date(1991, 1, 1),
                                     sender_role="destination", pregnant=pregnant, by=None, at=at)
        row = OutboxMessage.objects.get(county_code=B, sent_at__isnull=True)
        OutboxMessage.objects.filter(pk=row.pk).update(sent_at=at)
        services.message_receive(county_code=A, raw=bytes(row.body), sender=B, at=at)
    services.message_receive(county_code=A, raw=b"{broken", sender=B)
    return mei


def test_overview_shows_queues_rates_targets_and_overdue(personas, exchange):
    r = client_for(personas.admin).get("/exchange/")
    assert r.status_code == 200
    text = r.content.decode()
    assert "Floating population exchange" in text and A in text
    assert "1 overdue" in text
    assert "旧请求" in text and "10 days overdue" in text
    assert "≥ 70%" in text and "≥ 80%" in text and "≥ 90%" in text


def test_overview_in_chinese(personas, exchange):
    client = client_for(personas.admin, HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.cookies["django_language"] = "zh-hans"
    text = client.get("/exchange/", headers={"accept-language": "zh-hans"}).content.decode()
    assert "流动人口" in text and "及时率" in text


def test_requests_due_lists_days_left_most_urgent_first(personas, exchange):
    text = client_for(personas.admin).get("/exchange/requests/").content.decode()
    assert text.index("旧请求") < text.index("新请求")
    assert "10 days overdue" in text and ">15<" in text and "urgent" in text


def test_answer_a_request_in_the_form(personas, exchange):
    item = ExchangeRequest.objects.get(county_code=A, name="新请求")
    client = client_for(personas.admin)
    page = client.get(f"/exchange/requests/{item.pk}/")
    assert "15 days left" in page.content.decode()
    r = client.post(f"/exchange/requests/{item.pk}/", {"matched": "no", "note": "查无此人", "v_children": ""})
    assert r.status_code == 302
    item.refresh_from_db()
    assert (item.matched, item.answer_note, item.answered_by) == (False, "查无此人", personas.admin)
    assert OutboxMessage.objects.filter(county_code=A, kind="feedback", to_county=B).count() == 1
    assert "旧请求" in client.get("/exchange/requests/").content.decode()
    assert "新请求" not in client.get("/exchange/requests/").content.decode()


def test_inbox_outbox_unmatched_two_way(personas, exchange):
    client = client_for(personas.admin)
    inbox = client.get("/exchange/inbox/").content.decode()
    assert "malformed" in inbox and "Rejected" in inbox
    assert "Waiting" in client.get("/exchange/outbox/").content.decode()  # the rejection to B
    unmatched = client.get("/exchange/unmatched/").content.decode()
    assert unmatched.count("Verification request") == 2
    two_way = client.get("/exchange/two-way/", {"period": str(date.today().year)}).content.decode()
    assert B in two_way and "We as origin" in two_way


def test_close_an_unmatched_case_record(personas, county, second_county):
    services.migrant_record_create(county_code=B, by=None, data=services.MigrantIn(
        direction="in", other_county_code=A, name="查无", sex="1", birth_date=date(1970, 1, 1),
        since=date(2024, 1, 1)))
    row = OutboxMessage.objects.get(county_code=B)
    services.message_receive(county_code=A, raw=bytes(row.body), sender=B)
    client = client_for(personas.admin)
    from renkou.migrants.models import InboxMessage

    item = InboxMessage.objects.get(county_code=A)
    assert client.post("/exchange/unmatched/", {"item": item.pk}).status_code == 302
    item.refresh_from_db()
    assert item.status == "resolved" and item.resolved_by == personas.admin


def test_person_history_page(personas, county, second_county):
    mei = person_in(county.dc_village1, name="李梅")
    services.verify_request_send(county_code=A, to_county=B, name="李梅", sex="2", birth_date=mei.birth_date,
                                 id_number=mei.id_number, sender_role="origin", by=None,
                                 at=datetime(2025, 5, 5, 10, tzinfo=timezone.get_current_timezone()))
    text = client_for(personas.admin).get(f"/exchange/persons/{mei.pk}/").content.decode()
    assert "李梅" in text and "verify_request" in text and B in text


@pytest.mark.parametrize("persona", ["dongcheng", "reporter", "viewer"])
def test_pages_are_refused_to_other_personas(personas, persona, exchange):
    client = client_for(getattr(personas, persona))
    for url in ("/exchange/", "/exchange/requests/", "/exchange/inbox/", "/exchange/unmatched/"):
        assert client.get(url).status_code == 403, url


def test_the_statistician_reads_but_cannot_answer(personas, exchange):
    item = ExchangeRequest.objects.get(county_code=A, name="新请求")
    client = client_for(personas.statistician)
    assert client.get("/exchange/requests/").status_code == 200
    assert client.post(f"/exchange/requests/{item.pk}/", {"matched": "no"}).status_code == 403


def test_person_page_links_a_migrants_exchange_history(personas, county):
    from renkou.registry.models import Person

    p = person_in(county.dc_village1, name="外出者")
    Person.objects.filter(pk=p.pk).update(residence_status="out", other_county_code=B)
    text = client_for(personas.admin).get(f"/persons/{p.pk}/").content.decode()
    assert f"/exchange/persons/{p.pk}/" in text


def test_list_pages_take_the_same_number_of_queries_for_more_rows(personas, exchange):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(personas.admin)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    client.get("/exchange/")  # the session's first request writes to it
    before = {url: count(url) for url in ("/exchange/inbox/", "/exchange/outbox/", "/exchange/requests/",
                                          "/exchange/unmatched/", "/exchange/")}
    for i in range(5):
        services.verify_request_send(county_code=B, to_county=A, name=f"又一个{i}", sex="2",
                                     birth_date=date(1991, 1, 1), sender_role="destination", by=None)
    for row in OutboxMessage.objects.filter(county_code=B, sent_at__isnull=True):
        services.message_receive(county_code=A, raw=bytes(row.body), sender=B)
    assert {url: count(url) for url in before} == before
