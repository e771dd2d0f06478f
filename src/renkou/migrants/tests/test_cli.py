"""renkou exchange run (a real worker process, stopped by SIGTERM) and renkou exchange status."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from renkou.migrants import services
from renkou.migrants.tests.conftest import A, B
from renkou.migrants.transports import NatsTransport, Outgoing

SRC = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """One migrated SQLite database for the worker processes of this module (each test copies it)."""
    folder = tmp_path_factory.mktemp("migrated")
    env = {**os.environ, "PYTHONPATH": str(SRC), "RENKOU_DATA_DIR": str(folder),
           "DJANGO_SETTINGS_MODULE": "renkou.settings"}
    env.pop("RENKOU_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "renkou.cli", "migrate", "-v", "0"], env=env, check=True,  # noqa: S603
                   timeout=180)
    return folder / "renkou.sqlite3"


@pytest.mark.any_database
def test_worker_process_answers_with_a_rejection_and_stops_cleanly_on_sigterm(nats_names, tmp_path, migrated):
    env = {**os.environ, "PYTHONPATH": str(SRC), "RENKOU_DATA_DIR": str(tmp_path), "RENKOU_COUNTY_CODE": B,
           "RENKOU_NATS_URL": nats_names.url, "RENKOU_NATS_STREAM": nats_names.stream,
           "RENKOU_NATS_SUBJECT_PREFIX": nats_names.prefix, "RENKOU_LOG_LEVEL": "INFO",
           "DJANGO_SETTINGS_MODULE": "renkou.settings"}
    env.pop("RENKOU_DATABASE_URL", None)  # the worker uses the copied SQLite database, also in the PostgreSQL run
    cli = [sys.executable, "-m", "renkou.cli"]
    shutil.copy(migrated, tmp_path / "renkou.sqlite3")
    worker = subprocess.Popen([*cli, "exchange", "run", "--idle", "0.2"], env=env,  # noqa: S603
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    a = NatsTransport(nats_names, county_code=A)
    try:
        a.publish([Outgoing(B, A, str(uuid.uuid4()), b"{not json")])
        got = []
        deadline = time.monotonic() + 30
        while not got:
            assert time.monotonic() < deadline and worker.poll() is None, "no rejection from the worker"
            got = a.fetch(A, batch=5, timeout=0.5)
        a.ack(got)
        rejection = json.loads(got[0].data)
        assert (rejection["kind"], rejection["from_county"], rejection["to_county"]) == ("rejection", B, A)
        assert rejection["payload"]["reason"] == "malformed"
        assert got[0].sender == B
    finally:
        a.close()
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, out
    assert "SIGTERM received, stopping" in out
    assert "stopped; sent 1, received 1" in out
    status = subprocess.run([*cli, "exchange", "status", "--json"], env=env, capture_output=True, text=True,  # noqa: S603
                            check=True, timeout=60)
    data = json.loads(status.stdout)
    assert data["inbox"]["rejected"] == 1 and data["outbox"] == {"pending": 0, "sent": 1, "rejected": 0}


@pytest.mark.any_database
def test_worker_killed_mid_stream_and_restarted_applies_each_message_once(nats_names, tmp_path, migrated):
    """kill -9 while the worker receives; after a restart every message is recorded once and answered once."""
    config = replace(nats_names, ack_wait=1.0)
    env = {**os.environ, "PYTHONPATH": str(SRC), "RENKOU_DATA_DIR": str(tmp_path), "RENKOU_COUNTY_CODE": B,
           "RENKOU_NATS_URL": config.url, "RENKOU_NATS_STREAM": config.stream,
           "RENKOU_NATS_SUBJECT_PREFIX": config.prefix, "RENKOU_EXCHANGE_BATCH": "20",
           "DJANGO_SETTINGS_MODULE": "renkou.settings"}
    env.pop("RENKOU_DATABASE_URL", None)
    cli = [sys.executable, "-m", "renkou.cli"]
    shutil.copy(migrated, tmp_path / "renkou.sqlite3")
    n = 400
    a = NatsTransport(config, county_code=A)
    # B's consumer exists before the worker starts (as after `renkou exchange setup`)
    NatsTransport(config, county_code=B).close()
    a.publish([Outgoing(B, A, str(uuid.uuid4()), b'{"bad": %d}' % i) for i in range(n)])
    db = sqlite3.connect(tmp_path / "renkou.sqlite3", timeout=10)

    def received() -> int:
        return db.execute("SELECT count(*) FROM migrants_inboxmessage").fetchone()[0]

    try:
        worker = subprocess.Popen([*cli, "exchange", "run", "--idle", "0.2"], env=env,  # noqa: S603
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while received() < 40:
            assert time.monotonic() < deadline, "the worker received nothing"
            time.sleep(0.05)
        worker.kill()  # SIGKILL: no clean shutdown, batches in flight are neither committed nor acknowledged
        worker.wait(10)
        assert received() < n
        worker = subprocess.Popen([*cli, "exchange", "run", "--idle", "0.2"], env=env,  # noqa: S603
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rejections: set[str] = set()
        deadline = time.monotonic() + 90
        while len(rejections) < n:
            assert time.monotonic() < deadline, (received(), len(rejections))
            got = a.fetch(A, batch=200, timeout=0.5)
            a.ack(got)
            for d in got:  # the worker packs its rejections in batch envelopes (schema version 2)
                body = json.loads(d.data)
                inner = [json.loads(m) for m in body["messages"]] if "messages" in body else [body]
                rejections |= {m["message_id"] for m in inner}
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        assert received() == n
        assert db.execute("SELECT count(DISTINCT message_id) FROM migrants_inboxmessage").fetchone()[0] == n
        assert db.execute("SELECT count(*) FROM migrants_outboxmessage").fetchone()[0] == n
        assert a.fetch(A, batch=10, timeout=1.5) == []  # no rejection twice
    finally:
        db.close()
        a.close()
        if worker.poll() is None:
            worker.kill()


@pytest.mark.django_db
def test_status_shows_queues_lag_and_errors(county, second_county):
    services.verify_request_send(county_code=B, to_county=A, name="某人", sex="2",
                                 birth_date=date(1990, 1, 1), sender_role="destination",
                                 by=None)
    services.error_record(county_code=B, where="relay", message="1 not published: broker down")
    out = io.StringIO()
    call_command("exchange", "status", "--county", B, stdout=out)
    text = out.getvalue()
    assert "outbox: 1 pending, 0 sent" in text
    assert "lag: " in text and "oldest unsent message" in text
    assert "relay: 1 not published: broker down" in text
    out = io.StringIO()
    call_command("exchange", "status", stdout=out)  # the register's county by default
    assert out.getvalue().startswith(f"county {A}")


def test_nats_config_prints_one_user_per_county():
    out = io.StringIO()
    call_command("exchange", "nats-config", "--county", A, "--county", B, stdout=out)
    text = out.getvalue()
    assert f'"user": "county_{A}"' in text and f'"renkou.exchange.*.{B}"' in text
