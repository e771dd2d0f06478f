"""Batch envelopes (schema version 2: many messages in one broker message) and dead letters: one bad message of a
batch is rejected alone, a redelivered batch changes nothing, an older node's refusal sends the messages again one
by one, and a message whose processing fails on every delivery is dead-lettered, shown and retried."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from renkou.migrants import schema, selectors, services
from renkou.migrants.models import ExchangeRequest, InboxMessage, OutboxMessage
from renkou.migrants.node import Node, drain
from renkou.migrants.tests.conftest import A, B, person_in
from renkou.migrants.transports import InProcessBroker, InProcessTransport, NatsTransport, Outgoing
from renkou.registry.tests.test_api_base import Api, assert_error
from renkou.testing import client_for

AT = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def people(county, second_county):
    return [person_in(county.dc_village1, name=f"居民{i}", birth_date=date(1980 + i, 1 + i, 1 + i)) for i in range(6)]


def _send(people) -> list[OutboxMessage]:
    services.verify_requests_send(county_code=B, to_county=A, sender_role="destination", by=None, subjects=[
        services.RequestIn(p.name, p.sex, p.birth_date, p.id_number) for p in people])
    return list(OutboxMessage.objects.filter(county_code=B).order_by("id"))


def _bad_inner() -> bytes:
    return json.dumps({"schema_version": 1, "message_id": str(uuid.uuid4()), "kind": "verify_request",
                       "from_county": B, "to_county": A, "sent_at": "2025-06-01T10:00:00+08:00",
                       "payload": {"subject": {"name": "王芳", "sex": "2", "birth_date": "1990-02-30"},
                                   "sender_role": "destination"}}, ensure_ascii=False).encode()


@pytest.mark.django_db
def test_the_relay_packs_messages_in_batch_envelopes_that_decode_to_the_same_messages(people):
    rows = _send(people * 3)  # 18 requests
    broker = InProcessBroker()
    b = Node(B, InProcessTransport(broker), pack=8)
    assert b.relay_once() == 18
    assert broker.published == 3  # 8 + 8 + 2 in three broker messages
    deliveries = broker.fetch(A, batch=10, timeout=0)
    envelopes = [json.loads(d.data) for d in deliveries]
    assert [(e["schema_version"], e["kind"], len(e["messages"])) for e in envelopes] == [
        (2, "batch", 8), (2, "batch", 8), (2, "batch", 2)]
    assert [d.header_id for d in deliveries] == [e["message_id"] for e in envelopes]
    # each message travels as a JSON string holding its exact text
    inner = [json.loads(m)["message_id"] for e in envelopes for m in e["messages"]]
    assert inner == [str(r.message_id) for r in rows]
    decoded = schema.decode_any(deliveries[0].data, own_county=A, sender=B)
    assert isinstance(decoded, schema.Batch) and len(decoded.messages) == 8
    assert [m.raw for m in decoded.messages] == [bytes(r.body) for r in rows[:8]]  # byte for byte
    # Each row remembers the batch that carried it (a rejection of the whole batch names it).
    assert {str(r.batch_id) for r in OutboxMessage.objects.filter(county_code=B)} == {e["message_id"] for e in envelopes}


@pytest.mark.django_db
def test_one_bad_message_of_a_batch_is_rejected_alone_and_a_redelivery_changes_nothing(people):
    rows = _send(people)
    bodies = [bytes(r.body) for r in rows]
    bodies.insert(3, _bad_inner())
    batch_id = uuid.uuid4()
    data = schema.encode_batch(bodies, batch_id=batch_id, from_county=B, to_county=A, sent_at=AT)
    broker = InProcessBroker()
    broker.publish([Outgoing(A, B, str(batch_id), data)])
    a = Node(A, InProcessTransport(broker))
    assert a.consume_once(timeout=0) == 1
    assert (a.counts["applied"], a.counts["rejected"]) == (6, 1)
    assert ExchangeRequest.objects.filter(county_code=A, role="received", matched=True).count() == 6
    bad = InboxMessage.objects.get(county_code=A, status="rejected")
    assert bad.reason.startswith("malformed: verify_request.payload.subject.birth_date")
    # The sender gets the reason for that one message; the six others are answered.
    outbox = [json.loads(bytes(b)) for b in OutboxMessage.objects.filter(county_code=A).values_list("body", flat=True)]
    assert sorted(m["kind"] for m in outbox) == ["feedback"] * 6 + ["rejection"]
    (rejection,) = [m for m in outbox if m["kind"] == "rejection"]
    assert rejection["payload"]["in_reply_to"] == json.loads(bodies[3])["message_id"]
    assert rejection["payload"]["reason"] == "malformed"
    # The same batch again (a redelivery, or published twice under another id): nothing changes.
    broker.publish([Outgoing(A, B, str(uuid.uuid4()), data)])
    a2 = Node(A, InProcessTransport(broker))
    a2.consume_once(timeout=0)
    assert a2.counts["duplicate"] == 7 and a2.counts["applied"] == 0
    assert InboxMessage.objects.filter(county_code=A).count() == 7
    assert OutboxMessage.objects.filter(county_code=A).count() == 7
    # B receives the feedback and the rejection (packed in turn) and records them once.
    b = Node(B, InProcessTransport(broker))
    drain([a, b], until=lambda: ExchangeRequest.objects.filter(county_code=B, answered_at__isnull=False).count() == 6)
    assert InboxMessage.objects.filter(county_code=B).count() == 7


@pytest.mark.django_db
def test_a_bad_batch_envelope_is_rejected_whole_under_its_id(people):
    rows = _send(people)
    for r in rows:
        OutboxMessage.objects.filter(pk=r.pk).update(sent_at=AT, batch_id=uuid.UUID(int=7))
    data = schema.encode_batch([bytes(r.body) for r in rows], batch_id=uuid.UUID(int=7), from_county=B,
                               to_county="110105", sent_at=AT)
    broker = InProcessBroker()
    broker.publish([Outgoing(A, B, "x", data)])
    a, b = Node(A, InProcessTransport(broker)), Node(B, InProcessTransport(broker))
    a.consume_once(timeout=0)
    item = InboxMessage.objects.get(county_code=A)
    assert (item.status, item.kind, item.message_id) == ("rejected", "batch", uuid.UUID(int=7))
    assert item.reason.startswith("wrongly_addressed: batch to_county 110105")
    a.relay_once()
    b.consume_once(timeout=0)
    # The sender sees the refusal on every message the batch carried.
    assert {r.rejected_reason for r in OutboxMessage.objects.filter(county_code=B)} == {
        "batch wrongly_addressed: batch to_county 110105, received by 500230"}


@pytest.mark.django_db
def test_an_older_node_refuses_the_batch_and_the_messages_go_again_one_by_one(people):
    rows = _send(people[:3])
    broker = InProcessBroker()
    b = Node(B, InProcessTransport(broker))
    b.relay_once()
    (delivery,) = broker.fetch(A, batch=10, timeout=0)
    # A version-1 node reads one message per broker message (schema.decode): version 2 is unknown to it.
    assert services.message_receive(county_code=A, raw=delivery.data, sender=B) == "rejected"
    assert InboxMessage.objects.get(county_code=A).reason.startswith("unknown_version")
    Node(A, InProcessTransport(broker)).relay_once()  # its rejection goes back to B
    b.consume_once(timeout=0)
    assert OutboxMessage.objects.filter(county_code=B, sent_at__isnull=True, single=True).count() == 3
    assert b.relay_once() == 3
    singles = broker.fetch(A, batch=10, timeout=0)
    assert [json.loads(d.data)["message_id"] for d in singles] == [str(r.message_id) for r in rows]
    for d in singles:  # the old node applies them
        assert services.message_receive(county_code=A, raw=d.data, sender=B) == "applied"


@pytest.mark.django_db
def test_a_county_listed_as_single_gets_no_batches(people):
    _send(people)
    broker = InProcessBroker()
    assert Node(B, InProcessTransport(broker), single_peers=[A]).relay_once() == 6
    assert broker.published == 6 and all(
        json.loads(d.data)["schema_version"] == 1 for d in broker.fetch(A, batch=10, timeout=0))


def _failing_matcher(monkeypatch, name: str) -> None:
    """Matching raises for one person (a bug in this node, not bad input)."""
    real_many, real_one = services.persons_match_in_county, services.person_match_in_county

    def many(*, county_code, subjects):
        if any(s[1] == name for s in subjects):
            raise RuntimeError(f"matching broke on {name}")
        return real_many(county_code=county_code, subjects=subjects)

    def one(*, county_code, id_number=None, name_="", birth_date=None, **kw):
        if kw.get("name") == name:
            raise RuntimeError(f"matching broke on {name}")
        return real_one(county_code=county_code, id_number=id_number, birth_date=birth_date, **kw)

    monkeypatch.setattr(services, "persons_match_in_county", many)
    monkeypatch.setattr(services, "person_match_in_county", one)


@pytest.mark.django_db
def test_a_message_failing_on_every_delivery_is_dead_lettered_then_retried(people, monkeypatch, personas):
    _send(people)
    broker = InProcessBroker()
    b = Node(B, InProcessTransport(broker))
    b.relay_once()
    _failing_matcher(monkeypatch, people[2].name)
    a = Node(A, InProcessTransport(broker), max_deliver=3)
    for delivery in (1, 2):
        a.consume_once(timeout=0)  # the five others are applied at once; the one comes back
        assert a.counts["failed"] == delivery and a.counts["dead"] == 0
        broker.redeliver_unacked()  # (the in-process broker redelivers a nak at once)
    a.consume_once(timeout=0)
    assert a.counts["dead"] == 1 and a.counts["applied"] == 5
    assert broker.backlog(A) == 0 and not broker._pending  # acknowledged: no more deliveries
    dead = InboxMessage.objects.get(county_code=A, status="dead")
    assert dead.reason == f"failed 3 times: RuntimeError: matching broke on {people[2].name}"
    assert selectors.status(A).dead == 1
    # Shown in the status, the API and the page.
    out = __import__("io").StringIO()
    call_command("exchange", "status", "--county", A, stdout=out)
    assert "dead letters (failed on every delivery; renkou exchange retry): 1" in out.getvalue()
    assert f"#{dead.pk} verify_request from {B}" in out.getvalue()
    admin = Api().as_(personas.admin)
    assert admin.get("/exchange/status").json()["dead"] == 1
    (listed,) = admin.get("/exchange/dead").json()
    assert (listed["id"], listed["status"], listed["reason"]) == (dead.pk, "dead", dead.reason)
    assert [m["id"] for m in admin.get("/exchange/inbox", status="dead").json()] == [dead.pk]
    page = client_for(personas.admin).get("/exchange/dead/")
    assert page.status_code == 200 and dead.reason in page.content.decode()
    # A retry while the cause is still there fails, says why and keeps the dead letter.
    assert_error(admin.post(f"/exchange/dead/{dead.pk}/retry"), 422, "message")
    assert InboxMessage.objects.get(pk=dead.pk).reason.startswith("retry failed: RuntimeError")
    # Fixed: the retry applies it (answered like the others), once.
    monkeypatch.undo()
    answer = admin.post(f"/exchange/dead/{dead.pk}/retry").json()
    assert answer["status"] == "applied"
    assert ExchangeRequest.objects.filter(county_code=A, role="received", answered_at__isnull=False).count() == 6
    assert admin.post(f"/exchange/dead/{dead.pk}/retry").status_code == 404
    assert selectors.status(A).dead == 0
    # The statistician reads the dead letters but may not retry.
    assert Api().as_(personas.statistician).get("/exchange/dead").status_code == 200


@pytest.mark.django_db
def test_retry_from_the_page_and_the_command(people, monkeypatch, personas):
    _send(people[:2])
    broker = InProcessBroker()
    Node(B, InProcessTransport(broker), pack=1).relay_once()
    _failing_matcher(monkeypatch, people[0].name)
    a = Node(A, InProcessTransport(broker), max_deliver=1)
    a.consume_once(timeout=0)
    _failing_matcher(monkeypatch, people[1].name)  # a second, independent failure
    dead = InboxMessage.objects.get(county_code=A, status="dead")
    monkeypatch.undo()
    client = client_for(personas.admin)
    assert client.post("/exchange/dead/", {"item": dead.pk}).status_code == 302
    assert InboxMessage.objects.get(county_code=A, message_id=dead.message_id).status == "applied"
    out = __import__("io").StringIO()
    call_command("exchange", "retry", "--county", A, "--all", stdout=out)
    assert "retried 0: 0 applied, 0 failed again" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_dead_letter_over_nats_after_max_deliveries(nats_names, people, monkeypatch):
    config = replace(nats_names, ack_wait=5.0)
    _send(people)
    b = Node(B, NatsTransport(config, county_code=B))
    a = Node(A, NatsTransport(config, county_code=A), max_deliver=3, retry_delay=0.1)
    try:
        b.relay_once()
        _failing_matcher(monkeypatch, people[4].name)
        deadline = time.monotonic() + 30
        while a.counts["dead"] == 0:
            assert time.monotonic() < deadline, a.counts
            a.consume_once(timeout=0.5)
        assert (a.counts["applied"], a.counts["failed"], a.counts["dead"]) == (5, 2, 1)
        assert InboxMessage.objects.get(county_code=A, status="dead").reason.startswith("failed 3 times")
        assert a.transport.consumer_lag() == {"pending": 0, "unacknowledged": 0}
        monkeypatch.undo()
        item = services.dead_letter_retry(item=InboxMessage.objects.get(county_code=A, status="dead"), by=None)
        assert item.status == "applied"
        drain([a, b], until=lambda: ExchangeRequest.objects.filter(county_code=B, answered_at__isnull=False)
              .count() == 6, timeout=30)
        assert InboxMessage.objects.filter(county_code=B).count() == 6
    finally:
        a.transport.close()
        b.transport.close()


@pytest.mark.django_db(transaction=True)
def test_node_killed_after_committing_a_batch_before_the_ack_applies_nothing_twice(nats_names, people):
    config = replace(nats_names, ack_wait=1.0)
    rows = _send(people * 20)  # 120 requests: one broker message at pack 250
    b = Node(B, NatsTransport(config, county_code=B))
    b.relay_once()

    def die(_deliveries):
        raise KeyboardInterrupt("killed")

    a = Node(A, NatsTransport(config, county_code=A), before_ack=die)
    with pytest.raises(KeyboardInterrupt):
        a.consume_once(timeout=2)
    a.transport.close()
    assert InboxMessage.objects.filter(county_code=A).count() == 120
    a2 = Node(A, NatsTransport(config, county_code=A))
    try:
        deadline = time.monotonic() + 20
        while a2.counts["duplicate"] < 120:
            assert time.monotonic() < deadline, a2.counts
            a2.consume_once(timeout=1)
        assert a2.counts["applied"] == 0
        assert ExchangeRequest.objects.filter(county_code=A, role="received").count() == len(rows)
        assert OutboxMessage.objects.filter(county_code=A).count() == 120  # each answered once
    finally:
        a2.transport.close()
        b.transport.close()


# --- the batch decoder, fuzzed --------------------------------------------------------------------------------

_VALID = json.loads(_bad_inner().replace(b"1990-02-30", b"1990-02-28"))
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                     max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(inner=st.lists(st.one_of(st.just("valid"), _json, _json.map(json.dumps),
                                st.fixed_dictionaries({"schema_version": st.just(1), "kind": st.sampled_from(
                                    schema.KINDS)}, optional={"payload": _json}).map(json.dumps)),
                      min_size=1, max_size=6),
       over=st.dictionaries(st.sampled_from(["kind", "message_id", "from_county", "to_county", "extra"]), _json,
                            max_size=2))
def test_decode_any_never_raises_and_keeps_each_good_message(inner, over):
    items = [json.dumps(dict(_VALID, message_id=str(uuid.uuid4()))) if x == "valid" else x for x in inner]
    envelope = {"schema_version": 2, "kind": "batch", "message_id": str(uuid.uuid4()), "from_county": B,
                "to_county": A, "sent_at": "2025-06-01T10:00:00+08:00", "messages": items}
    envelope.update(over)
    result = schema.decode_any(json.dumps(envelope).encode(), own_county=A, sender=B)
    if over:
        assert isinstance(result, schema.Batch | schema.Rejected)
    else:
        assert isinstance(result, schema.Batch)
        assert [isinstance(m.result, schema.Decoded) for m in result.messages] == [x == "valid" for x in inner]
        assert all(m.result.reason in {"malformed", "unknown_version"}
                   for m in result.messages if isinstance(m.result, schema.Rejected))


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300) | _json.map(lambda o: json.dumps(o).encode()))
def test_decode_any_of_anything_never_raises(raw):
    assert isinstance(schema.decode_any(raw, own_county=A, sender=B), schema.Batch | schema.Decoded | schema.Rejected)


@pytest.mark.django_db
def test_name_and_birth_date_match_takes_exact_pairs_and_refuses_ambiguity(county, second_county):
    """Matching without an ID number asks the register by names IN … and dates IN …: only an exact pair held by
    exactly one person matches (not a name of one person with the date of another)."""
    person_in(county.dc_village1, name="张三", birth_date=date(1980, 1, 1), id_number=None)
    person_in(county.dc_village1, name="李四", birth_date=date(1981, 2, 2), id_number=None)
    for _ in range(2):
        person_in(county.dc_village1, name="王五", birth_date=date(1982, 3, 3), id_number=None)
    asked = [("张三", date(1980, 1, 1)), ("张三", date(1981, 2, 2)), ("王五", date(1982, 3, 3))]
    services.verify_requests_send(county_code=B, to_county=A, sender_role="destination", by=None, subjects=[
        services.RequestIn(name, "2", born) for name, born in asked])
    broker = InProcessBroker()
    Node(B, InProcessTransport(broker)).relay_once()
    a = Node(A, InProcessTransport(broker))
    a.consume_once(timeout=0)
    got = dict(ExchangeRequest.objects.filter(county_code=A, role="received").values_list("birth_date", "matched"))
    assert got == {date(1980, 1, 1): True, date(1981, 2, 2): None, date(1982, 3, 3): None}
