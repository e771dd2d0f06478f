"""Transports behind one small synchronous interface: in-process (one node, tests) and NATS JetStream.

Subjects are ``<prefix>.<to county>.<from county>`` (prefix ``renkou.exchange``): a county's NATS user may
publish only to ``<prefix>.*.<own code>`` and its durable pull consumer reads ``<prefix>.<own code>.*``, so the
broker itself guarantees who sent a message (docs/exchange.md, deploy/nats/).

The NATS client (nats-py, asyncio) runs its event loop in a background thread; the node calls it synchronously
so that the Django ORM stays in the calling thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MSG_ID_HEADER = "Nats-Msg-Id"


@dataclass(frozen=True)
class Outgoing:
    to_county: str
    from_county: str
    message_id: str
    data: bytes


@dataclass
class Delivery:
    data: bytes
    sender: str | None  # the last subject token: the county whose user published it
    header_id: str | None
    handle: Any = field(default=None, repr=False)
    redelivered: bool = False
    deliveries: int = 1  # how many times the broker has delivered it (JetStream's num_delivered)


class TransportError(Exception):
    """The broker could not be reached or refused the operation (the worker backs off and retries)."""


class Transport(ABC):
    @abstractmethod
    def publish(self, items: Sequence[Outgoing]) -> list[str | None]:
        """Publish and wait for the broker's acknowledgements: for each item None (stored) or an error text."""

    @abstractmethod
    def fetch(self, county_code: str, *, batch: int, timeout: float) -> list[Delivery]:
        """Up to ``batch`` messages addressed to the county (an empty list after ``timeout`` seconds)."""

    @abstractmethod
    def ack(self, deliveries: Sequence[Delivery]) -> None: ...

    @abstractmethod
    def nak(self, deliveries: Sequence[Delivery], *, delay: float) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional
        pass


# --- in-process ------------------------------------------------------------------------------------------------

class InProcessBroker:
    """A broker in memory with JetStream's guarantees that matter here: duplicate ids are dropped, an unacked
    delivery comes back (``redeliver_unacked``, as when the ack wait expires after a node died)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, collections.deque[tuple[int, Delivery]]] = collections.defaultdict(collections.deque)
        self._pending: dict[int, tuple[str, Delivery]] = {}
        self._seen: set[str] = set()
        self._seq = itertools.count(1)
        self._ready = threading.Condition(self._lock)
        self._deliveries: dict[int, int] = {}
        self.published = 0

    def publish(self, items: Sequence[Outgoing]) -> list[str | None]:
        with self._lock:
            for item in items:
                if item.message_id in self._seen:
                    continue
                self._seen.add(item.message_id)
                self.published += 1
                self._queues[item.to_county].append(
                    (next(self._seq), Delivery(item.data, item.from_county, item.message_id)))
            self._ready.notify_all()
        return [None] * len(items)

    def fetch(self, county_code: str, *, batch: int, timeout: float) -> list[Delivery]:
        with self._lock:
            queue = self._queues[county_code]
            if not queue and timeout > 0:
                self._ready.wait_for(lambda: bool(queue), timeout=timeout)
            out = []
            while queue and len(out) < batch:
                seq, delivery = queue.popleft()
                self._deliveries[seq] = self._deliveries.get(seq, 0) + 1
                delivery = Delivery(delivery.data, delivery.sender, delivery.header_id, handle=seq,
                                    redelivered=delivery.redelivered, deliveries=self._deliveries[seq])
                self._pending[seq] = (county_code, delivery)
                out.append(delivery)
            return out

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        with self._lock:
            for d in deliveries:
                self._pending.pop(d.handle, None)
                self._deliveries.pop(d.handle, None)

    def nak(self, deliveries: Sequence[Delivery], *, delay: float = 0) -> None:
        with self._lock:
            for d in deliveries:
                entry = self._pending.pop(d.handle, None)
                if entry is not None:
                    self._queues[entry[0]].append(
                        (d.handle, Delivery(d.data, d.sender, d.header_id, redelivered=True)))
            self._ready.notify_all()

    def redeliver_unacked(self) -> int:
        with self._lock:
            entries = list(self._pending.items())
            self._pending.clear()
            for seq, (county, d) in sorted(entries):
                self._queues[county].appendleft((seq, Delivery(d.data, d.sender, d.header_id, redelivered=True)))
            self._ready.notify_all()
            return len(entries)

    def backlog(self, county_code: str) -> int:
        with self._lock:
            return len(self._queues[county_code])


class InProcessTransport(Transport):
    def __init__(self, broker: InProcessBroker) -> None:
        self.broker = broker

    def publish(self, items: Sequence[Outgoing]) -> list[str | None]:
        return self.broker.publish(items)

    def fetch(self, county_code: str, *, batch: int, timeout: float) -> list[Delivery]:
        return self.broker.fetch(county_code, batch=batch, timeout=timeout)

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        self.broker.ack(deliveries)

    def nak(self, deliveries: Sequence[Delivery], *, delay: float = 0) -> None:
        self.broker.nak(deliveries, delay=delay)


# --- NATS JetStream --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NatsConfig:
    url: str = "nats://127.0.0.1:4222"
    stream: str = "RENKOU_EXCHANGE"
    prefix: str = "renkou.exchange"
    user: str = ""
    password: str = ""
    nkey_seed_file: str = ""
    creds_file: str = ""
    # Create the stream and the county's durable consumer when missing (off where an operator provisions them
    # and the county's user has no right to).
    provision: bool = True
    ack_wait: float = 30.0
    duplicate_window: float = 120.0
    publish_timeout: float = 5.0
    inbox_prefix: str = ""

    def subject(self, to_county: str, from_county: str) -> str:
        return f"{self.prefix}.{to_county}.{from_county}"

    def durable(self, county_code: str) -> str:
        return f"county_{county_code}"


class NatsTransport(Transport):
    """A node's connection to the JetStream stream: publishes with ``Nats-Msg-Id`` (the broker drops a duplicate
    within the window) and reads the county's durable pull consumer (explicit acks)."""

    def __init__(self, config: NatsConfig, *, county_code: str, connect_timeout: float = 5.0) -> None:
        self.config = config
        self.county_code = county_code
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-{county_code}", daemon=True)
        self._thread.start()
        self._nc: Any = None
        self.connect_timeout = connect_timeout
        self.last_error = ""
        self._js: Any = None
        self._sub: Any = None
        try:
            self._call(self._connect(), timeout=connect_timeout + 15)
        except BaseException:
            self.close()
            raise

    def _call(self, coro: Any, *, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError as exc:
            future.cancel()
            raise TransportError("timed out") from exc

    async def _connect(self) -> None:
        import nats
        from nats.js import api

        c = self.config
        options: dict[str, Any] = {
            "servers": [c.url], "name": f"renkou-{self.county_code}", "connect_timeout": 5,
            "max_reconnect_attempts": -1, "reconnect_time_wait": 0.5, "allow_reconnect": True,
        }
        if c.user:
            options.update(user=c.user, password=c.password)
        if c.nkey_seed_file:
            options["nkeys_seed"] = c.nkey_seed_file
        if c.creds_file:
            options["user_credentials"] = c.creds_file
        if c.inbox_prefix:
            options["inbox_prefix"] = c.inbox_prefix

        async def _remember(exc: Exception) -> None:  # reconnects are reported by the node, not by nats-py
            self.last_error = f"{type(exc).__name__}: {exc}"

        options["error_cb"] = _remember
        try:
            # nats-py retries the first connection for ever (as it reconnects): give up after connect_timeout.
            self._nc = await asyncio.wait_for(nats.connect(**options), timeout=self.connect_timeout)
        except Exception as exc:
            raise TransportError(f"cannot connect to {c.url}: {self.last_error or exc}") from exc
        self._js = self._nc.jetstream(timeout=c.publish_timeout)
        if c.provision:
            await ensure_stream(self._js, c)
            config = api.ConsumerConfig(
                durable_name=c.durable(self.county_code), ack_policy=api.AckPolicy.EXPLICIT,
                ack_wait=c.ack_wait, max_ack_pending=20_000, filter_subject=f"{c.prefix}.{self.county_code}.*",
            )
            self._sub = await self._js.pull_subscribe(f"{c.prefix}.{self.county_code}.*",
                                                      durable=c.durable(self.county_code), stream=c.stream,
                                                      config=config)
        else:
            self._sub = await self._js.pull_subscribe_bind(durable=c.durable(self.county_code), stream=c.stream)

    def publish(self, items: Sequence[Outgoing]) -> list[str | None]:
        if not items:
            return []
        return self._call(self._publish(items), timeout=self.config.publish_timeout + 5)

    async def _publish(self, items: Sequence[Outgoing]) -> list[str | None]:
        results: list[str | None] = []
        futures = []
        for item in items:
            try:
                futures.append(await self._js.publish_async(
                    self.config.subject(item.to_county, item.from_county), item.data,
                    headers={MSG_ID_HEADER: item.message_id}))
            except Exception as exc:  # noqa: BLE001 - reported per message
                futures.append(exc)
        pending = [f for f in futures if isinstance(f, asyncio.Future)]
        if pending:
            await asyncio.wait(pending, timeout=self.config.publish_timeout)
        for f in futures:
            if isinstance(f, BaseException):
                results.append(f"{type(f).__name__}: {f}"[:300])
            elif not f.done():
                f.cancel()
                results.append("no acknowledgement from the broker")
            elif f.exception() is not None:
                exc = f.exception()
                results.append(f"{type(exc).__name__}: {exc}"[:300])
            else:
                results.append(None)
        return results

    def fetch(self, county_code: str, *, batch: int, timeout: float) -> list[Delivery]:
        assert county_code == self.county_code
        return self._call(self._fetch(batch, timeout), timeout=timeout + 10)

    async def _fetch(self, batch: int, timeout: float) -> list[Delivery]:
        import nats.errors

        try:
            msgs = await self._sub.fetch(batch, timeout=max(timeout, 0.05))
        except (TimeoutError, nats.errors.TimeoutError):
            # nothing arrived in time (nats-py raises its own or asyncio's, depending on where it waited)
            return []
        except Exception as exc:
            raise TransportError(f"fetch failed: {type(exc).__name__}: {exc}") from exc
        out = []
        for m in msgs:
            sender = m.subject.rsplit(".", 1)[-1] if m.subject.count(".") >= 2 else None
            header_id = (m.headers or {}).get(MSG_ID_HEADER)
            deliveries = 1
            with contextlib.suppress(Exception):
                deliveries = m.metadata.num_delivered
            out.append(Delivery(m.data, sender, header_id, handle=m, redelivered=deliveries > 1,
                                deliveries=deliveries))
        return out

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            self._call(self._ack(deliveries), timeout=15)

    async def _ack(self, deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            await d.handle.ack()
        await self._nc.flush(timeout=5)

    def nak(self, deliveries: Sequence[Delivery], *, delay: float = 0) -> None:
        if deliveries:
            self._call(self._nak(deliveries, delay), timeout=15)

    async def _nak(self, deliveries: Sequence[Delivery], delay: float) -> None:
        for d in deliveries:
            await d.handle.nak(delay=delay or None)

    def consumer_lag(self) -> dict[str, int]:
        """Messages waiting for this county on the broker, and delivered but not yet acknowledged."""
        info = self._call(self._sub.consumer_info(), timeout=10)
        return {"pending": info.num_pending, "unacknowledged": info.num_ack_pending}

    def close(self) -> None:
        if self._loop.is_running():
            if self._nc is not None:
                with contextlib.suppress(Exception):
                    self._call(self._nc.close(), timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._loop.close()


async def ensure_stream(js: Any, c: NatsConfig) -> None:
    """The durable stream of all exchange subjects (file storage, duplicate window), created when missing."""
    import nats.js.errors
    from nats.js import api

    try:
        await js.stream_info(c.stream)
    except nats.js.errors.NotFoundError:
        await js.add_stream(api.StreamConfig(
            name=c.stream, subjects=[f"{c.prefix}.>"], storage=api.StorageType.FILE,
            retention=api.RetentionPolicy.LIMITS, duplicate_window=c.duplicate_window, max_age=90 * 86400,
        ))


def provision(config: NatsConfig, county_codes: Sequence[str]) -> None:
    """As the operator: create the stream and each county's durable pull consumer (idempotent)."""
    import nats
    from nats.js import api

    async def go() -> None:
        nc = await nats.connect(config.url, user=config.user or None, password=config.password or None,
                                connect_timeout=5, max_reconnect_attempts=3)
        try:
            js = nc.jetstream()
            await ensure_stream(js, config)
            for code in county_codes:
                await js.add_consumer(config.stream, api.ConsumerConfig(
                    durable_name=config.durable(code), name=config.durable(code),
                    ack_policy=api.AckPolicy.EXPLICIT, ack_wait=config.ack_wait, max_ack_pending=20_000,
                    filter_subject=f"{config.prefix}.{code}.*"))
        finally:
            await nc.close()

    asyncio.run(go())
