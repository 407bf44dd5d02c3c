"""Fixtures for end-to-end tests of the session engine: the simulator and session workers."""

import os
import signal
import sqlite3
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

import pytest
from django.db import connection as database

from tests.processes import Simulator, chromium_pids, helpdesk_env, session_worker, wait_until
from tickets.models import Queue
from whatsapp.models import Connection
from whatsapp.services import connection_create, connection_request

SIM_PHONE = "5511999990001"


@pytest.fixture
def phone(request) -> str:
    """A company number of this test's own, the same on every run: the simulator keeps every phone's
    history, so a test that reused another's would read its messages."""
    return f"55117{zlib.crc32(request.node.nodeid.encode()) % 10**8:08d}"


@pytest.fixture(scope="session")
def simulator(tmp_path_factory):
    sim = Simulator(tmp=tmp_path_factory.mktemp("simulator"), qr_interval=4)
    yield sim
    sim.stop()


class Engine:
    """Session workers for one test, on the simulator, with their own var dir."""

    def __init__(self, *, tmp, redis_url, simulator) -> None:
        self.tmp, self.simulator = tmp, simulator
        self.var_dir = tmp / "var"
        self.env = helpdesk_env(var_dir=self.var_dir, redis_url=redis_url, simulator=simulator)
        self.workers = []

    def start_worker(self, **extra_env):
        worker = session_worker({**self.env, **extra_env}, log=self.tmp / f"worker-{len(self.workers)}.log")
        self.workers.append(worker)
        return worker

    def freeze(self, worker) -> None:
        """SIGSTOP ``worker``'s process group at a moment it holds no write lock. Frozen inside a write
        on SQLite it would keep the one write lock of the whole database until resumed, and nobody, the
        other machine's worker included, could write (PostgreSQL locks rows only: its idle-transaction
        timeout frees them, tests/whatsapp/test_lease.py)."""
        for _attempt in range(100):
            os.killpg(worker.pid, signal.SIGSTOP)
            if database_writable():
                return
            os.killpg(worker.pid, signal.SIGCONT)
            time.sleep(0.05)
        raise AssertionError("the worker never let go of the database's write lock")

    def logs(self) -> str:
        return "\n".join(f"--- {w.log.name}\n{w.output()[-3000:]}" for w in self.workers)

    def connected(self, phone: str, name: str = "Vendas", queues: Iterable[Queue] = ()) -> Connection:
        """A new connection, its new conversations going to ``queues``, started and scanned with
        ``phone``: CONNECTED."""
        connection = connection_create(name=name)
        connection.queues.add(*queues)
        connection_request(connection=connection, enabled=True)
        self.wait_for_status(
            connection, Connection.Status.QR, timeout=120
        )  # Chromium starts slowly under load
        return self.connect(connection, phone=phone)

    def wait_for_status(self, connection: Connection, *statuses: str, timeout: float = 30) -> Connection:
        def reached():
            connection.refresh_from_db()
            return connection.status in statuses

        try:
            wait_until(reached, timeout=timeout, message=f"{connection} to reach {statuses}")
        except AssertionError:
            print(self.logs())
            raise
        return connection

    def connect(self, connection: Connection, phone: str = SIM_PHONE) -> Connection:
        """Scan the connection's QR code with ``phone`` and wait until it is CONNECTED."""
        self.wait_for_status(connection, Connection.Status.QR)
        status, body = self.simulator.post("/_sim/scan", {"code": connection.qr_code, "phone": phone})
        assert status == 200, body
        return self.wait_for_status(connection, Connection.Status.CONNECTED)

    def let_login_settle(self, *connections: Connection) -> None:
        """Wait until each connection's login is in its profile on disk.

        Chromium writes localStorage to the profile up to 5 s after a change; a browser
        killed sooner loses the login, as it would with WhatsApp Web. The simulator's
        login is the device token its page keeps in localStorage: once the token of a
        device linked to the connection's phone is in the profile's files, a browser
        killed from then on comes back logged in. Tests that kill wait for that.
        """
        assert connections, "which connections' logins to wait for"
        for connection in connections:
            storage = self.var_dir / "sessions" / str(connection.pk) / "Default" / "Local Storage"

            def written(connection: Connection = connection, storage: Path = storage) -> bool:
                accounts = self.simulator.get("/_sim/accounts")["accounts"]
                devices = next(a["devices"] for a in accounts if a["phone"] == connection.phone)
                files = [path.read_bytes() for path in storage.rglob("*") if path.is_file()]
                return any(
                    token.encode(encoding) in data
                    for token in devices
                    for encoding in ("latin-1", "utf-16-le")  # Chromium keeps either form
                    for data in files
                )

            wait_until(written, timeout=30, message=f"the login of {connection} on disk")

    def chromium(self) -> list[int]:
        return chromium_pids(self.var_dir)

    def browser_roots(self) -> list[int]:
        """The main process of each browser (its helpers carry a --type= argument)."""
        return [pid for pid in self.chromium() if b"--type=" not in Path(f"/proc/{pid}/cmdline").read_bytes()]


def database_writable() -> bool:
    """Whether another process could write now: always on PostgreSQL, on SQLite when nobody holds the
    write lock (BEGIN IMMEDIATE takes it, or fails within the timeout)."""
    if database.vendor != "sqlite":
        return True
    probe = sqlite3.connect(database.settings_dict["NAME"], timeout=0.2, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


@pytest.fixture
def engine(tmp_path, redis_url, simulator, channel_layer):
    engine = Engine(tmp=tmp_path, redis_url=redis_url, simulator=simulator)
    yield engine
    for worker in engine.workers:  # all asked at once: they stop side by side, not one after another
        worker.interrupt()
    for worker in engine.workers:
        worker.stop()
    leftovers = engine.chromium()
    assert leftovers == [], f"Chromium processes left behind: {leftovers}\n{engine.logs()}"
