"""renkou exchange: the floating-population exchange worker and its status (docs/exchange.md).

  renkou exchange run            relay the outbox and consume the inbox until SIGTERM/SIGINT
  renkou exchange status         queues, lag and last errors (--json for machines)
  renkou exchange setup          as the NATS operator: create the stream and the counties' consumers
  renkou exchange nats-config    print a nats-server accounts block with one user per county
"""

from __future__ import annotations

import json
import logging
import secrets
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from renkou.core.errors import NotFound
from renkou.migrants import natsconf, selectors
from renkou.migrants.transports import TransportError

log = logging.getLogger("renkou.exchange")


class Command(BaseCommand):
    help = "Floating-population exchange with other counties over NATS JetStream: run the worker, show the status."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="run the worker (outbox relay + inbox consumer) until stopped")
        run.add_argument("--county", help="this node's county code (default RENKOU_COUNTY_CODE or the register's)")
        run.add_argument("--idle", type=float, default=1.0, help="seconds to wait for messages when idle")
        st = sub.add_parser("status", help="queues, lag and last errors")
        st.add_argument("--county")
        st.add_argument("--json", action="store_true")
        st.add_argument("--broker", action="store_true", help="also ask NATS for the consumer's pending messages")
        setup = sub.add_parser("setup", help="create the stream and each county's durable consumer (operator)")
        setup.add_argument("--county", action="append", required=True, dest="counties")
        dp = sub.add_parser("demo-partner", help="two-county demo, first county: record its side of the exchange "
                            "with PARTNER and write the file `renkou demo --second-county` reads")
        dp.add_argument("--partner", required=True, help="the second county's code, e.g. 500231")
        dp.add_argument("--file", required=True, help="where to write the shared migrants (JSON)")
        dp.add_argument("--seed", type=int, default=1)
        rt = sub.add_parser("retry", help="apply dead-lettered messages again (after fixing their cause)")
        rt.add_argument("--county")
        rt.add_argument("ids", nargs="*", type=int, help="inbox ids of the dead letters (see status)")
        rt.add_argument("--all", action="store_true", help="every dead letter of the county")
        cfg = sub.add_parser("nats-config", help="print a nats-server accounts block, one user per county")
        cfg.add_argument("--county", action="append", required=True, dest="counties")

    def handle(self, *args, **opts):
        return getattr(self, "_" + opts["action"].replace("-", "_"))(opts)

    def _county(self, opts) -> str:
        try:
            code = opts.get("county") or selectors.own_county_code()
        except NotFound as exc:
            raise CommandError(str(exc)) from exc
        if len(code) != 6 or not code.isdigit():
            raise CommandError(f"county code must be six digits, not {code!r}")
        return code

    def _run(self, opts) -> None:
        from django.conf import settings

        from renkou.migrants.node import Node
        from renkou.migrants.transports import NatsTransport

        county = self._county(opts)
        config = selectors.nats_config(inbox_prefix=natsconf.inbox_prefix(county))
        stop = threading.Event()

        def _stop(signum, _frame):
            log.info("exchange %s: %s received, stopping", county, signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        transport = None
        delay = 0.5
        while transport is None and not stop.is_set():
            try:
                transport = NatsTransport(config, county_code=county)
            except TransportError as exc:
                log.warning("exchange %s: %s; retrying in %.1f s", county, exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, 30.0)
        if transport is None:
            return
        self.stdout.write(f"exchange {county}: connected to {config.url}, stream {config.stream}")
        node = Node(county, transport, batch=settings.EXCHANGE["BATCH"],
                    auto_feedback=settings.EXCHANGE["AUTO_FEEDBACK"], pack=settings.EXCHANGE["PACK"],
                    max_deliver=settings.EXCHANGE["MAX_DELIVER"],
                    single_peers=settings.EXCHANGE["SINGLE_PEERS"].replace(",", " ").split())
        try:
            node.run(stop, idle_timeout=opts["idle"])
        finally:
            transport.close()
        self.stdout.write(f"exchange {county}: stopped; " + ", ".join(f"{k} {v}" for k, v in node.counts.items()))

    def _status(self, opts) -> None:
        county = self._county(opts)
        s = selectors.status(county)
        dead = list(selectors.dead_list(county)[:20])
        broker = None
        if opts["broker"]:
            from renkou.migrants.transports import NatsTransport

            try:
                t = NatsTransport(selectors.nats_config(inbox_prefix=natsconf.inbox_prefix(county), provision=False),
                                  county_code=county, connect_timeout=3)
                try:
                    broker = t.consumer_lag()
                finally:
                    t.close()
            except Exception as exc:  # noqa: BLE001 - status reports the broker's state, it does not fail on it
                broker = {"error": str(exc)}
        data = {
            "county": county, "outbox": {"pending": s.outbox_pending, "sent": s.outbox_sent,
                                         "rejected": s.outbox_rejected},
            "lag_seconds": None if s.lag_seconds is None else round(s.lag_seconds, 1),
            "inbox": s.inbox, "unmatched": s.unmatched,
            "requests": {"open": s.requests_open, "overdue": s.requests_overdue},
            "dead": [{"id": m.pk, "message_id": str(m.message_id), "kind": m.kind, "from_county": m.from_county,
                      "reason": m.reason} for m in dead],
            "broker": broker,
            "errors": [{"at": e.at.isoformat(), "where": e.where, "message": e.message} for e in s.errors],
        }
        if opts["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        w = self.stdout.write
        w(f"county {county}")
        w(f"outbox: {s.outbox_pending} pending, {s.outbox_sent} sent, {s.outbox_rejected} rejected by the receiver")
        w(f"lag: {'none' if s.lag_seconds is None else f'{s.lag_seconds:.1f} s (oldest unsent message)'}")
        w("inbox: " + ", ".join(f"{k} {v}" for k, v in s.inbox.items()))
        w(f"unmatched (waiting for an officer): {s.unmatched}")
        w(f"requests to answer: {s.requests_open} open, {s.requests_overdue} overdue")
        w(f"dead letters (failed on every delivery; renkou exchange retry): {s.dead}")
        for m in dead:
            w(f"  #{m.pk} {m.kind} from {m.from_county} {m.message_id}: {m.reason}")
        if broker is not None:
            w(f"broker: {broker}")
        w(f"last errors: {len(s.errors) or 'none'}")
        for e in s.errors:
            w(f"  {e.at:%Y-%m-%d %H:%M:%S} {e.where}: {e.message}")

    def _retry(self, opts) -> None:
        from renkou.core.errors import RuleViolation
        from renkou.migrants import services

        county = self._county(opts)
        if not opts["ids"] and not opts["all"]:
            raise CommandError("name the dead letters to retry (ids from `renkou exchange status`) or --all")
        items = list(selectors.dead_list(county)) if opts["all"] else []
        for pk in opts["ids"]:
            try:
                items.append(selectors.dead_get(county, pk))
            except NotFound as exc:
                raise CommandError(f"#{pk} is not a dead letter of county {county}") from exc
        failed = 0
        for item in items:
            try:
                new = services.dead_letter_retry(item=item, by=None)
            except RuleViolation as exc:
                failed += 1
                self.stdout.write(f"#{item.pk} {item.message_id}: {exc.message}")
            else:
                self.stdout.write(f"#{item.pk} {item.message_id}: {new.status}")
        self.stdout.write(f"retried {len(items)}: {len(items) - failed} applied, {failed} failed again")
        if failed:
            raise CommandError(f"{failed} dead letter(s) failed again")

    def _setup(self, opts) -> None:
        from renkou.migrants.transports import provision

        config = selectors.nats_config()
        try:
            provision(config, opts["counties"])
        except Exception as exc:
            raise CommandError(f"could not provision {config.stream} at {config.url}: {exc}") from exc
        self.stdout.write(f"stream {config.stream} and consumers for {', '.join(opts['counties'])} are ready")

    def _demo_partner(self, opts) -> None:
        from pathlib import Path

        from renkou.demo.second_county import first_county_seed, partner_export

        county = self._county(opts)
        export = partner_export(county_code=county, partner=opts["partner"])
        counts = first_county_seed(export=export, seed=opts["seed"])
        Path(opts["file"]).write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
        self.stdout.write(
            f"county {county}: {counts['records']} migrants from {opts['partner']} recorded (case records queued), "
            f"{counts['requests']} verification requests queued; wrote {opts['file']} "
            f"({len(export['ours_living_there'])} of our residents living in {opts['partner']}).\n"
            f"Next, in another data folder: renkou migrate && renkou demo --second-county {opts['partner']} "
            f"--partner-file {opts['file']}")

    def _nats_config(self, opts) -> None:
        passwords = {c: secrets.token_urlsafe(18) for c in opts["counties"]}
        config = selectors.nats_config()
        self.stdout.write(natsconf.server_config(counties=passwords, operator_password=secrets.token_urlsafe(18),
                                                 stream=config.stream, prefix=config.prefix))
