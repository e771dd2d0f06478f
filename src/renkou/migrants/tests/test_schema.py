"""The message schema and its decoder (pure), and every kind of bad message received by a node."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkou.migrants import schema, services
from renkou.migrants.models import InboxMessage, OutboxMessage
from renkou.migrants.node import Node
from renkou.migrants.tests.conftest import A, B
from renkou.migrants.transports import InProcessBroker, InProcessTransport, Outgoing


def _request(**over) -> dict:
    body = {
        "schema_version": 1, "message_id": str(uuid.uuid4()), "kind": "verify_request", "from_county": B,
        "to_county": A, "sent_at": "2025-06-01T10:00:00+08:00",
        "payload": {"subject": {"name": "王芳", "sex": "2", "birth_date": "1990-01-01"},
                    "sender_role": "destination"},
    }
    body.update(over)
    return body


def _raw(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def test_a_valid_message_round_trips():
    m = schema.build("verify_request", from_county=B, to_county=A, sent_at=datetime(2025, 1, 1, tzinfo=UTC),
                     payload={"subject": {"name": "王芳", "sex": "2", "birth_date": date(1990, 1, 1)},
                              "sender_role": "destination", "pregnant": True})
    decoded = schema.decode(schema.encode(m), own_county=A, sender=B)
    assert isinstance(decoded, schema.Decoded)
    assert decoded.message == m
    assert decoded.message.payload.fields == ["marital_status", "children"]


@pytest.mark.parametrize(("raw", "reason"), [
    (b"not json", "malformed"),
    (b"[1, 2]", "malformed"),
    (_raw(_request(kind="gossip")), "malformed"),
    (_raw(_request(payload={"subject": {"name": "王芳"}})), "malformed"),
    (_raw(_request(extra_field="x")), "malformed"),  # only the schema's fields cross
    (_raw(_request(payload={"subject": {"name": "王芳", "sex": "2", "birth_date": "1990-01-01",
                                        "phone": "13800000000"}, "sender_role": "destination"})), "malformed"),
    (_raw(_request(message_id="not-a-uuid")), "malformed"),
    (_raw(_request(to_county="12345")), "malformed"),
    (_raw(_request(sent_at="2025-06-01T10:00:00")), "malformed"),  # naive time
    (json.dumps(_request(payload={"subject": {"name": "\ud800王", "sex": "2", "birth_date": "1990-01-01"},
                                  "sender_role": "destination"})).encode(), "malformed"),  # cannot be stored
    (_raw(_request(schema_version=2)), "unknown_version"),
    (_raw(_request(schema_version=True)), "unknown_version"),
    (_raw({k: v for k, v in _request().items() if k != "schema_version"}), "unknown_version"),
    (_raw(_request(to_county="110105")), "wrongly_addressed"),
    (_raw(_request(from_county="110105")), "sender_mismatch"),
    (b"{" + b" " * schema.MAX_BYTES + b"}", "oversized"),
])
def test_bad_messages_are_rejected_with_a_reason(raw, reason):
    result = schema.decode(raw, own_county=A, sender=B)
    assert isinstance(result, schema.Rejected)
    assert result.reason == reason, result.detail


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=400),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                 lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=5),
                 max_leaves=20).map(lambda o: json.dumps(o).encode()),
    st.fixed_dictionaries({k: st.just(v) for k, v in _request().items()
                           if k not in {"payload", "kind", "schema_version"}}, optional={
        "payload": st.dictionaries(st.sampled_from(["subject", "sender_role", "fields", "pregnant", "note"]),
                                   st.none() | st.text(max_size=10) | st.integers()),
        "kind": st.sampled_from([*schema.KINDS, "x"]),
        "schema_version": st.integers(-2, 3)}).map(_raw),
))
def test_the_decoder_never_raises(raw):
    result = schema.decode(raw, own_county=A, sender=B)
    assert isinstance(result, schema.Decoded | schema.Rejected)


def test_deeply_nested_json_is_rejected_not_a_crash():
    raw = b"[" * 8000 + b"]" * 8000
    assert schema.decode(raw, own_county=A, sender=B).reason == "malformed"


def test_json_schema_documents_every_kind():
    text = json.dumps(schema.json_schema())
    for kind in schema.KINDS:
        assert kind in text


@pytest.mark.django_db
def test_node_records_each_bad_message_and_sends_the_sender_a_rejection(county, second_county):
    broker = InProcessBroker()
    a = Node(A, InProcessTransport(broker))
    b = Node(B, InProcessTransport(broker))
    bad = {
        "malformed": b"{oops",
        "oversized": b"x" * (schema.MAX_BYTES + 1),
        "unknown_version": _raw(_request(schema_version=9)),
        "wrongly_addressed": _raw(_request(to_county="110105")),
        "sender_mismatch": _raw(_request(from_county="110105")),
        "unknown_request": _raw(_request(kind="feedback", payload={"in_reply_to": str(uuid.uuid4()),
                                                                   "matched": True})),
    }
    broker.publish([Outgoing(A, B, str(uuid.uuid4()), raw) for raw in bad.values()])

    def die(_deliveries):
        raise KeyboardInterrupt("killed before the ack")

    a.before_ack = die
    with pytest.raises(KeyboardInterrupt):
        a.consume_once(timeout=0)
    assert a.counts["rejected"] == len(bad)
    # Redelivered (the node died before acknowledging), the same bad messages change nothing.
    assert broker.redeliver_unacked() == len(bad)
    a = Node(A, InProcessTransport(broker))
    assert a.consume_once(timeout=0) == len(bad)
    assert a.counts["duplicate"] == len(bad)
    reasons = sorted(r.split(":")[0] for r in InboxMessage.objects.filter(county_code=A).values_list("reason",
                                                                                                     flat=True))
    assert reasons == sorted(bad)
    assert OutboxMessage.objects.filter(county_code=A, kind="rejection", to_county=B).count() == len(bad)
    # The rejections reach the sender, which records them and does not answer them.
    a.relay_once()
    b.consume_once(timeout=0)
    got = InboxMessage.objects.filter(county_code=B, kind="rejection")
    assert got.count() == len(bad) and {r.status for r in got} == {"applied"}
    assert not OutboxMessage.objects.filter(county_code=B).exists()


@pytest.mark.django_db
def test_a_rejection_marks_the_outbox_message_it_refers_to(county, second_county):
    broker = InProcessBroker()
    a, b = Node(A, InProcessTransport(broker)), Node(B, InProcessTransport(broker))
    request = services.verify_request_send(county_code=B, to_county=A, name="王芳", sex="2",
                                           birth_date=date(1990, 1, 1), sender_role="destination", by=None)
    # Tampered in flight to an unknown version: A refuses it, and B's outbox row shows why.
    row = OutboxMessage.objects.get(message_id=request.message_id)
    body = json.loads(bytes(row.body))
    body["schema_version"] = 7
    broker.publish([Outgoing(A, B, str(row.message_id), _raw(body))])
    a.consume_once(timeout=0)
    a.relay_once()
    b.consume_once(timeout=0)
    row.refresh_from_db()
    assert row.rejected_reason.startswith("unknown_version")
