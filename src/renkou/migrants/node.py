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
from collections.abc import Callable, Sequence

from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from renkou.migrants import services
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


class Node:
    def __init__(self, county_code: str, transport: Transport, *, batch: int = 500, auto_feedback: bool = True,
                 before_ack: Callable[[Sequence[Delivery]], None] | None = None) -> None:
        self.county_code = county_code
        self.transport = transport
        self.batch = batch
        self.auto_feedback = auto_feedback
        # A hook between the commit and the acknowledgement (tests kill the node there).
        self.before_ack = before_ack
        self.counts = {"sent": 0, "received": 0, "applied": 0, "unmatched": 0, "rejected": 0, "duplicate": 0,
                       "failed": 0}

    def relay_once(self) -> int:
        """Publish up to one batch of pending outbox messages; returns how many the broker stored."""
        rows = list(OutboxMessage.objects.filter(county_code=self.county_code, sent_at__isnull=True)
                    .order_by("id").values_list("pk", "message_id", "to_county", "body")[:self.batch])
        if not rows:
            return 0
        items = [Outgoing(to, self.county_code, str(mid), bytes(body)) for _, mid, to, body in rows]
        try:
            results = self.transport.publish(items)
        except TransportError as exc:
            results = [str(exc)] * len(items)
        ok = [pk for (pk, *_), err in zip(rows, results, strict=True) if err is None]
        failed = [(pk, err) for (pk, *_), err in zip(rows, results, strict=True) if err is not None]
        if ok:
            OutboxMessage.objects.filter(pk__in=ok).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
        if failed:
            OutboxMessage.objects.filter(pk__in=[pk for pk, _ in failed]).update(
                attempts=F("attempts") + 1, last_error=failed[0][1][:300])
            services.error_record(county_code=self.county_code, where="relay",
                                  message=f"{len(failed)} not published: {failed[0][1]}")
        self.counts["sent"] += len(ok)
        if failed and not ok:
            raise TransportError(f"publish failed: {failed[0][1]}")
        return len(ok)

    def consume_once(self, *, timeout: float = 1.0) -> int:
        """Receive up to one batch, apply it in one transaction, then acknowledge. Returns how many."""
        deliveries = self.transport.fetch(self.county_code, batch=self.batch, timeout=timeout)
        if not deliveries:
            return 0
        done: list[Delivery] = []
        retry: list[Delivery] = []
        try:
            with transaction.atomic():
                outcomes = services.messages_receive(
                    county_code=self.county_code, items=[(d.data, d.sender, d.header_id) for d in deliveries],
                    auto_feedback=self.auto_feedback)
            for outcome in outcomes:
                self.counts[outcome] += 1
            done = list(deliveries)
        except Exception:  # noqa: BLE001 - e.g. a concurrent consumer: take the batch one message at a time
            log.warning("exchange %s: batch failed, applying one by one", self.county_code, exc_info=True)
            done, retry = self._consume_one_by_one(deliveries)
        self.counts["received"] += len(done)
        if self.before_ack is not None:
            self.before_ack(done)
        self.transport.ack(done)
        if retry:
            self.transport.nak(retry, delay=5.0)
        return len(deliveries)

    def _consume_one_by_one(self, deliveries: Sequence[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
        done: list[Delivery] = []
        retry: list[Delivery] = []
        with transaction.atomic():
            for d in deliveries:
                try:
                    with transaction.atomic():
                        outcome = services.message_receive(
                            county_code=self.county_code, raw=d.data, sender=d.sender, header_id=d.header_id,
                            auto_feedback=self.auto_feedback)
                except Exception as exc:  # noqa: BLE001 - the worker never crashes on input; retried later
                    log.exception("exchange %s: could not apply a message", self.county_code)
                    services.error_record(county_code=self.county_code, where="consume",
                                          message=f"{type(exc).__name__}: {exc}")
                    self.counts["failed"] += 1
                    retry.append(d)
                    continue
                self.counts[outcome] += 1
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
