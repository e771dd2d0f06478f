"""renkou bench search: person search over HTTP against a generated county, with concurrent clients.

Builds (or reuses) a synthetic county of ``--persons`` persons in ``--data-dir``, starts ``renkou serve``
(gunicorn) on a free loopback port against it, and fires ``GET /api/v1/persons`` from ``--clients`` threads
with keep-alive connections and bearer tokens: half the clients as the county administrator, half as a township
officer, each drawing from a mix of name prefixes (surnames as frequent as in the register, surname plus one
character), exact ID numbers and village filters. The same clients first load ``GET /healthz`` (one database
round trip, no authentication): the ratio of the two separates the cost of a search from the server's own.

Prints p50/p95/p99 latency and requests per second for both, per kind of query and per persona, and the
ratios. Bounded in requests (``--requests`` per phase) and in time (``--max-seconds`` per phase); talks to
127.0.0.1 only; stops the server it started. Never run by the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urlencode

HOST = "127.0.0.1"
BENCH_MARKER = "bench-search.json"
WARMUP_REQUESTS = 64


# --------------------------------------------------------------------------------------------------------------
# options


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="renkou bench search", description=__doc__.split("\n\n")[0])
    p.add_argument("--persons", type=int, default=1_000_000, help="size of the county (default 1000000)")
    p.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    p.add_argument("--requests", type=int, default=2000, help="requests per phase (default 2000)")
    p.add_argument("--max-seconds", type=float, default=300.0, help="time limit of each phase (default 300)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder of the county's SQLite database (default var/bench-PERSONS); reused when it holds "
                        "a county of this size")
    p.add_argument("--seed", type=int, default=1, help="seed of the county and of the query mix")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, as renkou serve)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (default 4, as renkou serve)")
    return p


# --------------------------------------------------------------------------------------------------------------
# the county, the server, the tokens (each in a child process with the bench's own settings)


def _child_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RENKOU_DATA_DIR"] = str(data_dir)
    env.pop("RENKOU_DATABASE_URL", None)  # the bench's own SQLite file, never the install's database
    env.pop("RENKOU_DEBUG", None)
    env["RENKOU_SECRET_KEY"] = secrets.token_urlsafe(40)  # a throwaway key for this run's server
    env.setdefault("DJANGO_SETTINGS_MODULE", "renkou.settings")
    env.setdefault("RENKOU_LOG_LEVEL", "WARNING")
    return env


def _renkou(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "renkou.cli", *args], env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"renkou {' '.join(args)} failed with exit code {result.returncode}")


def _ensure_county(data_dir: Path, persons: int, seed: int, env: dict[str, str], out: TextIO) -> None:
    marker = data_dir / BENCH_MARKER
    if marker.is_file():
        known = json.loads(marker.read_text())
        if known.get("persons") == persons and known.get("seed") == seed and (data_dir / "renkou.sqlite3").is_file():
            out.write(f"Reusing the county in {data_dir} ({persons:,} persons, seed {seed}).\n")
            return
        raise SystemExit(f"{data_dir} holds another county ({known}); choose another --data-dir.")
    if (data_dir / "renkou.sqlite3").exists():
        raise SystemExit(f"{data_dir} holds a database that this bench did not build; choose another --data-dir.")
    data_dir.mkdir(parents=True, exist_ok=True)
    out.write(f"Building a county of {persons:,} persons in {data_dir} (renkou demo; this takes a while) …\n")
    out.flush()
    started = time.perf_counter()
    _renkou(["migrate", "--verbosity", "0"], env)
    _renkou(["demo", "--persons", str(persons), "--seed", str(seed)], env)
    marker.write_text(json.dumps({"persons": persons, "seed": seed}))
    out.write(f"Built in {time.perf_counter() - started:.0f} s.\n")


@dataclass
class Workload:
    """What the clients ask for, drawn from the register itself (prepared in the child process)."""

    persons: int
    county_token: str
    township_token: str
    township: str  # code and name of the township officer's unit
    surnames: list[tuple[str, int]]  # (surname, persons) over the county
    given: list[str]  # second characters seen after common surnames
    county_id_numbers: list[str]
    township_id_numbers: list[str]
    county_villages: list[str]
    township_villages: list[str]


def _prepare(env: dict[str, str]) -> Workload:
    result = subprocess.run([sys.executable, "-m", "renkou.bench.search", "--prepare"], env=env,  # noqa: S603
                            check=False, text=True, stdout=subprocess.PIPE)
    if result.returncode != 0:
        raise SystemExit("Preparing the tokens and the query mix failed.")
    return Workload(**json.loads(result.stdout.strip().splitlines()[-1]))


def _prepare_in_child() -> None:
    """Runs in a child process with the bench's settings: tokens for two users and samples of the register."""
    import django

    django.setup()
    from django.db import connection

    from renkou.accounts.models import Role
    from renkou.accounts.selectors import user_get_by_username
    from renkou.accounts.services import token_create, user_create
    from renkou.orgunits.models import OrgUnit, UnitLevel
    from renkou.orgunits.selectors import unit_county, unit_subtree_ids
    from renkou.registry.models import Person

    county = unit_county()
    if county is None:
        raise SystemExit("The database holds no county.")
    township = OrgUnit.objects.filter(parent=county, level=UnitLevel.TOWNSHIP).order_by("code").first()

    def user(preferred: str, fallback: str, role: str, unit: OrgUnit):
        existing = user_get_by_username(preferred)
        if existing is not None and existing.role == role and existing.unit_id == unit.pk:
            return existing
        return user_get_by_username(fallback) or user_create(username=fallback, password=None, role=role, unit=unit,
                                                              full_name="bench")

    admin = user("admin", "bench-county", Role.COUNTY_ADMIN, county)
    officer = user("dongcheng", "bench-township", Role.TOWNSHIP_OFFICER, township)
    rng = random.Random(7)
    with connection.cursor() as cursor:
        cursor.execute("SELECT substr(name, 1, 1), COUNT(*) FROM registry_person GROUP BY 1 ORDER BY 2 DESC LIMIT 60")
        surnames = [(s, n) for s, n in cursor.fetchall()]
        cursor.execute("SELECT MIN(id), MAX(id) FROM registry_person")
        low, high = cursor.fetchone()
    picks = sorted(rng.randint(low, high) for _ in range(3000))
    sample = list(Person.objects.filter(pk__in=picks, id_number__isnull=False, death_date__isnull=True)
                  .values_list("id_number", "name", "residence_unit_id", "registration_unit_id"))
    township_units = set(unit_subtree_ids(township))
    villages = dict(OrgUnit.objects.filter(level=UnitLevel.VILLAGE).values_list("id", "code"))
    payload = {
        "persons": Person.objects.count(),
        "county_token": token_create(user=admin, name="bench"),
        "township_token": token_create(user=officer, name="bench"),
        "township": f"{township.code} {township.name}",
        "surnames": surnames,
        "given": sorted({name[1] for _, name, _, _ in sample if len(name) > 2}),
        "county_id_numbers": [n for n, _, _, _ in sample][:1000],
        "township_id_numbers": [n for n, _, r, g in sample if r in township_units or g in township_units][:500],
        "county_villages": sorted(villages.values()),
        "township_villages": sorted(code for pk, code in villages.items() if pk in township_units),
    }
    print(json.dumps(payload, ensure_ascii=False))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _start_server(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "renkou.cli", "serve", "--host", HOST, "--port", str(port), "--no-migrate",
               "--workers", str(workers), "--threads", str(threads)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, start_new_session=True)  # noqa: S603


def _stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # gunicorn's arbiter stops its workers
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def _wait_until_up(port: int, server: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"renkou serve exited with code {server.returncode}.")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("renkou serve did not answer /healthz in time.")


# --------------------------------------------------------------------------------------------------------------
# load


@dataclass
class Request:
    kind: str
    persona: str
    path: str
    token: str | None


@dataclass
class Sample:
    kind: str
    persona: str
    seconds: float
    status: int


@dataclass
class Phase:
    name: str
    samples: list[Sample] = field(default_factory=list)
    wall: float = 0.0

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 200]


def _search_requests(work: Workload, n: int, seed: int) -> list[Request]:
    rng = random.Random(seed)
    names = [s for s, _ in work.surnames]
    weights = [c for _, c in work.surnames]
    out = []
    for i in range(n):
        as_county = i % 2 == 0
        persona = "county admin" if as_county else "township officer"
        token = work.county_token if as_county else work.township_token
        ids = work.county_id_numbers if as_county else work.township_id_numbers
        villages = work.county_villages if as_county else work.township_villages
        roll = rng.random()
        if roll < 0.35:
            kind, params = "name: surname", {"q": rng.choices(names, weights)[0]}
        elif roll < 0.60 and work.given:
            kind, params = "name: surname + 1", {"q": rng.choices(names, weights)[0] + rng.choice(work.given)}
        elif roll < 0.80 and ids:
            kind, params = "exact ID number", {"q": rng.choice(ids)}
        else:
            kind, params = "village (+ surname)", {"unit": rng.choice(villages)}
            if rng.random() < 0.5:
                params["q"] = rng.choices(names, weights)[0]
        out.append(Request(kind, persona, "/api/v1/persons?" + urlencode(params), token))
    return out


def _run_phase(name: str, port: int, requests: list[Request], clients: int, max_seconds: float) -> Phase:
    phase = Phase(name)
    lock = threading.Lock()
    queue = list(reversed(requests))
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        local: list[Sample] = []
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    break
                req = queue.pop()
            headers = {"Authorization": f"Bearer {req.token}"} if req.token else {}
            started = time.perf_counter()
            try:
                conn.request("GET", req.path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=60)
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
            local.append(Sample(req.kind, req.persona, time.perf_counter() - started, status))
        conn.close()
        with lock:
            phase.samples.extend(local)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.wall = time.perf_counter() - started
    return phase


# --------------------------------------------------------------------------------------------------------------
# figures


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


@dataclass
class Figures:
    n: int
    errors: int
    p50: float
    p95: float
    p99: float
    mean: float
    rps: float


def _figures(samples: list[Sample], wall: float) -> Figures:
    ok = sorted(s.seconds * 1000 for s in samples if s.status == 200)
    return Figures(n=len(samples), errors=sum(1 for s in samples if s.status != 200), p50=_quantile(ok, 0.50),
                   p95=_quantile(ok, 0.95), p99=_quantile(ok, 0.99), mean=statistics.fmean(ok) if ok else float("nan"),
                   rps=len(samples) / wall if wall > 0 else float("nan"))


def _line(label: str, f: Figures, *, rps: bool = True) -> str:
    text = (f"  {label:<28} {f.n:>6} req  p50 {f.p50:7.1f} ms  p95 {f.p95:7.1f} ms  p99 {f.p99:7.1f} ms"
            f"  mean {f.mean:7.1f} ms")
    if rps:
        text += f"  {f.rps:8.1f} req/s"
    if f.errors:
        text += f"  ERRORS {f.errors}"
    return text


def _report(out: TextIO, work: Workload, args, baseline: Phase, search: Phase) -> None:
    base = _figures(baseline.samples, baseline.wall)
    total = _figures(search.samples, search.wall)
    out.write("\n")
    out.write(f"renkou bench search: {work.persons:,} persons on record, SQLite; gunicorn {args.workers} workers × "
              f"{args.threads} threads; {args.clients} clients on 127.0.0.1 (keep-alive, bearer tokens)\n")
    out.write(f"township officer's unit: {work.township}\n\n")
    out.write(_line("baseline GET /healthz", base) + "\n")
    out.write(_line("GET /api/v1/persons (all)", total) + "\n")
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    by_persona: dict[str, list[Sample]] = defaultdict(list)
    for s in search.samples:
        by_kind[s.kind].append(s)
        by_persona[s.persona].append(s)
    for kind in sorted(by_kind):
        out.write(_line(f"  {kind}", _figures(by_kind[kind], search.wall), rps=False) + "\n")
    for persona in sorted(by_persona):
        out.write(_line(f"  as {persona}", _figures(by_persona[persona], search.wall), rps=False) + "\n")
    out.write("\n")
    out.write(f"  ratio search / healthz: p50 {total.p50 / base.p50:.1f}×, p95 {total.p95 / base.p95:.1f}×, "
              f"throughput {total.rps / base.rps:.2f}× ({base.rps:.0f} → {total.rps:.0f} req/s)\n")
    if total.n < args.requests or base.n < args.requests:
        out.write(f"  (stopped by --max-seconds {args.max_seconds:.0f}: fewer requests than asked)\n")
    out.flush()


# --------------------------------------------------------------------------------------------------------------


def run(argv: list[str], out: TextIO) -> None:
    args = _parser().parse_args(argv)
    data_dir = (args.data_dir or Path.cwd() / "var" / f"bench-{args.persons}").resolve()
    env = _child_env(data_dir)
    _ensure_county(data_dir, args.persons, args.seed, env, out)
    work = _prepare(env)
    port = _free_port()
    out.write(f"Starting renkou serve on {HOST}:{port} …\n")
    out.flush()
    server = _start_server(env, port, args.workers, args.threads)
    try:
        _wait_until_up(port, server)
        warmup = _search_requests(work, WARMUP_REQUESTS, args.seed + 1)
        _run_phase("warm-up", port, warmup, args.clients, args.max_seconds)
        health = [Request("healthz", "anonymous", "/healthz", None) for _ in range(args.requests)]
        baseline = _run_phase("baseline", port, health, args.clients, args.max_seconds)
        search = _run_phase("search", port, _search_requests(work, args.requests, args.seed), args.clients,
                            args.max_seconds)
    finally:
        _stop_server(server)
    _report(out, work, args, baseline, search)


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:
        _prepare_in_child()
    else:
        run(sys.argv[1:], sys.stdout)
