"""Two county nodes in one database: the test county 青山县 (500230) and 白云县 (500231), each with its own
unit tree and register. Each node is a ``Node`` object with its own county code (see docs/exchange.md, Tests)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from renkou import testing
from renkou.orgunits.models import OrgUnit
from renkou.orgunits.services import unit_create

A = testing.COUNTY_CODE  # 500230
B = "500231"
NATS_URL = os.environ.get("RENKOU_TEST_NATS_URL", "nats://127.0.0.1:4222")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


@dataclass
class SecondCounty:
    county: OrgUnit
    village: OrgUnit


@pytest.fixture
def second_county(db) -> SecondCounty:
    c = unit_create(code=f"{B}000000", name="白云县", unit_type="county", parent=None)
    t = unit_create(code=f"{B}101000", name="白云镇", unit_type="town", parent=c)
    v = unit_create(code=f"{B}101201", name="白云村", unit_type="village", parent=t)
    return SecondCounty(county=c, village=v)


def person_in(unit: OrgUnit, *, name: str, sex: str = "2", birth_date: date = date(1995, 5, 5), **kw):
    return testing.make_person(unit, name=name, sex=sex, birth_date=birth_date, **kw)


def _missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The shared NATS server with JetStream (127.0.0.1:4222; RENKOU_TEST_NATS_URL to change)."""
    host, port = NATS_URL.rsplit("//", 1)[-1].split(":")
    if not _port_open(host, int(port)):
        _missing(f"no NATS server at {NATS_URL}: start `nats-server -js` to run the exchange tests over NATS")
    return NATS_URL


@pytest.fixture
def nats_names(nats_url):
    """A stream and subject prefix of this test's own; the stream is deleted afterwards."""
    from renkou.migrants.transports import NatsConfig

    tag = uuid.uuid4().hex[:10]
    config = NatsConfig(url=nats_url, stream=f"RENKOU_TEST_{tag}", prefix=f"renkou_test_{tag}.exchange",
                        ack_wait=2.0)
    yield config
    _delete_stream(config)


def _delete_stream(config) -> None:
    import asyncio

    import nats

    async def go():
        nc = await nats.connect(config.url, user=config.user or None, password=config.password or None)
        try:
            await nc.jetstream().delete_stream(config.stream)
        except Exception:  # noqa: BLE001, S110 - already gone
            pass
        await nc.close()

    def run() -> None:
        try:
            asyncio.run(go())
        except Exception:  # noqa: BLE001, S110 - the broker may be down at the end of a restart test
            pass

    # in a thread of its own: the test's thread may hold an event loop (asyncio.run refuses to nest)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnNats:
    """A nats-server of the test's own (to stop, restart or configure with users), storing in a temp dir."""

    def __init__(self, config_text: str = "") -> None:
        if not Path(NATS_SERVER).exists():
            _missing(f"{NATS_SERVER} not found: apt-get install nats-server to run the broker tests")
        self.dir = Path(tempfile.mkdtemp(prefix="renkou-nats-"))
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.conf = self.dir / "nats.conf"
        self.conf.write_text(
            f'port: {self.port}\nhost: "127.0.0.1"\njetstream {{ store_dir: "{self.dir / "js"}" }}\n'
            + config_text)
        self.proc: subprocess.Popen | None = None

    def start(self) -> OwnNats:
        self.proc = subprocess.Popen([NATS_SERVER, "-c", str(self.conf)], stdout=subprocess.DEVNULL,  # noqa: S603
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def own_nats():
    servers: list[OwnNats] = []

    def make(config_text: str = "") -> OwnNats:
        server = OwnNats(config_text).start()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.cleanup()
