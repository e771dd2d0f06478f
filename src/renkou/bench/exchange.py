"""renkou bench exchange: messages per second end to end over NATS JetStream, and p95 latency.

Two county nodes (two county codes in one fresh SQLite database in a temporary folder; the install's own database
is never touched) exchange through a stream of their own on the local broker (RENKOU_NATS_URL): county B sends
verification requests in batches, A matches each against its register by ID number and answers automatically,
B receives the feedback. A message's latency runs from the request written to B's outbox to the feedback
recorded in B's inbox. Baseline in the same run: the same payloads through the same JetStream transport with no
database (publish, fetch, ack; then the answers back), i.e. the broker's and the client's share. It never fails
on time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

A, B = "500230", "500231"
CHILD = "RENKOU_BENCH_EXCHANGE_CHILD"


def run(argv: list[str], out: Any) -> None:
    parser = argparse.ArgumentParser(prog="renkou bench exchange", description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="requests sent, each answered (20000)")
    parser.add_argument("--batch", type=int, default=1000, help="messages per send and per transaction (1000)")
    parser.add_argument("--people", type=int, default=5000, help="persons in the answering county's register")
    args = parser.parse_args(argv)
    if os.environ.get(CHILD):
        _bench(args, out)
        return
    with tempfile.TemporaryDirectory(prefix="renkou-bench-exchange-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in {"RENKOU_DATABASE_URL", "RENKOU_COUNTY_CODE"}}
        env.update(RENKOU_DATA_DIR=tmp, DJANGO_SETTINGS_MODULE="renkou.settings", RENKOU_LOG_LEVEL="WARNING")
        cli = [sys.executable, "-m", "renkou.cli"]
        subprocess.run([*cli, "migrate", "-v0"], env=env, check=True)  # noqa: S603
        out.flush()
        subprocess.run([*cli, "bench", "exchange", *argv], env={**env, CHILD: "1"}, check=True)  # noqa: S603
        if Path(tmp, "renkou.sqlite3").exists():
            out.write(f"  (database: SQLite in {tmp}, removed)\n")


def _people(n: int) -> None:
    from datetime import date, timedelta

    from renkou.orgunits.services import unit_create
    from renkou.registry import idnumbers
    from renkou.registry.models import Person

    ca = unit_create(code=f"{A}000000", name="青山县", unit_type="county", parent=None)
    ta = unit_create(code=f"{A}101000", name="龙河镇", unit_type="town", parent=ca)
    va = unit_create(code=f"{A}101201", name="龙河村", unit_type="village", parent=ta)
    cb = unit_create(code=f"{B}000000", name="白云县", unit_type="county", parent=None)
    unit_create(code=f"{B}101000", name="白云镇", unit_type="town", parent=cb)
    rows = []
    for i in range(n):
        born = date(1970, 1, 1) + timedelta(days=i % 9000)
        seq = 2 + 2 * (i // 9000)
        rows.append(Person(name=f"居民{i}", sex="2", birth_date=born, registration_unit=va, residence_unit=va,
                           marital_status="20", id_number=idnumbers.make(A, born, seq)))
    Person.objects.bulk_create(rows, batch_size=1000)


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def _bench(args: Any, out: Any) -> None:
    from renkou.migrants import services
    from renkou.migrants.models import ExchangeRequest, InboxMessage, OutboxMessage
    from renkou.migrants.node import Node
    from renkou.migrants.selectors import nats_config
    from renkou.migrants.transports import NatsTransport, Outgoing
    from renkou.registry.models import Person

    w = out.write
    n, batch = args.messages, args.batch
    _people(args.people)
    people = list(Person.objects.order_by("pk").values_list("name", "sex", "birth_date", "id_number"))
    tag = uuid.uuid4().hex[:8]
    config = nats_config(stream=f"RENKOU_BENCH_{tag}", prefix=f"renkou_bench_{tag}.exchange", provision=True)
    w(f"renkou bench exchange: {n:,} verification requests {B} → {A}, each matched and answered, batches of "
      f"{batch}; NATS at {config.url}, SQLite\n")
    ta, tb = NatsTransport(config, county_code=A), NatsTransport(config, county_code=B)
    try:
        # --- baseline: the same payloads through JetStream with no database
        sample = [services.RequestIn(*people[i % len(people)]) for i in range(batch)]
        services.verify_requests_send(county_code=B, to_county=A, subjects=sample, sender_role="destination",
                                      by=None)
        payloads = [bytes(b) for b in OutboxMessage.objects.values_list("body", flat=True)]
        OutboxMessage.objects.all().delete()
        ExchangeRequest.objects.all().delete()
        started = time.perf_counter()
        done = 0
        while done < n:
            k = min(batch, n - done)
            tb.publish([Outgoing(A, B, str(uuid.uuid4()), payloads[i % len(payloads)]) for i in range(k)])
            got = 0
            while got < k:
                msgs = ta.fetch(A, batch=k - got, timeout=2)
                ta.ack(msgs)
                got += len(msgs)
            ta.publish([Outgoing(B, A, str(uuid.uuid4()), payloads[i % len(payloads)]) for i in range(k)])
            got = 0
            while got < k:
                msgs = tb.fetch(B, batch=k - got, timeout=2)
                tb.ack(msgs)
                got += len(msgs)
            done += k
        base = n / (time.perf_counter() - started)

        # --- the exchange: outbox → relay → A consumes, matches, answers → relay → B consumes
        a, b = Node(A, ta, batch=batch), Node(B, tb, batch=batch)
        started = time.perf_counter()
        sent = 0
        open_requests = ExchangeRequest.objects.filter(county_code=B, role="sent", answered_at__isnull=True)
        while True:
            # a window of one batch in flight: the next is sent when the previous has come back, so that the
            # latency measures the exchange, not a queue the benchmark built up in front of it
            waiting = open_requests.count()
            if sent < n and waiting < batch:
                k = min(batch, n - sent)
                subjects = [services.RequestIn(*people[(sent + i) % len(people)]) for i in range(k)]
                services.verify_requests_send(county_code=B, to_county=A, subjects=subjects,
                                              sender_role="destination", by=None)
                sent += k
            elif sent >= n and waiting == 0:
                break
            b.relay_once()
            a.consume_once(timeout=0.2)
            a.relay_once()
            b.consume_once(timeout=0.2)
        elapsed = time.perf_counter() - started
        rate = n / elapsed
        # latency: request created (B's outbox) → feedback recorded (B's inbox)
        created = dict(OutboxMessage.objects.filter(county_code=B).values_list("message_id", "created_at"))
        received = {}
        for body, at in InboxMessage.objects.filter(county_code=B).values_list("body", "received_at"):
            received[uuid.UUID(json.loads(bytes(body))["payload"]["in_reply_to"])] = at
        lat = [(at - created[m]).total_seconds() * 1000 for m, at in received.items() if m in created]
        matched = ExchangeRequest.objects.filter(county_code=B, matched=True).count()
    finally:
        ta.close()
        tb.close()
        _delete_stream(config)
    w(f"  baseline: JetStream alone, no database      {base:10,.0f} messages/s (request and answer)\n")
    w("  exchange end to end (send → match → feedback → received)\n")
    w(f"                                             {rate:10,.0f} messages/s  ({elapsed:.1f} s)\n")
    w(f"  latency p50 / p95 / max                    {_percentile(lat, .5):8.0f} / {_percentile(lat, .95):.0f} / "
      f"{max(lat) if lat else 0:.0f} ms\n")
    w(f"  matched and answered                       {matched:10,} of {n:,}\n")
    w(f"  ratio exchange / baseline                  {rate / base:10.2f}\n")
    w(f"  goal ≥ 2,000 messages/s: {'met' if rate >= 2000 else 'not met'}\n")


def _delete_stream(config: Any) -> None:
    import asyncio

    import nats

    async def go() -> None:
        nc = await nats.connect(config.url, user=config.user or None, password=config.password or None)
        try:
            await nc.jetstream().delete_stream(config.stream)
        finally:
            await nc.close()

    try:
        asyncio.run(go())
    except Exception:  # noqa: BLE001, S110 - a stream left behind expires with its max age
        pass
