"""renkou bench exchange: messages per second end to end over NATS JetStream, and p95 latency.

Two county nodes exchange through a stream of their own on the local broker (RENKOU_NATS_URL): county B sends
verification requests in batches, A matches each against its register by ID number and answers automatically,
B receives the feedback. By default the two nodes are two processes with a SQLite database each in a temporary
folder (the install's own database is never touched), as two counties run them: A is a real worker,
``renkou exchange run``, and this process is B (``--window`` batches in flight, so that the two work side by
side); ``--one-process`` runs both nodes in turn in one process and one database instead. A message's latency
runs from the request written to B's outbox to the feedback recorded in B's inbox. Baseline in the same run:
the same payloads through the same JetStream transport with no database (publish, fetch, ack; then the answers
back), i.e. the broker's and the client's share: once one JetStream message per exchange message (as version 1
sent them) and once packed in batch envelopes as the relay packs them (``--pack``). Wall time, the nodes' CPU
time (the NATS client's thread included; the broker is another process) and the load average are printed: on a
shared machine the wall time is inflated. It never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

A, B = "500230", "500231"
CHILD = "RENKOU_BENCH_EXCHANGE_CHILD"
A_DIR = "RENKOU_BENCH_EXCHANGE_A_DIR"


def run(argv: list[str], out: Any) -> None:
    parser = argparse.ArgumentParser(prog="renkou bench exchange", description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="requests sent, each answered (20000)")
    parser.add_argument("--batch", type=int, default=1000, help="messages per send and per transaction (1000)")
    parser.add_argument("--people", type=int, default=5000, help="persons in the answering county's register")
    parser.add_argument("--pack", type=int, default=250, help="messages per JetStream message (batch envelope; "
                        "1: one each, as schema version 1)")
    parser.add_argument("--window", type=int, default=2, help="batches in flight with two processes (2)")
    parser.add_argument("--one-process", action="store_true",
                        help="both nodes in this process and one database, stepped in turn (one batch in flight)")
    args = parser.parse_args(argv)
    role = os.environ.get(CHILD)
    if role == "a-setup":
        _people(args.people)
        return
    if role:
        _bench(args, out)
        return
    with tempfile.TemporaryDirectory(prefix="renkou-bench-exchange-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in {"RENKOU_DATABASE_URL", "RENKOU_COUNTY_CODE"}}
        env.update(DJANGO_SETTINGS_MODULE="renkou.settings", RENKOU_LOG_LEVEL="WARNING")
        cli = [sys.executable, "-m", "renkou.cli"]
        a_dir, b_dir = (Path(tmp), Path(tmp)) if args.one_process else (Path(tmp, "a"), Path(tmp, "b"))
        for folder in {a_dir, b_dir}:
            folder.mkdir(exist_ok=True)
            subprocess.run([*cli, "migrate", "-v0"], env={**env, "RENKOU_DATA_DIR": str(folder)},  # noqa: S603
                           check=True)
        if not args.one_process:  # A's register, in A's database
            subprocess.run([*cli, "bench", "exchange", *argv],  # noqa: S603
                           env={**env, "RENKOU_DATA_DIR": str(a_dir), CHILD: "a-setup"}, check=True)
        out.flush()
        subprocess.run([*cli, "bench", "exchange", *argv], check=True,  # noqa: S603
                       env={**env, "RENKOU_DATA_DIR": str(b_dir), A_DIR: str(a_dir), CHILD: "b"})
        out.write(f"  (databases: SQLite in {tmp}, removed)\n")


def _people(n: int) -> None:
    from datetime import timedelta

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


def _cpu_of(pid: int) -> float | None:
    """CPU seconds (user + system) of another process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _register_of_a(args: Any) -> list[tuple[str, str, date, str]]:
    """The persons B asks about: A's register (this database, or A's own read directly)."""
    if args.one_process:
        from renkou.registry.models import Person

        _people(args.people)
        return list(Person.objects.order_by("pk").values_list("name", "sex", "birth_date", "id_number"))
    import sqlite3

    from renkou.registry.models import Person

    db = sqlite3.connect(Path(os.environ[A_DIR], "renkou.sqlite3"))
    try:
        # only our own model's table name is interpolated
        rows = db.execute(f"SELECT name, sex, birth_date, id_number FROM {Person._meta.db_table} "  # noqa: S608
                          "ORDER BY id").fetchall()
    finally:
        db.close()
    return [(n, s, date.fromisoformat(b), i) for n, s, b, i in rows]


def _start_worker(config: Any, args: Any) -> subprocess.Popen:
    """Node A: a real ``renkou exchange run`` on A's database, on the benchmark's stream."""
    env = {k: v for k, v in os.environ.items() if k not in {CHILD, A_DIR}}
    env.update(RENKOU_DATA_DIR=os.environ[A_DIR], RENKOU_COUNTY_CODE=A, RENKOU_NATS_STREAM=config.stream,
               RENKOU_NATS_SUBJECT_PREFIX=config.prefix, RENKOU_EXCHANGE_BATCH=str(args.batch),
               RENKOU_EXCHANGE_PACK=str(args.pack), RENKOU_LOG_LEVEL="WARNING")
    worker = subprocess.Popen([sys.executable, "-m", "renkou.cli", "exchange", "run", "--idle", "0.05"],  # noqa: S603
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = worker.stdout.readline() if worker.stdout else ""
    if "connected" not in line:
        worker.kill()
        raise RuntimeError(f"the worker of county {A} did not start: {line!r}")
    return worker


def _bench(args: Any, out: Any) -> None:
    from renkou.migrants import services
    from renkou.migrants.models import ExchangeRequest, InboxMessage, OutboxMessage
    from renkou.migrants.node import Node
    from renkou.migrants.selectors import nats_config
    from renkou.migrants.transports import NatsTransport

    w = out.write
    n, batch, pack = args.messages, args.batch, max(1, args.pack)
    two = not args.one_process
    window = max(1, args.window) if two else 1
    people = _register_of_a(args)
    tag = uuid.uuid4().hex[:8]
    config = nats_config(stream=f"RENKOU_BENCH_{tag}", prefix=f"renkou_bench_{tag}.exchange", provision=True)
    w(f"renkou bench exchange: {n:,} verification requests {B} → {A}, each matched and answered, batches of "
      f"{batch}, {pack} per JetStream message; NATS at {config.url}, SQLite\n")
    w("  nodes: " + (f"two processes, a database each (A: `renkou exchange run`, B: the benchmark), {window} "
                     "batches in flight\n" if two else "both in this process and one database, stepped in turn\n"))
    load_before = os.getloadavg()
    ta, tb = NatsTransport(config, county_code=A), NatsTransport(config, county_code=B)
    worker = None
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
        b = Node(B, tb, batch=batch, pack=pack)
        if two:
            ta.close()  # A's consumer is now the worker's
            worker = _start_worker(config, args)
            a = None
        else:
            a = Node(A, ta, batch=batch, pack=pack)
        started, cpu = time.perf_counter(), time.process_time()
        cpu_a = _cpu_of(worker.pid) if worker else 0.0
        sent = 0
        open_requests = ExchangeRequest.objects.filter(county_code=B, role="sent", answered_at__isnull=True)
        while True:
            # a window of batches in flight: the next is sent when one has come back, so that the latency
            # measures the exchange, not a queue the benchmark built up in front of it
            waiting = open_requests.count()
            if sent < n and waiting <= (window - 1) * batch:
                k = min(batch, n - sent)
                subjects = [services.RequestIn(*people[(sent + i) % len(people)]) for i in range(k)]
                services.verify_requests_send(county_code=B, to_county=A, subjects=subjects,
                                              sender_role="destination", by=None)
                sent += k
            elif sent >= n and waiting == 0:
                break
            b.relay_once()
            if a is not None:
                a.consume_once(timeout=0.2)
                a.relay_once()
            b.consume_once(timeout=0.2)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if worker:
            end = _cpu_of(worker.pid)
            cpu_a = None if end is None or cpu_a is None else end - cpu_a
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
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        ta.close()
        tb.close()
        _delete_stream(config)
    w(f"  baseline: JetStream alone, no database, one message each   {base[0]:9,.0f} messages/s "
      f"(request and answer; CPU {base[1]:.1f} s)\n")
    w(f"  baseline: JetStream alone, no database, {pack} per message    {base_packed[0]:9,.0f} messages/s "
      f"(CPU {base_packed[1]:.1f} s)\n")
    w("  exchange end to end (send → match → feedback → received)\n")
    if two:
        total = None if cpu_a is None else cpu + cpu_a
        cpu_text = (f"CPU: A {'?' if cpu_a is None else f'{cpu_a:.1f}'} s + B {cpu:.1f} s"
                    + ("" if total is None else f" = {n / max(total, 1e-9):,.0f} messages per CPU second"))
    else:
        cpu_text = f"{cpu:.1f} s CPU: {n / max(cpu, 1e-9):,.0f} messages per CPU second"
    w(f"                                                      {rate:9,.0f} messages/s  ({elapsed:.1f} s wall, "
      f"{cpu_text})\n")
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
