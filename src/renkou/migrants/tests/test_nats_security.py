"""Nodes authenticate to NATS, and a node can publish only as itself (deploy/nats/ configuration)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from renkou.migrants import natsconf, services
from renkou.migrants.models import ExchangeRequest, OutboxMessage
from renkou.migrants.node import Node, drain
from renkou.migrants.tests.conftest import A, B, person_in
from renkou.migrants.transports import NatsConfig, NatsTransport, Outgoing, TransportError, provision

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORDS = {A: "pw-a-" + uuid.uuid4().hex, B: "pw-b-" + uuid.uuid4().hex}
OPERATOR = "pw-op-" + uuid.uuid4().hex


@pytest.fixture
def secured(own_nats):
    server = own_nats(natsconf.server_config(counties=PASSWORDS, operator_password=OPERATOR))
    base = NatsConfig(url=server.url, ack_wait=2.0, publish_timeout=1.5)
    provision(replace(base, user="renkou_operator", password=OPERATOR), [A, B])

    def node_config(code: str, password: str | None = None) -> NatsConfig:
        return replace(base, user=f"county_{code}", password=password or PASSWORDS[code], provision=False,
                       inbox_prefix=natsconf.inbox_prefix(code))

    return server, node_config


def test_the_sample_configuration_is_the_generated_one():
    sample = Path(__file__).resolve().parents[4] / "deploy" / "nats" / "renkou-exchange.conf"
    expected = natsconf.server_config(counties={A: f"CHANGE-ME-{A}", B: f"CHANGE-ME-{B}"},
                                      operator_password="CHANGE-ME-operator")
    assert expected in sample.read_text()


def test_authenticated_nodes_exchange(secured, county, second_county):
    server, node_config = secured
    wang = person_in(county.dc_village1, name="王芳")
    request = services.verify_request_send(county_code=B, to_county=A, name="王芳", sex="2",
                                           birth_date=wang.birth_date, id_number=wang.id_number,
                                           sender_role="destination", by=None)
    a = Node(A, NatsTransport(node_config(A), county_code=A))
    b = Node(B, NatsTransport(node_config(B), county_code=B))
    try:
        drain([b, a], until=lambda: ExchangeRequest.objects.filter(pk=request.pk, answered_at__isnull=False).exists())
        assert a.transport.consumer_lag() == {"pending": 0, "unacknowledged": 0}
    finally:
        a.transport.close()
        b.transport.close()


def test_a_wrong_password_is_refused(secured):
    server, node_config = secured
    with pytest.raises(TransportError):
        NatsTransport(node_config(A, password="wrong"), county_code=A, connect_timeout=1.5)


def test_a_node_cannot_publish_as_another_county(secured, county, second_county):
    server, node_config = secured
    a = NatsTransport(node_config(A), county_code=A)
    b = NatsTransport(node_config(B), county_code=B)
    try:
        # A publishes to B as itself: stored. A publishes to B pretending to be B, or to itself from B: refused.
        ok, forged, forged2 = a.publish([
            Outgoing(B, A, str(uuid.uuid4()), b'{"from": "A"}'),
            Outgoing(A, B, str(uuid.uuid4()), b'{"forged": true}'),
            Outgoing(B, B, str(uuid.uuid4()), b'{"forged": true}'),
        ])
        assert ok is None
        assert forged is not None and forged2 is not None
        got = b.fetch(B, batch=10, timeout=1)
        assert [d.data for d in got] == [b'{"from": "A"}']
        assert got[0].sender == A
        b.ack(got)
        assert a.fetch(A, batch=10, timeout=0.5) == []
    finally:
        a.close()
        b.close()


def test_a_node_cannot_read_another_countys_messages(secured):
    server, node_config = secured
    b = NatsTransport(node_config(B), county_code=B)
    b.publish([Outgoing(A, B, str(uuid.uuid4()), b"for A")])
    b.close()

    async def steal():
        import nats

        c = node_config(B)
        nc = await nats.connect(c.url, user=c.user, password=c.password, inbox_prefix=c.inbox_prefix,
                                error_cb=_ignore)
        try:
            sub = await nc.jetstream().pull_subscribe_bind(durable="county_" + A, stream=c.stream)
            return await sub.fetch(1, timeout=1)
        finally:
            await nc.close()

    with pytest.raises(Exception):  # noqa: B017,PT011 - permission violation / timeout: nothing is delivered
        asyncio.run(steal())
    a = NatsTransport(node_config(A), county_code=A)
    try:
        assert [d.data for d in a.fetch(A, batch=10, timeout=1)] == [b"for A"]
    finally:
        a.close()


async def _ignore(_exc):
    return None


def test_outbox_stays_pending_while_publishing_is_refused(secured, county, second_county):
    server, node_config = secured
    # B's node is misconfigured with A's user: every publish "from B" is refused, and nothing is marked sent.
    services.verify_request_send(county_code=B, to_county=A, name="某人", sex="2", birth_date=date(1990, 1, 1),
                                 sender_role="destination", by=None)
    wrong = Node(B, NatsTransport(node_config(A), county_code=A))
    try:
        with pytest.raises(TransportError):
            wrong.relay_once()
        assert OutboxMessage.objects.get().sent_at is None
    finally:
        wrong.transport.close()
