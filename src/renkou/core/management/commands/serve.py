"""renkou serve: migrate, (with --demo) build the synthetic county on first run, then serve with gunicorn."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Start the web app. With --demo, the first run generates a synthetic county and later runs reuse it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
        parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
        parser.add_argument("--demo", action="store_true", help="generate the demo county if the database is empty")
        parser.add_argument("--persons", type=int, default=100_000, help="size of the demo county (default 100000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed of the demo county")
        parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")

    def handle(self, *args, **opts):
        if not settings.DEBUG and settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET:
            raise CommandError(
                "Refusing to start in production mode with the default secret key. Set RENKOU_SECRET_KEY "
                "(or RENKOU_DEBUG=true for development, or use --demo for a demo install).")
        if not opts["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        if opts["demo"]:
            from renkou.demo.services import DemoError, demo_ensure

            try:
                logins = demo_ensure(persons=opts["persons"], seed=opts["seed"], out=self.stdout)
            except DemoError as exc:
                raise CommandError(str(exc)) from exc
            # The statistics snapshot made now rather than by the first statistics page (a few seconds at 100k).
            from renkou.stats.services import snapshot_prepare

            started = time.perf_counter()
            info = snapshot_prepare()
            if info.mode != "current":
                self.stdout.write(f"Statistics snapshot ({info.mode}) written in {time.perf_counter() - started:.1f} s")
            self.stdout.write("")
            self.stdout.write("Demo county (synthetic data) — logins:")
            for login in logins:
                self.stdout.write(f"  {login.username:<12} {login.password:<14} {login.description}")
        url = f"http://{opts['host']}:{opts['port']}"
        self.stdout.write(f"\nrenkou is serving at {url}  (Ctrl+C to stop)\n")
        self.stdout.flush()
        _serve(opts["host"], opts["port"], opts["workers"], opts["threads"])


def _serve(host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    from renkou.wsgi import application

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", None)
            self.cfg.set("errorlog", "-")
            self.cfg.set("loglevel", "warning")

        def load(self):
            return application

    _App().run()
