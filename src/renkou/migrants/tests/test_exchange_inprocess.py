"""Two nodes over the in-process transport: records, requests, feedback, birth notices, matching, idempotence."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from renkou.migrants import services
from renkou.migrants.models import (
    ExchangeRequest,
    InboxMessage,
    MigrantRecord,
    OutboxMessage,
)
from renkou.migrants.node import Node, drain
from renkou.migrants.tests.conftest import A, B, person_in
from renkou.migrants.transports import InProcessBroker, InProcessTransport

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def nodes(county, second_county):
    broker = InProcessBroker()
    return broker, Node(A, InProcessTransport(broker)), Node(B, InProcessTransport(broker))


def _settled() -> bool:
    return not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


def test_case_record_from_destination_creates_the_origins_out_record(county, second_county, nodes, personas):
    broker, a, b = nodes
    # 李梅 is registered in A (origin) and lives in B (destination).
    mei = person_in(county.dc_village1, name="李梅")
    data = services.MigrantIn(direction="in", other_county_code=A, name="李梅", sex="2", birth_date=mei.birth_date,
                              id_number=mei.id_number, since=date(2025, 3, 1), address_here="白云镇新街3号",
                              occupation="制衣工", marital_status="20", children=1, contraception="避孕套")
    record = services.migrant_record_create(county_code=B, data=data, by=None,
                                            at=datetime(2025, 4, 10, 9, tzinfo=TZ))
    assert record.due_on == date(2025, 5, 20)
    assert record.submitted_at is not None
    assert OutboxMessage.objects.get(county_code=B).kind == "case_record"

    drain([b, a], until=lambda: InboxMessage.objects.filter(county_code=A).exists() and _settled())

    out = MigrantRecord.objects.get(county_code=A, direction="out")
    assert (out.person_id, out.other_county_code, out.other_address, out.occupation, out.children) == (
        mei.pk, B, "白云镇新街3号", "制衣工", 1)
    assert out.contraception == "避孕套"
    assert InboxMessage.objects.get(county_code=A).status == "applied"


def test_verify_request_matched_by_id_number_is_answered_automatically(county, second_county, nodes):
    broker, a, b = nodes
    wang = person_in(county.dc_village2, name="王芳", marital_status="20")
    person_in(county.dc_village2, name="王芳之子", sex="1", birth_date=date(2020, 1, 1), mother=wang)
    request = services.verify_request_send(
        county_code=B, to_county=A, name="王芳", sex="2", birth_date=wang.birth_date, id_number=wang.id_number,
        sender_role="destination", pregnant=True, fields=["marital_status", "children"], by=None,
        at=datetime(2025, 6, 1, 10, tzinfo=TZ))
    assert request.due_on == date(2025, 6, 16)  # pregnant: urgent, 15 days

    drain([b, a], until=lambda: ExchangeRequest.objects.filter(pk=request.pk, answered_at__isnull=False).exists())

    request.refresh_from_db()
    assert request.matched is True
    assert request.verified == {"marital_status": "20", "children": "1"}
    received = ExchangeRequest.objects.get(county_code=A, role="received")
    assert (received.person_id, received.our_role, received.pregnant) == (wang.pk, "origin", True)
    assert received.answered_at is not None


def test_match_falls_back_to_name_and_birth_date(county, second_county, nodes):
    broker, a, b = nodes
    zhao = person_in(county.xc_village1, name="赵兰", birth_date=date(1988, 8, 8))
    request = services.verify_request_send(county_code=B, to_county=A, name="赵兰", sex="2",
                                           birth_date=date(1988, 8, 8), sender_role="destination", by=None)
    assert request.due_on == request.opened_on + timedelta(days=30)
    drain([b, a], until=lambda: ExchangeRequest.objects.filter(pk=request.pk, answered_at__isnull=False).exists())
    assert ExchangeRequest.objects.get(county_code=A, role="received").person_id == zhao.pk


def test_match_is_only_within_the_receiving_countys_register(county, second_county, nodes):
    broker, a, b = nodes
    # Registered in B, not in A: A must not match her although she is in the same database.
    other = person_in(second_county.village, name="孙丽")
    services.verify_request_send(county_code=B, to_county=A, name="孙丽", sex="2", birth_date=other.birth_date,
                                 id_number=other.id_number, sender_role="destination", by=None)
    drain([b, a], until=lambda: InboxMessage.objects.filter(county_code=A).exists())
    item = InboxMessage.objects.get(county_code=A)
    assert item.status == "unmatched"
    received = ExchangeRequest.objects.get(county_code=A, role="received")
    assert received.person_id is None and received.answered_at is None


def test_officer_answers_an_unmatched_request_and_the_sender_gets_it(county, second_county, nodes, personas):
    broker, a, b = nodes
    request = services.verify_request_send(county_code=B, to_county=A, name="无名", sex="2",
                                           birth_date=date(1990, 2, 2), sender_role="destination", by=None)
    drain([b, a], until=lambda: ExchangeRequest.objects.filter(county_code=A, role="received").exists())
    received = ExchangeRequest.objects.get(county_code=A, role="received")
    services.request_answer(request=received, matched=False, verified={}, note="查无此人", by=personas.admin)
    assert InboxMessage.objects.get(county_code=A).status == "resolved"
    drain([a, b], until=lambda: ExchangeRequest.objects.filter(pk=request.pk, answered_at__isnull=False).exists())
    request.refresh_from_db()
    assert (request.matched, request.answer_note) == (False, "查无此人")


def test_birth_notice_is_acknowledged_with_the_mothers_children(county, second_county, nodes):
    broker, a, b = nodes
    mother = person_in(county.lh_village1, name="陈静")
    notice = services.birth_notice_send(county_code=B, to_county=A, mother_name="陈静",
                                        mother_birth_date=mother.birth_date, mother_id_number=mother.id_number,
                                        child_sex="1", child_birth_date=date(2025, 7, 1), birth_order=1, by=None,
                                        at=datetime(2025, 7, 3, 9, tzinfo=TZ))
    assert notice.due_on == date(2025, 8, 2)
    drain([b, a], until=lambda: ExchangeRequest.objects.filter(pk=notice.pk, answered_at__isnull=False).exists())
    notice.refresh_from_db()
    assert notice.matched is True and notice.verified == {"children": "0"}


def test_a_redelivered_message_is_applied_once(county, second_county, nodes):
    broker, a, b = nodes
    mei = person_in(county.dc_village1, name="李梅")
    services.verify_request_send(county_code=B, to_county=A, name="李梅", sex="2", birth_date=mei.birth_date,
                                 id_number=mei.id_number, sender_role="destination", by=None)
    b.relay_once()

    def die(_deliveries):
        raise KeyboardInterrupt("node killed after the commit, before the ack")

    a.before_ack = die
    with pytest.raises(KeyboardInterrupt):
        a.consume_once(timeout=0)
    assert InboxMessage.objects.filter(county_code=A).count() == 1
    assert broker.redeliver_unacked() == 1  # the ack never came: the broker delivers it again
    a2 = Node(A, InProcessTransport(broker))
    assert a2.consume_once(timeout=0) == 1
    assert a2.counts["duplicate"] == 1
    assert ExchangeRequest.objects.filter(county_code=A, role="received").count() == 1
    assert OutboxMessage.objects.filter(county_code=A, kind="feedback").count() == 1


def test_relay_retries_publish_until_the_broker_acknowledges(county, second_county):
    broker = InProcessBroker()

    class Flaky(InProcessTransport):
        fail = True

        def publish(self, items):
            if self.fail:
                return ["broker down"] * len(items)
            return super().publish(items)

    transport = Flaky(broker)
    b = Node(B, transport)
    services.verify_request_send(county_code=B, to_county=A, name="某人", sex="2", birth_date=date(1990, 1, 1),
                                 sender_role="destination", by=None)
    with pytest.raises(Exception, match="broker down"):
        b.relay_once()
    row = OutboxMessage.objects.get()
    assert (row.sent_at, row.attempts, row.last_error) == (None, 1, "broker down")
    transport.fail = False
    assert b.relay_once() == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2
    assert broker.backlog(A) == 1
