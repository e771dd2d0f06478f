"""A county node's exchange worker: the outbox relay and the inbox consumer, over any transport.

At-least-once, applied once: the relay marks an outbox row sent only after the broker acknowledged it (a retry
carries the same ``Nats-Msg-Id``, which the broker drops as a duplicate); the consumer applies a batch and
records each message id in the inbox in one transaction, and acknowledges only after the commit (a redelivery
finds its inbox row and is just acknowledged).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from renkou.migrants import schema, services
from renkou.migrants.models import OutboxMessage
from renkou.migrants.transports import Delivery, Outgoing, Transport, TransportError

log = logging.getLogger("renkou.exchange")


class Backoff:
    """Exponential back-off with jitter: 0.5 s, 1 s, 2 s … up to ``maximum``; reset after a success."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial, self.maximum, self.failures = initial, maximum, 0

    def next(self) -> float:
        delay = min(self.maximum, self.initial * 2 ** self.failures)
        self.failures += 1
        return delay * (0.8 + 0.4 * random.random())  # noqa: S311 - jitter, not security

    def reset(self) -> None:
        self.failures = 0


_BATCH_NS = uuid.UUID("1b0e2f4a-5c3d-4e6f-8a9b-0c1d2e3f4a5b")


class Node:
    def __init__(self, county_code: str, transport: Transport, *, batch: int = 500, auto_feedback: bool = True,
                 before_ack: Callable[[Sequence[Delivery]], None] | None = None, pack: int = 250,
                 max_deliver: int = 5, single_peers: Sequence[str] = (), retry_delay: float = 2.0) -> None:
        self.county_code = county_code
        self.transport = transport
        self.batch = batch  # exchange messages per relay round and (about) per receiving transaction
        self.pack = max(1, min(pack, schema.MAX_BATCH_MESSAGES))  # messages per broker message (1: no batches)
        self.single_peers = frozenset(single_peers)  # counties whose nodes read only single messages
        self.max_deliver = max(1, max_deliver)
        self.retry_delay = retry_delay  # a failed broker message comes back after this, doubling per delivery
        self.auto_feedback = auto_feedback
        # A hook between the commit and the acknowledgement (tests kill the node there).
        self.before_ack = before_ack
        # broker messages per fetch, adapted to how many exchange messages each held (batches or singles)
        self._fetch = batch
        self.counts = {"sent": 0, "received": 0, "applied": 0, "unmatched": 0, "rejected": 0, "duplicate": 0,
                       "failed": 0, "dead": 0}

    def _packed(self, rows: list[tuple[int, uuid.UUID, str, bytes, bool]]) -> list[tuple[Outgoing, list[int],
                                                                                        uuid.UUID | None]]:
        """Broker messages for outbox rows: a batch envelope per partner and up to ``pack`` messages (its id
        derived from theirs, so that a retry of the same rows is the same JetStream message id), or one
        message alone."""
        out: list[tuple[Outgoing, list[int], uuid.UUID | None]] = []
        by_peer: dict[str, list[tuple[int, uuid.UUID, bytes]]] = {}
        for pk, mid, to, body, single in rows:
            if single or self.pack == 1 or to in self.single_peers:
                out.append((Outgoing(to, self.county_code, str(mid), body), [pk], None))
            else:
                by_peer.setdefault(to, []).append((pk, mid, body))
        now = timezone.now()
        limit = schema.MAX_BATCH_BYTES - 512

        def flush(to: str, chunk: list[tuple[int, uuid.UUID, bytes]]) -> None:
            if len(chunk) == 1:
                pk, mid, body = chunk[0]
                out.append((Outgoing(to, self.county_code, str(mid), body), [pk], None))
                return
            batch_id = uuid.uuid5(_BATCH_NS, ",".join(str(mid) for _, mid, _ in chunk))
            data = schema.encode_batch([body for *_, body in chunk], batch_id=batch_id,
                                       from_county=self.county_code, to_county=to, sent_at=now)
            out.append((Outgoing(to, self.county_code, str(batch_id), data), [pk for pk, *_ in chunk], batch_id))

        for to, items in by_peer.items():
            chunk: list[tuple[int, uuid.UUID, bytes]] = []
            size = 0
            for item in items:
                if chunk and (len(chunk) >= self.pack or size + len(item[2]) + 1 > limit):
                    flush(to, chunk)
                    chunk, size = [], 0
                chunk.append(item)
                size += len(item[2]) + 1
            if chunk:
                flush(to, chunk)
        return out

    def relay_once(self) -> int:
        """Publish up to ``batch`` pending outbox messages (packed in batch envelopes); returns how many the
        broker stored. A row is marked sent only after the broker acknowledged the message that carried it."""
        rows = [(pk, mid, to, bytes(body), single) for pk, mid, to, body, single in
                OutboxMessage.objects.filter(county_code=self.county_code, sent_at__isnull=True)
                .order_by("id").values_list("pk", "message_id", "to_county", "body", "single")[:self.batch]]
        if not rows:
            return 0
        packed = self._packed(rows)
        try:
            results = self.transport.publish([o for o, _, _ in packed])
        except TransportError as exc:
            results = [str(exc)] * len(packed)
        now = timezone.now()
        singles = [pks[0] for (_, pks, bid), err in zip(packed, results, strict=True) if err is None and bid is None]
        failed = [(pks, err) for (_, pks, _), err in zip(packed, results, strict=True) if err is not None]
        sent = len(singles)
        with transaction.atomic():  # one commit for the round
            if singles:
                OutboxMessage.objects.filter(pk__in=singles).update(sent_at=now, attempts=F("attempts") + 1)
            for (_, pks, bid), err in zip(packed, results, strict=True):
                if err is None and bid is not None:
                    OutboxMessage.objects.filter(pk__in=pks).update(sent_at=now, attempts=F("attempts") + 1,
                                                                    batch_id=bid)
                    sent += len(pks)
            if failed:
                OutboxMessage.objects.filter(pk__in=[pk for pks, _ in failed for pk in pks]).update(
                    attempts=F("attempts") + 1, last_error=failed[0][1][:300])
                services.error_record(county_code=self.county_code, where="relay",
                                      message=f"{sum(len(p) for p, _ in failed)} not published: {failed[0][1]}")
        self.counts["sent"] += sent
        if failed and not sent:
            raise TransportError(f"publish failed: {failed[0][1]}")
        return sent

    def consume_once(self, *, timeout: float = 1.0) -> int:
        """Receive up to about ``batch`` messages, apply them in one transaction per ``batch`` messages, and
        acknowledge each broker message after the commit. Returns how many broker messages came."""
        deliveries = self.transport.fetch(self.county_code, batch=self._fetch, timeout=timeout)
        if not deliveries:
            return 0
        unpacked = [services.unpack(d.data, county_code=self.county_code, sender=d.sender, header_id=d.header_id)
                    for d in deliveries]
        total = sum(len(u) for u in unpacked)
        self._fetch = max(1, min(self.batch, round(self.batch * len(deliveries) / max(1, total))))
        group: list[int] = []
        size = 0
        for i, items in enumerate(unpacked):
            if group and size + len(items) > self.batch:
                self._apply([deliveries[j] for j in group], [unpacked[j] for j in group])
                group, size = [], 0
            group.append(i)
            size += len(items)
        self._apply([deliveries[j] for j in group], [unpacked[j] for j in group])
        return len(deliveries)

    def _apply(self, deliveries: list[Delivery], unpacked: list[list[services.Received]]) -> None:
        items = [item for group in unpacked for item in group]
        done: list[Delivery] = []
        retry: list[Delivery] = []
        try:
            with transaction.atomic():
                outcomes = services.messages_receive(county_code=self.county_code, items=items,
                                                     auto_feedback=self.auto_feedback)
            for outcome in outcomes:
                self.counts[outcome] += 1
            done = list(deliveries)
            self.counts["received"] += len(items)
        except Exception:  # noqa: BLE001 - e.g. a concurrent consumer, a failing message: one at a time
            log.warning("exchange %s: batch failed, applying one by one", self.county_code, exc_info=True)
            done, retry = self._consume_one_by_one(deliveries, unpacked)
        if self.before_ack is not None:
            self.before_ack(done)
        self.transport.ack(done)
        if retry:
            deliveries = min(max(d.deliveries for d in retry), 6)
            self.transport.nak(retry, delay=min(60.0, self.retry_delay * 2 ** (deliveries - 1)))

    def _consume_one_by_one(self, deliveries: Sequence[Delivery],
                            unpacked: Sequence[list[services.Received]]) -> tuple[list[Delivery], list[Delivery]]:
        """Each message in a savepoint of its own. A broker message is acknowledged when all it held is applied
        (or dead-lettered: failed on its ``max_deliver``-th delivery); else it comes back later."""
        done: list[Delivery] = []
        retry: list[Delivery] = []
        with transaction.atomic():
            for d, items in zip(deliveries, unpacked, strict=True):
                failed: list[tuple[services.Received, str]] = []
                for item in items:
                    try:
                        with transaction.atomic():
                            outcome = services.message_receive(
                                county_code=self.county_code, raw=item.raw, sender=item.sender,
                                header_id=item.header_id, auto_feedback=self.auto_feedback, decoded=item.decoded)
                    except Exception as exc:  # noqa: BLE001 - the worker never crashes on input; retried later
                        log.exception("exchange %s: could not apply a message", self.county_code)
                        error = f"{type(exc).__name__}: {exc}"
                        services.error_record(county_code=self.county_code, where="consume",
                                              message=f"{item.message_id}: {error}")
                        failed.append((item, error))
                        continue
                    self.counts[outcome] += 1
                    self.counts["received"] += 1
                if failed and d.deliveries >= self.max_deliver:
                    try:
                        with transaction.atomic():
                            for item, error in failed:
                                services.dead_letter_record(county_code=self.county_code, item=item, error=error,
                                                            deliveries=d.deliveries)
                    except Exception:  # noqa: BLE001 - cannot even record it: keep it on the broker
                        log.exception("exchange %s: could not dead-letter a message", self.county_code)
                        self.counts["failed"] += len(failed)
                        retry.append(d)
                        continue
                    log.error("exchange %s: %d message(s) dead-lettered after %d deliveries", self.county_code,
                              len(failed), d.deliveries)
                    self.counts["dead"] += len(failed)
                    done.append(d)
                elif failed:
                    self.counts["failed"] += len(failed)
                    retry.append(d)
                else:
                    done.append(d)
        return done, retry

    def step(self, *, timeout: float = 1.0) -> int:
        sent = self.relay_once()
        got = self.consume_once(timeout=0 if sent else timeout)
        return sent + got

    def run(self, stop: threading.Event, *, idle_timeout: float = 1.0) -> None:
        """Relay and consume until ``stop`` is set; back off exponentially while the broker or database fails."""
        backoff = Backoff()
        log.info("exchange %s: worker started", self.county_code)
        while not stop.is_set():
            try:
                self.step(timeout=idle_timeout)
                backoff.reset()
            except Exception as exc:  # noqa: BLE001 - keep running; the error is logged and kept for status
                delay = backoff.next()
                log.warning("exchange %s: %s; retrying in %.1f s", self.county_code, exc, delay)
                close_old_connections()
                try:
                    services.error_record(county_code=self.county_code, where="worker",
                                          message=f"{type(exc).__name__}: {exc}")
                except Exception:  # noqa: BLE001 - the database may be the thing that is down
                    log.exception("exchange %s: could not record the error", self.county_code)
                stop.wait(delay)
        log.info("exchange %s: worker stopped (%s)", self.county_code,
                 ", ".join(f"{k} {v}" for k, v in self.counts.items()))


def drain(nodes: Sequence[Node], *, until: Callable[[], bool], timeout: float = 60.0, poll: float = 0.2) -> None:
    """Step the nodes in turn until ``until()`` holds (tests, benchmark, demo)."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the exchange did not settle in time")
        for node in nodes:
            node.step(timeout=poll)
