"""renkou bench exchange: messages per second end to end over NATS JetStream, and p95 latency.

Two county nodes (two county codes in one fresh SQLite database in a temporary folder; the install's own database
is never touched) exchange through a stream of their own on the local broker (RENKOU_NATS_URL): county B sends
verification requests in batches, A matches each against its register by ID number and answers automatically,
B receives the feedback. A message's latency runs from the request written to B's outbox to the feedback
recorded in B's inbox. Baseline in the same run: the same payloads through the same JetStream transport with no
database (publish, fetch, ack; then the answers back), i.e. the broker's and the client's share: once one JetStream
message per exchange message (as version 1 sent them) and once packed in batch envelopes as the relay packs them
(``--pack``). Wall time, this process's CPU time (the NATS client's thread included; the broker is another
process) and the load average are printed: on a shared machine the wall time is inflated. It never fails on time.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

A, B = "500230", "500231"
CHILD = "RENKOU_BENCH_EXCHANGE_CHILD"


def run(argv: list[str], out: Any) -> None:
    parser = argparse.ArgumentParser(prog="renkou bench exchange", description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="requests sent, each answered (20000)")
    parser.add_argument("--batch", type=int, default=1000, help="messages per send and per transaction (1000)")
    parser.add_argument("--people", type=int, default=5000, help="persons in the answering county's register")
    parser.add_argument("--pack", type=int, default=250, help="messages per JetStream message (batch envelope; "
                        "1: one each, as schema version 1)")
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
    from renkou.migrants.transports import NatsTransport
    from renkou.registry.models import Person

    w = out.write
    n, batch, pack = args.messages, args.batch, max(1, args.pack)
    _people(args.people)
    people = list(Person.objects.order_by("pk").values_list("name", "sex", "birth_date", "id_number"))
    tag = uuid.uuid4().hex[:8]
    config = nats_config(stream=f"RENKOU_BENCH_{tag}", prefix=f"renkou_bench_{tag}.exchange", provision=True)
    w(f"renkou bench exchange: {n:,} verification requests {B} → {A}, each matched and answered, batches of "
      f"{batch}, {pack} per JetStream message; NATS at {config.url}, SQLite\n")
    load_before = os.getloadavg()
    ta, tb = NatsTransport(config, county_code=A), NatsTransport(config, county_code=B)
    try:
        # --- baseline: the same payloads through JetStream with no database
        sample = [services.RequestIn(*people[i % len(people)]) for i in range(batch)]
        services.verify_requests_send(county_code=B, to_county=A, subjects=sample, sender_role="destination",
                                      by=None)
        payloads = [bytes(b) for b in OutboxMessage.objects.values_list("body", flat=True)]
        OutboxMessage.objects.all().delete()
        ExchangeRequest.objects.all().delete()
        base = _baseline(ta, tb, payloads, n, batch, 1)
        base_packed = _baseline(ta, tb, payloads, n, batch, pack)

        # --- the exchange: outbox → relay → A consumes, matches, answers → relay → B consumes
        a, b = Node(A, ta, batch=batch, pack=pack), Node(B, tb, batch=batch, pack=pack)
        started, cpu = time.perf_counter(), time.process_time()
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
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        rate = n / elapsed
        load_after = os.getloadavg()
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
    w(f"  baseline: JetStream alone, no database, one message each   {base[0]:9,.0f} messages/s "
      f"(request and answer; CPU {base[1]:.1f} s)\n")
    w(f"  baseline: JetStream alone, no database, {pack} per message    {base_packed[0]:9,.0f} messages/s "
      f"(CPU {base_packed[1]:.1f} s)\n")
    w("  exchange end to end (send → match → feedback → received)\n")
    w(f"                                                      {rate:9,.0f} messages/s  ({elapsed:.1f} s wall, "
      f"{cpu:.1f} s CPU: {n / max(cpu, 1e-9):,.0f} messages per CPU second)\n")
    w(f"  latency p50 / p95 / max                             {_percentile(lat, .5):6.0f} / "
      f"{_percentile(lat, .95):.0f} / {max(lat) if lat else 0:.0f} ms\n")
    w(f"  matched and answered                                {matched:9,} of {n:,}\n")
    w(f"  ratio exchange / baseline (one message each)        {rate / base[0]:9.2f}\n")
    w(f"  ratio exchange / baseline ({pack} per message)      {rate / base_packed[0]:9.2f}\n")
    w(f"  load average before / after (1 min)                 {load_before[0]:.2f} / {load_after[0]:.2f} "
      f"on {os.cpu_count()} cores\n")
    w(f"  goal ≥ 2,000 messages/s: {'met' if rate >= 2000 else 'not met'}\n")


def _baseline(ta: Any, tb: Any, payloads: list[bytes], n: int, batch: int, pack: int) -> tuple[float, float]:
    """Requests B → A and answers A → B through JetStream alone, ``pack`` payloads per JetStream message:
    messages per second and CPU seconds."""
    from renkou.migrants import schema
    from renkou.migrants.transports import Outgoing

    def messages(k: int, frm: str, to: str) -> list[Any]:
        if pack == 1:
            return [Outgoing(to, frm, str(uuid.uuid4()), payloads[i % len(payloads)]) for i in range(k)]
        now = datetime.now(UTC)
        return [Outgoing(to, frm, str(bid := uuid.uuid4()), schema.encode_batch(
            [payloads[i % len(payloads)] for i in range(j, min(k, j + pack))], batch_id=bid, from_county=frm,
            to_county=to, sent_at=now)) for j in range(0, k, pack)]

    def across(sender: Any, receiver: Any, frm: str, to: str, k: int) -> None:
        out = messages(k, frm, to)
        sender.publish(out)
        got = 0
        while got < len(out):
            msgs = receiver.fetch(to, batch=len(out) - got, timeout=2)
            receiver.ack(msgs)
            got += len(msgs)

    started, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < n:
        k = min(batch, n - done)
        across(tb, ta, B, A, k)
        across(ta, tb, A, B, k)
        done += k
    return n / (time.perf_counter() - started), time.process_time() - cpu


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
